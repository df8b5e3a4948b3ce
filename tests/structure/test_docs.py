"""The README is the front page and the reference lives on the docs site (docs/, mkdocs.yml).

`make docs` (part of `make test`) builds the site with `mkdocs build --strict`, which fails on a broken
link or anchor between pages, or a page left out of the nav. What it cannot see is checked here: the
README (outside the site) and every pointer to the docs that a user meets in an error message, a CLI
hint or an alarm description.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import markdown
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Where a user reads a pointer to the docs: the package (errors, CLI hints), the handlers, the stack's
# alarm descriptions, the examples, the Makefile. Tooling moved out of the layer is read too, wherever it lands.
POINTER_ROOTS = ["layers", "functions", "tools", "src", "examples"]
POINTER_FILES = ["template.yaml", "Makefile"]
POINTER_SUFFIXES = {".py", ".yaml", ".yml", ".html", ".txt"}
DOC_POINTER = re.compile(r"docs/([\w-]+\.md)(#[\w-]+)?")


@cache
def anchors(page: Path) -> frozenset[str]:
    """The heading ids mkdocs gives a page (Python-Markdown's toc, as in mkdocs.yml)."""
    md = markdown.Markdown(extensions=["toc", "tables", "fenced_code"])
    md.convert(page.read_text())

    def walk(tokens: list[dict]) -> list[str]:
        return [i for t in tokens for i in [t["id"], *walk(t["children"])]]

    return frozenset(walk(md.toc_tokens))


def nav_pages() -> set[str]:
    # mkdocs.yml holds a !!python/name tag (the Mermaid fence): load it without running tags
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass

    def walk(entries: list) -> set[str]:
        out: set[str] = set()
        for entry in entries:
            for value in entry.values():
                out |= walk(value) if isinstance(value, list) else {value}
        return out

    return walk(config["nav"])


def check_target(target: str, where: str) -> str | None:
    """A problem with a relative link (path[#anchor]) from the repository root, or None; `#anchor` alone is
    on the file `where` names."""
    path, _, anchor = target.partition("#")
    path = path or where.partition(":")[0]
    page = ROOT / path
    if not page.is_file():
        return f"{where}: {target}: no such file"
    if anchor and page.suffix == ".md" and anchor not in anchors(page):
        return f"{where}: {target}: {path} has no heading with id {anchor!r} (ids: {sorted(anchors(page))})"
    return None


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text()
    lines = readme.count("\n")
    assert lines <= 250, f"README.md has {lines} lines: move reference text into a docs/ page, keep a link"
    for must in ("make dev", "make test", "```mermaid"):
        assert must in readme, f"README.md lost {must!r} (the two commands and the architecture picture stay)"


def test_the_readme_links_every_page_of_the_site() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = {t.partition("#")[0] for t in LINK.findall(readme)}
    missing = sorted(f"docs/{p}" for p in nav_pages() if f"docs/{p}" not in linked)
    assert not missing, f"README.md links no page {missing}: add it to the README's Documentation list"


def test_the_readmes_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = [t for t in LINK.findall(readme) if not re.match(r"[a-z]+:", t)]
    assert targets
    problems = [p for t in targets if (p := check_target(t, "README.md"))]
    assert not problems, "\n".join(problems)


def test_every_docs_page_is_in_the_nav() -> None:
    # mkdocs --strict says so too; this says it in the unit run, before the site is built
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == nav_pages(), f"not in mkdocs.yml's nav: {sorted(pages - nav_pages())}; " \
                                 f"in the nav but missing: {sorted(nav_pages() - pages)}"


def pointer_sources() -> list[Path]:
    files = [ROOT / f for f in POINTER_FILES]
    for root in POINTER_ROOTS:
        files += [p for p in (ROOT / root).rglob("*") if p.suffix in POINTER_SUFFIXES and p.is_file()
                  and "bundled" not in p.parts and "__pycache__" not in p.parts and ".egg-info" not in str(p)]
    return files


def test_user_facing_pointers_name_a_page_and_heading_that_exist() -> None:
    problems = []
    seen = 0
    for source in pointer_sources():
        text = source.read_text(errors="replace")
        where = str(source.relative_to(ROOT))
        for n, line in enumerate(text.splitlines(), 1):
            # The reference moved out of README.md: a pointer there sends the reader to a page that no longer has it.
            # (local/managed_policies has a README of its own.)
            if re.search(r"README\b", line) and "its README" not in line:
                problems.append(f"{where}:{n}: points at the README; name the docs/ page instead: {line.strip()}")
            for page, anchor in DOC_POINTER.findall(line):
                seen += 1
                if problem := check_target(f"docs/{page}{anchor}", f"{where}:{n}"):
                    problems.append(problem)
    assert seen, "no pointer to docs/ found: is the scan reading the right folders?"
    assert not problems, "\n".join(problems)


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n.*?^```$", text, flags=re.S | re.M)


def test_the_readmes_blocks_are_the_sites() -> None:
    # The front page repeats the quickstart's commands and the architecture picture: an edit to one copy only
    # would leave the README and the site disagreeing.
    site = "\n".join(p.read_text() for p in DOCS.rglob("*.md"))
    blocks = fenced_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 4
    stale = [b.splitlines()[1] for b in blocks if b not in site]
    assert not stale, f"README.md blocks not found word for word on a docs/ page (first lines): {stale}"
