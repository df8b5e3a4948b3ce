"""What sync needs of a configuration beyond the model: a known source, a URL, paths and pagination."""

from __future__ import annotations

from hookline.core.config import HooklineConfig, check_headers, check_jmespath, check_url
from hookline.core.errors import Problem
from hookline.sync.pagination import pagination_problems


def sync_problems(cfg: HooklineConfig) -> list[Problem]:
    problems: list[Problem] = []
    for name, sync in cfg.syncs.items():
        p = f"syncs.{name}"
        if sync.source not in cfg.sources:
            problems.append(Problem(f"{p}.source", f"unknown source {sync.source!r}", "define it under sources:"))
        check_url(sync.url, f"{p}.url", problems)
        check_headers(sync.headers, f"{p}.headers", problems)
        for key in ("items_path", "id_path", "next_cursor_path", "version_path"):
            expr = getattr(sync, key)
            if expr:
                check_jmespath(expr, f"{p}.{key}", problems)
        problems += pagination_problems(name, sync)
        if sync.oauth2:
            check_url(sync.oauth2.token_url, f"{p}.oauth2.token_url", problems)
    return problems
