"""Loading hookline.yaml with every check: the model's own (core.config) plus each capability's.

`load_config` never stops at the first mistake: it gathers every problem (schema errors from
pydantic plus cross-references, JMESPath, mappings, URLs) so that `hookline validate` can list
them all at once with the path in the file and a fix. The checks that need a capability's
knowledge live in that capability (`ingress/checks.py`, `delivery/checks.py`,
`mapping/checks.py`, `sync/checks.py`, `governance.py`); this module collects them, so the
configuration model in `core` imports no capability.

A configuration that `make deploy` validated is read from its pre-validated form instead
(`prevalidated.py` writes it): a cold start skips these checks and parses no YAML.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import ValidationError

from hookline.config_env import expand_urls
from hookline.core import expressions
from hookline.core.config import (
    HooklineConfig,
    RouteConfig,
    check_headers,
    check_jmespath,
    check_url,
    pydantic_problems,
    yaml_load,
    yaml_module,
)
from hookline.core.construct import construct
from hookline.core.errors import ConfigError, Problem

PREVALIDATED_FORMAT = 1


def prevalidated_path(config_file: Path) -> Path:
    return config_file.with_suffix(".validated.json")


def semantic_problems(cfg: HooklineConfig, base_dir: Path) -> list[Problem]:
    """Every check beyond the model's own, in file order: sources, destinations, routes, syncs, then governance."""
    # lazy: cold start — a pre-validated configuration (every Lambda) runs none of these checks, and
    # importing them (mapping's compiler, jsonschema, formats) costs ~150 ms of a cold import here.
    from hookline.delivery import checks as delivery_checks
    from hookline.governance import governance_problems
    from hookline.ingress import checks as ingress_checks
    from hookline.mapping import checks as mapping_checks
    from hookline.reconcile import checks as reconcile_checks
    from hookline.sync import checks as sync_checks

    problems = ingress_checks.source_problems(cfg, base_dir)
    problems += delivery_checks.destination_problems(cfg)
    seen: set[str] = set()
    for i, route in enumerate(cfg.routes):
        p = f"routes[{i}]"
        problems += _reference_problems(cfg, route, p, seen)
        problems += delivery_checks.enrich_problems(cfg, route, p, base_dir)
        problems += mapping_checks.transform_problems(route.transform, f"{p}.transform", base_dir)
        problems += delivery_checks.route_problems(route, p, base_dir)
    problems += sync_checks.sync_problems(cfg)
    problems += reconcile_checks.reconcile_problems(cfg)
    problems += governance_problems(cfg)
    return problems


def _reference_problems(cfg: HooklineConfig, route: RouteConfig, p: str, seen: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if route.name in seen:
        problems.append(Problem(f"{p}.name", f"duplicate route name {route.name!r}",
                                "route names key the DLQ and Idempotency-Key: make each unique"))
    seen.add(route.name)
    if route.source not in cfg.sources:
        problems.append(Problem(f"{p}.source", f"unknown source {route.source!r}",
                                f"define it under sources: (known: {', '.join(sorted(cfg.sources)) or 'none'})"))
    if route.destination not in cfg.destinations:
        known = ", ".join(sorted(cfg.destinations)) or "none"
        problems.append(Problem(f"{p}.destination", f"unknown destination {route.destination!r}",
                                f"define it under destinations: (known: {known})"))
    if route.when:
        check_jmespath(route.when, f"{p}.when", problems)
    return problems


def parse_config(data: Any, base_dir: Path | None = None, source: str = "") -> HooklineConfig:
    """Validate already-parsed YAML; raises ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "the file must be a mapping with sources:, destinations:, routes:",
                                   "see examples/hookline.yaml")], source)
    data, env_problems = expand_urls(data)
    try:
        cfg = HooklineConfig.model_validate(data)
    except ValidationError as e:
        problems = env_problems + pydantic_problems(e)
        # Cross-reference checks still run on the parts that did parse, so one pass shows everything.
        problems += _partial_semantic_problems(data, base_dir or Path.cwd())
        raise ConfigError(problems, source) from None
    problems = env_problems + semantic_problems(cfg, base_dir or Path.cwd())
    if problems:
        raise ConfigError(problems, source)
    cfg.route_index  # noqa: B018 - compiled at load, not on the first request
    return cfg


def _partial_semantic_problems(data: dict[str, Any], base_dir: Path) -> list[Problem]:
    """Semantic checks over a file that failed schema validation: check what can be checked."""
    # lazy: as in semantic_problems (only a file that failed validation gets here).
    from hookline.mapping import checks as mapping_checks

    problems: list[Problem] = []
    sources = data.get("sources") if isinstance(data.get("sources"), dict) else {}
    dests = data.get("destinations") if isinstance(data.get("destinations"), dict) else {}
    for i, route in enumerate(data.get("routes") or []):
        if not isinstance(route, dict):
            continue
        p = f"routes[{i}]"
        if isinstance(route.get("source"), str) and route["source"] not in sources:
            problems.append(Problem(f"{p}.source", f"unknown source {route['source']!r}",
                                    f"define it under sources: (known: {', '.join(sorted(sources)) or 'none'})"))
        if isinstance(route.get("destination"), str) and route["destination"] not in dests:
            problems.append(Problem(f"{p}.destination", f"unknown destination {route['destination']!r}",
                                    f"define it under destinations: (known: {', '.join(sorted(dests)) or 'none'})"))
        if isinstance(route.get("when"), str):
            check_jmespath(route["when"], f"{p}.when", problems)
        if isinstance(route.get("transform"), dict):
            problems += mapping_checks.transform_problems(route["transform"], f"{p}.transform", base_dir, hint="")
    for name, dest in dests.items():
        if isinstance(dest, dict) and isinstance(dest.get("url"), str):
            check_url(dest["url"], f"destinations.{name}.url", problems)
        if isinstance(dest, dict) and isinstance(dest.get("headers"), dict):
            check_headers({str(k): str(v) for k, v in dest["headers"].items()},
                          f"destinations.{name}.headers", problems)
    return problems


def load_prevalidated(config_file: Path, text: str) -> HooklineConfig | None:
    """The configuration from its pre-validated form, or None when there is none for this exact YAML."""
    out = prevalidated_path(config_file)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        return None
    if data.get("format") != PREVALIDATED_FORMAT \
            or data.get("yaml_sha256") != hashlib.sha256(text.encode()).hexdigest():
        return None
    for expr, ast in data["expressions"].items():
        expressions._COMPILED.setdefault(expr, ParsedResult(expr, ast))
    # Validated when it was written: rebuilt, not validated again (pydantic would first build every model's
    # validator: with the models' import, ~45 ms of CPU of a cold start; the models are defer_build).
    cfg = construct(HooklineConfig, data["config"])
    cfg.route_index  # noqa: B018 - compiled at load, as parse_config does
    return cfg


def load_config(path: str | Path) -> HooklineConfig:
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as e:
        raise ConfigError([Problem("", f"cannot read {file}: {e.strerror}",
                                   "pass --config FILE or set HOOKLINE_CONFIG")], str(file)) from None
    cfg = load_prevalidated(file, text)  # written by `make deploy` next to the bundled file
    if cfg is not None:
        return cfg
    yaml = yaml_module()
    try:
        data = yaml_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([Problem(where, f"not valid YAML: {getattr(e, 'problem', e)}",
                                   "check indentation and quoting")], str(file)) from None
    return parse_config(data, file.parent, str(file))
