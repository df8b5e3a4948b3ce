"""What delivery needs of a configuration beyond the model: destinations it can send to, routes it can run."""

from __future__ import annotations

from pathlib import Path

from hookline.core.auth import auth_problems
from hookline.core.config import HooklineConfig, RouteConfig, check_headers, check_jmespath, check_schema, check_url
from hookline.core.errors import Problem
from hookline.delivery.enrich import enrich_problems as _enrich_problems
from hookline.delivery.send.targets import target_problems
from hookline.delivery.send.warehouse import destination_problems as _warehouse_problems
from hookline.mapping.formats import xml_name_problem
from hookline.mapping.urls import request_line_problems


def destination_problems(cfg: HooklineConfig) -> list[Problem]:
    problems: list[Problem] = []
    for name, dest in cfg.destinations.items():
        p = f"destinations.{name}"
        problems += _warehouse_problems(name, dest) + target_problems(name, dest)
        if dest.url is not None:
            check_url(dest.url, f"{p}.url", problems)
        check_headers(dest.headers, f"{p}.headers", problems)
        problems += [Problem(*found) for found in request_line_problems(dest, p) + auth_problems(dest, p)]
        if dest.oauth2:
            check_url(dest.oauth2.token_url, f"{p}.oauth2.token_url", problems)
        if dest.format == "xml":
            problem = xml_name_problem(dest.xml_root)
            if problem:
                problems.append(Problem(f"{p}.xml_root", problem, "e.g. xml_root: Order"))
    return problems


def enrich_problems(cfg: HooklineConfig, route: RouteConfig, p: str, base_dir: Path) -> list[Problem]:
    if not route.enrich:
        return []
    problems = _enrich_problems(route, cfg, p, base_dir)
    for i, step in enumerate(route.enrich):
        looked_up = cfg.destinations.get(step.destination)
        if looked_up is not None and looked_up.url and "{" in looked_up.url:
            # a step appends its path to the destination's url: a template there would be sent as written
            problems.append(Problem(f"{p}.enrich[{i}].destination", f"destination {step.destination!r} has a "
                                    "templated url", "give the step a destination with a fixed base url"))
    return problems


def route_problems(route: RouteConfig, p: str, base_dir: Path) -> list[Problem]:
    """The route's payload schema and its record options (key, version, ordered)."""
    problems: list[Problem] = []
    if route.schema_ is not None:
        check_schema(route.schema_, base_dir, f"{p}.schema", problems)
    for name in ("key", "version"):
        expr = getattr(route, name)
        if expr:
            check_jmespath(expr, f"{p}.{name}", problems)
    if not route.key:
        for name, needs in (("ordered", route.ordered), ("version", route.version)):
            if needs:
                problems.append(Problem(f"{p}.{name}", f"{name} needs the record key",
                                        "add key: EXPR (e.g. key: body.data.object.id)"))
    return problems
