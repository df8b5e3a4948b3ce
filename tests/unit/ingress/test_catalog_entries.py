"""Every file in the catalog is a valid entry, says how it is proven, and has its provider's test."""

from __future__ import annotations

import importlib.util
import re
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from hookline.ingress.providers import load, names
from hookline.ingress.providers.compile import catalog_files

ROOT = Path(__file__).resolve().parents[3]
PROVIDER_TESTS = ROOT / "tests" / "unit" / "ingress" / "providers"
PAGE = ROOT / "docs" / "providers.md"
REWRITE = ".venv/bin/python scripts/providers-table"


@pytest.mark.parametrize("name", names())
def test_every_entry_loads_and_says_how_it_is_proven(name: str) -> None:
    entry = load(name)
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert entry.docs.startswith("https://"), f"catalog/{name}.toml: docs must be the provider's https page"
    if entry.proof in ("published example", "signing docs"):
        assert entry.proof_url and entry.proof_url.startswith("https://"), f"catalog/{name}.toml: proof_url"
    else:  # an SDK: its registry name (PyPI unless it says otherwise, e.g. "@mux/mux-node (npm)")
        assert re.fullmatch(r"[@A-Za-z0-9._/-]+( \((npm|pypi|maven|go|rubygems)\))?", entry.proof), (
            f"catalog/{name}.toml: proof names the SDK, or says published example")


def test_names_are_the_files() -> None:
    assert names() == sorted(catalog_files())


def _mentioned_in_tests() -> str:
    here = Path(__file__)
    files = [*PROVIDER_TESTS.glob("*.py"), *(f for f in here.parent.glob("test_*.py") if f != here)]
    return "\n".join(f.read_text() for f in files if f.is_file())


@pytest.mark.parametrize("name", names())
def test_every_entry_has_a_test_with_an_independent_signer(name: str) -> None:
    # The bar: one test per provider, signed by the provider's SDK or from its published example.
    # Provider tests name the entry ("name" in a case table or load("name")), or are a file named after it.
    own_file = [PROVIDER_TESTS / "vectors" / f"{name}.json", Path(__file__).parent / f"test_{name}.py"]
    assert any(f.is_file() for f in own_file) or re.search(rf"""["']{re.escape(name)}["']""", _mentioned_in_tests()), (
        f"catalog/{name}.toml has no test: add one in tests/unit/ingress/providers/ that signs with "
        f"{load(name).proof} and verifies with load({name!r})")


def test_the_docs_table_lists_every_provider_as_the_catalog_says() -> None:
    page = PAGE.read_text()
    rows = re.findall(r"^\| \[[^\]]*\]\([^)]*\) \| `([a-z0-9-]+)` \|", page, flags=re.MULTILINE)
    missing, extra = sorted(set(names()) - set(rows)), sorted(set(rows) - set(names()))
    assert not missing and not extra, (
        f"docs/providers.md: missing {missing}, not in the catalog {extra}: run {REWRITE}")
    spec = importlib.util.spec_from_loader("providers_table", SourceFileLoader(
        "providers_table", str(ROOT / "scripts" / "providers-table")))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.rewritten(page) == page, f"docs/providers.md is out of date: run {REWRITE}"
