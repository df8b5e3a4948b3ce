"""The Lambda layer holds only what Lambda runs; the tooling ships in the wheel and the editable install.

`template.yaml` builds the layer from `layers/hookline` (ContentUri). The CLI, console, local runtime and
operator tools live in a second source root, `tools/hookline/`, under the same import names
(`hookline.commands`, `hookline.console`, `hookline.local`, `hookline.operations`, `hookline.cli`):
pyproject.toml maps each onto its folder.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "hookline" / "hookline"
TOOLS = ROOT / "tools" / "hookline"
TOOLING = ("commands", "console", "local", "operations", "cli")
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _is_tooling(module: str) -> bool:
    return any(module == f"hookline.{name}" or module.startswith(f"hookline.{name}.") for name in TOOLING)


def tooling_imports(source: str, module: str) -> list[str]:
    """Every tooling module `source` (the module named `module`) imports, at any depth, lazily or not."""
    package = module.rsplit(".", 1)[0] if not module.endswith("__init__") else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            # `from hookline import cli` names the module in the alias.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            names = [node.args[0].value]
        else:
            continue
        found += [name for name in names if _is_tooling(name)]
    return found


def _modules(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts or "bundled" in path.relative_to(root).parts:
            continue
        yield ".".join([prefix, *path.relative_to(root).with_suffix("").parts]), path


def source_modules() -> dict[str, Path]:
    """Every module the project's two source roots hold, by import name."""
    found = dict(_modules(LAYER, "hookline"))
    for name in TOOLING:
        found.update(_modules(TOOLS / name, f"hookline.{name}"))
    return {name.removesuffix(".__init__"): path for name, path in found.items()}


def test_the_layer_folder_holds_none_of_the_tooling() -> None:
    present = [name for name in TOOLING if (LAYER / name).exists() or (LAYER / f"{name}.py").exists()]
    assert present == [], f"tooling inside the Lambda layer ({LAYER}): {present}; it belongs in {TOOLS}"
    assert not (LAYER / "mapping" / "bundle.py").exists(), "make deploy's bundler runs on the operator's machine"
    assert all((TOOLS / name).is_dir() for name in TOOLING), sorted(p.name for p in TOOLS.iterdir())


def test_no_module_lambda_runs_imports_the_tooling() -> None:
    # The layer's package and the handlers (functions/*/app.py, the code Lambda runs).
    code = [*_modules(LAYER, "hookline"), *(("app", path) for path in sorted((ROOT / "functions").glob("*/app.py")))]
    offenders = {str(path.relative_to(ROOT)): found for module, path in code
                 if (found := tooling_imports(path.read_text(), module))}
    assert offenders == {}, f"Lambda code importing the tooling (not in the layer): {offenders}"


@pytest.mark.parametrize(("source", "module", "expected"), [
    ("from hookline.local import cfn", "hookline.config", ["hookline.local", "hookline.local.cfn"]),
    ("def f():\n    import hookline.commands.dlq as d", "hookline.delivery.engine", ["hookline.commands.dlq"]),
    ("def f():\n    from hookline import cli, settings", "hookline.wiring", ["hookline.cli"]),
    ("from ..console import app", "hookline.delivery.engine", ["hookline.console", "hookline.console.app"]),
    ("from . import operations", "hookline.__init__", ["hookline.operations"]),
    ("import importlib\nimportlib.import_module('hookline.operations.dlq')", "hookline.x", ["hookline.operations.dlq"]),
    ("from hookline.localisation import x\nimport hookline.clients", "hookline.x", []),
    ("from hookline.mapping import compiler\nfrom . import settings", "hookline.wiring", []),
])
def test_the_import_scan_sees_every_form_of_import(source: str, module: str, expected: list[str]) -> None:
    # The scan above can fail: module-level, function-level, `from hookline import x`, relative and
    # importlib forms are all seen, and names that merely start alike are not.
    assert tooling_imports(source, module) == expected


