"""`transform: {python: "transforms.stripe:to_deal"}`: the escape hatch, a Python function.

The last resort, for what the declarative forms cannot say: code is not statically checked
like a mapping and is harder to review. The function lives in a `transforms/` package in the
configuration file's folder (`make deploy` bundles it into the layer beside the bundled
configuration), takes the envelope (a dict, with `enriched` when the route has enrichment
steps) and returns a JSON-compatible dict (or list, for csv/ndjson destinations).

The package is imported under a private name derived from its folder, so two configurations
(tests, `hookline dev` beside a deployed copy) never share a module; inside the package use
relative imports (`from .common import cents`). `hookline validate` imports it, so a syntax
error, a missing module or a missing function is reported before deploying. A compile after a
file of the package changed (an edit while `hookline dev` runs and reloads) imports it afresh.

Any exception the function raises is a `mapping` failure for that event (DLQ), with the
exception and the last traceback frame (file:line in function) in the error.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import re
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from hookline.mapping.errors import MappingError

__all__ = ["PACKAGE", "PythonHookError", "PythonTransform", "is_python_transform", "load_python_transform"]

PACKAGE = "transforms"
_REF = re.compile(r"^transforms(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_LOCK = threading.Lock()
_SIGNATURES: dict[str, tuple[tuple[str, int], ...]] = {}


class PythonHookError(ValueError):
    """The reference is malformed or the function cannot be imported (a configuration problem)."""


def is_python_transform(spec: Any) -> bool:
    return isinstance(spec, Mapping) and "python" in spec


def _signature(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(f), f.stat().st_mtime_ns) for f in folder.rglob("*.py")))


def _package(base_dir: Path) -> ModuleType:
    folder = (base_dir / PACKAGE).resolve()
    name = "_hookline_transforms_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    with _LOCK:
        module = sys.modules.get(name)
        signature = _signature(folder) if folder.is_dir() else ()
        if module is not None and _SIGNATURES.get(name) == signature:
            return module
        # First load, or a file changed since (an edit while `hookline dev` runs): import afresh.
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]
        _SIGNATURES[name] = signature
        init = folder / "__init__.py"
        if not folder.is_dir():
            raise PythonHookError(f"no {PACKAGE}/ folder beside the configuration file (looked in {folder})")
        spec = importlib.util.spec_from_file_location(
            name, init if init.exists() else None, submodule_search_locations=[str(folder)])
        if spec is None or (spec.loader is None and init.exists()):
            raise PythonHookError(f"cannot import the package in {folder}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            if spec.loader is not None:
                spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module


def _last_frame(exc: BaseException, base_dir: Path | None) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    file = Path(frame.filename)
    if base_dir is not None:
        with contextlib.suppress(ValueError):
            file = file.resolve().relative_to(base_dir.resolve())
    return f" at {file}:{frame.lineno} in {frame.name}"


class PythonTransform:
    """A loaded function, with the same face as a compiled Transform."""

    columns = None  # CSV columns come from the returned dict's keys

    def __init__(self, ref: str, function: Callable[[dict[str, Any]], Any], base_dir: Path | None) -> None:
        self.ref = ref
        self.function = function
        self.base_dir = base_dir
        self.spec = {"python": ref}

    @property
    def targets(self) -> list[str]:
        return []

    def apply(self, envelope: Mapping[str, Any]) -> Any:
        try:
            result = self.function(json.loads(json.dumps(envelope, default=str)))
        except Exception as e:
            raise MappingError(f"python {self.ref}",
                               f"raised {type(e).__name__}: {e}{_last_frame(e, self.base_dir)}") from None
        if not isinstance(result, dict | list):
            raise MappingError(f"python {self.ref}", f"returned {type(result).__name__}, expected a dict")
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise MappingError(f"python {self.ref}", f"returned a value that is not JSON: {e}") from None
        return result

    def __repr__(self) -> str:
        return f"PythonTransform({self.ref!r})"


def load_python_transform(spec: Mapping[str, Any], base_dir: Path | None) -> PythonTransform:
    ref = spec.get("python")
    others = [k for k in spec if k != "python"]
    if others:
        raise PythonHookError(f"a python transform takes no other keys (found {', '.join(map(str, others))})")
    if not isinstance(ref, str) or not _REF.match(ref.strip()):
        raise PythonHookError(f"expected 'transforms.<module>:<function>', got {ref!r}")
    ref = ref.strip()
    module_path, _, function_name = ref.partition(":")
    base = base_dir or Path.cwd()
    try:
        package = _package(base)
        module = package
        if module_path != PACKAGE:
            module = importlib.import_module(package.__name__ + module_path[len(PACKAGE):])
    except PythonHookError:
        raise
    except Exception as e:  # SyntaxError, ImportError, and anything the module runs at import
        where = ""
        if isinstance(e, SyntaxError) and e.filename:
            where = f" at {Path(e.filename).name}:{e.lineno}"
        else:
            where = _last_frame(e, base)
        raise PythonHookError(f"cannot import {module_path}: {type(e).__name__}: {e}{where}") from None
    function = getattr(module, function_name, None)
    if function is None:
        raise PythonHookError(f"{module_path} has no function {function_name!r}")
    if not callable(function):
        raise PythonHookError(f"{ref} is a {type(function).__name__}, not a function")
    return PythonTransform(ref, function, base)
