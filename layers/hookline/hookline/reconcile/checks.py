"""What reconciliation needs of a configuration beyond the model: a provider that lists its events, a URL,
intervals that parse, and GitHub's hook written so its deliveries' path can be built."""

from __future__ import annotations

from hookline.core.config import HooklineConfig, check_url
from hookline.core.errors import Problem
from hookline.reconcile.api import PROVIDERS, hook_problem, provider_of
from hookline.reconcile.runner import seconds


def reconcile_problems(cfg: HooklineConfig) -> list[Problem]:
    problems: list[Problem] = []
    for name, src in cfg.sources.items():
        rc = src.reconcile
        if rc is None:
            continue
        p = f"sources.{name}.reconcile"
        provider = provider_of(src)
        if provider not in PROVIDERS:
            problems.append(Problem(p, f"reconciliation lists events from Stripe's or GitHub's API; this source is "
                                       f"{provider or 'neither'}",
                                    "use it on a provider: stripe or github source (or verify: "
                                    "{scheme: stripe|github}), or remove it"))
        for key in ("every", "lookback"):
            try:
                seconds(getattr(rc, key))
            except ValueError as e:
                problems.append(Problem(f"{p}.{key}", str(e), "a number and m, h or d: 1h, 3d"))
        if rc.api_url:
            check_url(rc.api_url, f"{p}.api_url", problems)
        if provider == "github" and (why := hook_problem(rc.hook)):
            problems.append(Problem(f"{p}.hook", why, "app for a GitHub App's webhook, else the repository "
                                                      "hook's OWNER/REPO/HOOK_ID (Settings > Webhooks, the id "
                                                      "in the hook's URL)"))
        elif provider != "github" and rc.hook != "app":
            problems.append(Problem(f"{p}.hook", "only for provider: github sources", "remove it"))
    return problems