def test_pyproject_lists_every_package_folder_of_both_roots() -> None:
    # An explicit list (setuptools maps a sub-package onto another folder only that way): a new
    # package folder missing from it would import in the editable install and be absent from the wheel.
    on_disk = {name for name, path in source_modules().items() if path.name == "__init__.py"}
    assert sorted(SETUPTOOLS["packages"]) == sorted(on_disk), (
        "pyproject.toml [tool.setuptools] packages must name every folder with an __init__.py under "
        f"layers/hookline/hookline and tools/hookline; missing {sorted(on_disk - set(SETUPTOOLS['packages']))}, "
        f"stale {sorted(set(SETUPTOOLS['packages']) - on_disk)}")
    assert SETUPTOOLS["package-dir"] == {"hookline": "layers/hookline/hookline",
                                         **{f"hookline.{name}": f"tools/hookline/{name}" for name in TOOLING}}


def package_data_files() -> set[str]:
    """The data files the installed package must carry, as paths inside the wheel."""
    files = {"hookline/py.typed"}
    for base, folders in (("console", ("templates", "static")), ("local", ("managed_policies",))):
        for folder in folders:
            files |= {f"hookline/{base}/{folder}/{p.name}" for p in (TOOLS / base / folder).iterdir()
                      if p.is_file() and (folder != "managed_policies" or p.suffix == ".json")}
    return files


# Imports every module (never a `__main__`, which would run the CLI) and prints where each came from.
_IMPORT_ALL = """
import importlib, json, sys
origins = {name: importlib.import_module(name).__file__ for name in json.loads(sys.argv[1])}
print(json.dumps(origins))
"""


def _import_all(env_path: str | None, cwd: Path) -> dict[str, str]:
    names = sorted(name for name in source_modules() if not name.endswith("__main__"))
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **({"PYTHONPATH": env_path} if env_path else {})}
    done = subprocess.run([sys.executable, "-c", _IMPORT_ALL, json.dumps(names)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    origins = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(origins) == names
    return origins


def test_the_editable_install_imports_every_module_from_its_source_root(tmp_path: Path) -> None:
    origins = _import_all(None, tmp_path)
    for name, file in origins.items():
        root = TOOLS if _is_tooling(name) else LAYER
        assert Path(file).is_relative_to(root), f"{name} imported from {file}, expected under {root}"
    from hookline.cli import main  # the console script's entry point

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0


def test_a_built_wheel_carries_every_module_and_the_package_data(tmp_path: Path) -> None:
    # Built from a copy of the sources (an in-tree build would write build/ into the working tree).
    src = tmp_path / "src"
    for part in ("pyproject.toml", "README.md"):
        (src / part).parent.mkdir(parents=True, exist_ok=True)
        (src / part).write_bytes((ROOT / part).read_bytes())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "bundled")
    for folder in ("layers/hookline/hookline", "tools/hookline"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("hookline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    missing = {f"{name.replace('.', '/')}{'/__init__' if path.name == '__init__.py' else ''}.py"
               for name, path in source_modules().items()} - names
    assert missing == set(), f"modules missing from the wheel: {sorted(missing)}"
    assert package_data_files() - names == set(), "package data missing from the wheel"
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "hookline = hookline.cli:main" in (tmp_path / "site" / entry).read_text()
    # A regular install of that wheel (its folder first on sys.path) imports every module from it.
    origins = _import_all(str(tmp_path / "site"), tmp_path)
    assert all(Path(file).is_relative_to(tmp_path / "site") for file in origins.values())


def test_the_local_runtime_still_finds_the_checkouts_template_from_tools(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # `hookline dev --config` outside the checkout falls back to the template of the checkout the editable
    # install runs from, found relative to local/emulator.py, which moved one folder shallower.
    from hookline.local.emulator import template_path

    monkeypatch.chdir(tmp_path)
    assert template_path(tmp_path / "hookline.yaml") == ROOT / "template.yaml"
