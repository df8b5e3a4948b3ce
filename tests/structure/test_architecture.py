"""The package's arrows point one way (issue 23; docs/INTERNALS.md, "Module map").

Built from the source's AST, not from importing it:

- `core/` imports no capability and no adapter: only itself and the shared platform modules
  (`observability` for logging and metrics, `secrets` for secret references).
- A capability (ingress, delivery, mapping, sync, reconcile) imports core, itself and the shared modules,
  never another capability. One stated exception: delivery imports mapping, which is a library
  (the transform compiler and body formats, pure code that imports only core and itself), not a
  stage of the pipeline; mapping imports no other capability.
- No import cycle among the package's modules (module-level imports, `if TYPE_CHECKING:` left out).
- A function-level import has a `# lazy: <reason>` comment on its line or heading its run of imports:
  laziness is kept only where it is measured to matter, for cold start in the layer
  (tests/structure/test_cold_start.py, benchmarks/bench_cold_import.py) and for start-up in the tooling
  (every `hookline` run imports all command modules; moto, the SAM translator and Powertools' parser
  models load only when `hookline dev` needs them).

The ports (core/ports.py) are checked against the adapters that implement them, method by method, and
`wiring.Services` must return ports or services, never `Any`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "hookline"
# The layer (what Lambda runs) and the tooling source root, both providing the `hookline` package.
SOURCE_ROOTS = [p for p in (ROOT / "layers" / "hookline", ROOT / "tools") if (p / "hookline").is_dir()]
CAPABILITIES = ("ingress", "delivery", "mapping", "sync", "reconcile")
# Shared platform modules any layer may use: logging/metrics/tracing and secret references.
SHARED = ("hookline.observability", "hookline.xray", "hookline.secrets")
# What a capability may import besides core, itself and SHARED: the settings and the request budget.
CAPABILITY_EXTRA = ("hookline.settings", "hookline.budget")
LIBRARIES = {"delivery": ("mapping",)}  # delivery may use mapping: see the module docstring


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or package)
    line: int
    function_level: bool
    type_checking: bool
    lazy_reason: bool


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in SOURCE_ROOTS:
        for file in (root / "hookline").rglob("*.py"):
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = file
    return found


MODULES = modules()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, *([node.module] if node.module else [])])
    else:
        prefix = node.module or ""
    # `from hookline.core import config` imports the module hookline.core.config
    return [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]


def imports_of(module: str, file: Path) -> Iterator[Import]:
    lines = file.read_text().splitlines()
    tree = ast.parse("\n".join(lines), str(file))
    is_package = file.name == "__init__.py"
    # Lines taken by import statements: a `# lazy:` comment heading a run of imports covers the run.
    import_lines = {n for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                    for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)}

    def explained(node: ast.stmt) -> bool:
        if "# lazy:" in lines[node.lineno - 1]:
            return True
        n = node.lineno - 1  # 1-based number of the line above
        while n >= 1 and (n in import_lines or not lines[n - 1].strip()):
            n -= 1
        while n >= 1 and lines[n - 1].strip().startswith("#"):
            if lines[n - 1].strip().startswith("# lazy:"):
                return True
            n -= 1
        return False

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            checking = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.Import | ast.ImportFrom):
                targets = ([a.name for a in child.names] if isinstance(child, ast.Import)
                           else _resolve(module, is_package, child))
                reason = in_function and explained(child)
                for target in targets:
                    yield Import(module, target, child.lineno, in_function, type_checking, reason)
            yield from walk(child, function, checking)

    yield from walk(tree, False, False)


ALL_IMPORTS = [imp for module, file in MODULES.items() for imp in imports_of(module, file)]


def _package_module(target: str) -> str | None:
    """The package module an import target names (None outside the package)."""
    while target and target not in MODULES:
        if "." not in target:
            return None
        target = target.rsplit(".", 1)[0]
    return target or None


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_package_is_found() -> None:
    assert "hookline.core.config" in MODULES
    assert "hookline.core.ports" in MODULES
    assert len(ALL_IMPORTS) > 100


def test_core_imports_no_capability_and_no_adapter() -> None:
    wrong = [f"{i.module}:{i.line} imports {i.target}" for i in ALL_IMPORTS
             if _is_within(i.module, "hookline.core") and (t := _package_module(i.target))
             and not _is_within(t, "hookline.core", *SHARED) and t != "hookline"]
    assert wrong == [], "core must import only core and " + ", ".join(SHARED) + ":\n" + "\n".join(wrong)


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_a_capability_imports_core_and_nothing_sideways(capability: str) -> None:
    allowed = ("hookline.core", f"hookline.{capability}", *SHARED, *CAPABILITY_EXTRA,
               *(f"hookline.{lib}" for lib in LIBRARIES.get(capability, ())))
    wrong = [f"{i.module}:{i.line} imports {t}" for i in ALL_IMPORTS
             if _is_within(i.module, f"hookline.{capability}") and (t := _package_module(i.target))
             and t != "hookline" and not _is_within(t, *allowed)]
    assert wrong == [], (f"{capability} may import core, itself and shared modules only "
                         "(a check of the configuration goes in its checks.py, collected by validation.py):\n"
                         + "\n".join(wrong))


ADAPTERS_PACKAGE = "hookline.adapters"


def _aws_sdk_importers() -> set[str]:
    layer = {m for m, f in MODULES.items() if f.is_relative_to(LAYER)}
    return {i.module for i in ALL_IMPORTS if i.module in layer and not i.type_checking
            and i.target.split(".")[0] in ("boto3", "botocore")}


def test_in_the_layer_only_adapters_import_boto3_or_botocore() -> None:
    outside = _aws_sdk_importers() - {m for m in MODULES if _is_within(m, ADAPTERS_PACKAGE)}
    assert outside == set(), \
        "boto3/botocore belong in adapters/aws/ (translate ClientError into a core.errors exception there)"


def test_the_aws_adapters_make_tables_and_hot_path_clients_in_one_place() -> None:
    """adapters/aws/stores.py's table_of and hot_path_client are the one lazy table/client helper (issue 23
    item 3); sinks.py keeps its own session on purpose (clients made from worker threads)."""
    folder = LAYER / "hookline" / "adapters" / "aws"
    wrong = [f"{f.name}:{n}" for f in sorted(folder.glob("*.py")) if f.name not in ("stores.py", "sinks.py")
             for n, line in enumerate(f.read_text().splitlines(), 1)
             if "boto3.resource(" in line or "boto3.client(" in line]
    assert wrong == [], "use stores.table_of / stores.hot_path_client: " + ", ".join(wrong)


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_a_capability_never_imports_the_adapters(capability: str) -> None:
    """Capabilities use the ports (core/ports.py); only wiring.py, the composition root, builds adapters."""
    wrong = [f"{i.module}:{i.line} imports {t}" for i in ALL_IMPORTS
             if _is_within(i.module, f"hookline.{capability}") and (t := _package_module(i.target))
             and _is_within(t, ADAPTERS_PACKAGE)]
    assert wrong == [], "\n".join(wrong)


def test_core_never_imports_the_adapters() -> None:
    wrong = [f"{i.module}:{i.line} imports {i.target}" for i in ALL_IMPORTS if _is_within(i.module, "hookline.core")
             and (t := _package_module(i.target)) and _is_within(t, ADAPTERS_PACKAGE)]
    assert wrong == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def module_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in ALL_IMPORTS:
        target = _package_module(i.target)
        if not i.function_level and not i.type_checking and target and target != i.module:
            edges[i.module].add(target)
    return edges


def test_no_import_cycle() -> None:
    assert _cycles(module_graph()) == []


def test_no_import_cycle_even_through_function_level_imports() -> None:
    """A lazy import must not hide a cycle (config.py and its checkers did before issue 23, and the
    console's pages with app.py)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in ALL_IMPORTS:
        target = _package_module(i.target)
        if target and not i.type_checking and target != i.module:
            edges[i.module].add(target)
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_function_level_import_says_why_it_is_lazy() -> None:
    unexplained = sorted({f"{MODULES[i.module].relative_to(ROOT)}:{i.line} {i.target}" for i in ALL_IMPORTS
                          if i.function_level and not i.lazy_reason})
    assert unexplained == [], ("import at module level, or say on the line above why it must wait "
                               "(`# lazy: <measured reason>`):\n" + "\n".join(unexplained))


def test_the_lazy_rule_sees_a_function_level_import_without_a_reason(tmp_path: Path) -> None:
    file = tmp_path / "m.py"
    file.write_text("import os\n\n\ndef f():\n    # lazy: measured\n    import json\n\n    import csv\n\n\n"
                    "def g():\n    # why, but not lazy:\n    import re\n    return re\n")
    found = {(i.target, i.lazy_reason) for i in imports_of("hookline.m", file) if i.function_level}
    assert found == {("json", True), ("csv", True), ("re", False)}


# ---------------------------------------------------------------- ports and typed wiring

# port -> (module, class) of the adapter that implements it today
ADAPTERS = {
    "TaskQueue": ("hookline.adapters.aws.stores", "QueuePublisher"),
    "OrderedTaskQueue": ("hookline.adapters.aws.stores", "FifoPublisher"),
    "DeliveryQueues": ("hookline.adapters.aws.delivery_queues", "SqsDeliveryQueues"),
    "PayloadStore": ("hookline.adapters.aws.stores", "PayloadStore"),
    "EventLog": ("hookline.adapters.aws.stores", "EventLog"),
    "EventLogEntries": ("hookline.adapters.aws.event_log_entries", "EventLogEntries"),
    "ClaimStore": ("hookline.adapters.aws.claims", "RouteClaims"),
    "GuardStore": ("hookline.adapters.aws.guard_store", "GuardStore"),
    "SyncStateStore": ("hookline.adapters.aws.sync_state", "SyncStore"),
    "Sender": ("hookline.delivery.send.http", "HttpSender"),
    "Secrets": ("hookline.secrets", "SecretResolver"),
    "WarehouseSink": ("hookline.adapters.aws.sinks", "Warehouse"),
    "HttpsFetcher": ("hookline.ingress.sns", "HttpsGetter"),
    "HookSecretStore": ("hookline.adapters.aws.hook_secrets", "SsmHookSecrets"),
    "RequestSigner": ("hookline.adapters.aws.sigv4", "SigV4Signer"),
    "ArchiveSink": ("hookline.adapters.aws.archive", "FirehoseArchive"),
    "TargetSender": ("hookline.adapters.aws.targets", "AwsTargets"),
}


def _shape(function: object) -> list[tuple[str, object, bool]]:
    params = list(inspect.signature(function).parameters.values())[1:]  # without self
    return [(p.name, p.kind, p.default is inspect.Parameter.empty) for p in params]


@pytest.mark.parametrize("port", sorted(ADAPTERS))
def test_each_adapter_offers_its_port_method_by_method(port: str) -> None:
    from hookline.core import ports

    protocol = getattr(ports, port)
    module, name = ADAPTERS[port]
    adapter = getattr(importlib.import_module(module), name)
    methods = [m for m, v in vars(protocol).items() if callable(v) and not m.startswith("_")]
    for base in protocol.__mro__[1:]:
        if base.__module__ == ports.__name__:
            methods += [m for m, v in vars(base).items() if callable(v) and not m.startswith("_")]
    assert methods, f"ports.{port} declares no method"
    for method in methods:
        assert hasattr(adapter, method), f"{module}.{name} lacks {method}() of ports.{port}"
        assert _shape(getattr(adapter, method)) == _shape(getattr(protocol, method)), \
            f"{module}.{name}.{method} and ports.{port}.{method} take different parameters"


def test_every_port_has_an_adapter_listed() -> None:
    from hookline.core import ports

    declared = {n for n, v in vars(ports).items()
                if isinstance(v, type) and getattr(v, "_is_protocol", False) and v.__module__ == ports.__name__}
    assert declared == set(ADAPTERS)


def test_wiring_returns_ports_not_any() -> None:
    tree = ast.parse(MODULES["hookline.wiring"].read_text())
    services = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Services")
    untyped = [f.name for f in services.body if isinstance(f, ast.FunctionDef)
               and any(ast.unparse(d) == "cached_property" for d in f.decorator_list)
               and (f.returns is None or "Any" in ast.unparse(f.returns))]
    assert untyped == []


def summary() -> dict[str, object]:
    """The counts issue 23 reports: `python tests/structure/test_architecture.py` (run it on any checkout)."""
    layer = {m for m, f in MODULES.items() if f.is_relative_to(LAYER)}
    every: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in ALL_IMPORTS:
        target = _package_module(i.target)
        if target and target != i.module and not i.type_checking:
            every[i.module].add(target)

    def capability(module: str) -> str | None:
        part = _layer(module)
        return part if part in CAPABILITIES else None

    sideways = sorted({(i.module, t) for i in ALL_IMPORTS if (t := _package_module(i.target))
                       and capability(i.module) and capability(t) and capability(i.module) != capability(t)
                       and capability(t) not in LIBRARIES.get(capability(i.module) or "", ())})
    function_level = [i for i in ALL_IMPORTS if i.function_level]
    statements = {(i.module, i.line, i.lazy_reason) for i in function_level}
    return {
        "modules (layer / all)": f"{len(layer)} / {len(MODULES)}",
        "cycles, module-level imports": _cycles(module_graph()),
        "cycles, function-level imports too": _cycles(every),
        "sideways capability imports (delivery -> mapping allowed)": [f"{a} -> {b}" for a, b in sideways],
        "function-level import statements in the layer (with # lazy:)":
            f"{sum(1 for m, _, _ in statements if m in layer)} "
            f"({sum(1 for m, _, r in statements if m in layer and r)})",
        "function-level import statements in tools/ (with # lazy:)":
            f"{sum(1 for m, _, _ in statements if m not in layer)} "
            f"({sum(1 for m, _, r in statements if m not in layer and r)})",
    }


if __name__ == "__main__":
    for key, value in summary().items():
        print(f"{key}: {value}")
