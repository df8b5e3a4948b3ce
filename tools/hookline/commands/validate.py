"""`hookline validate`: every problem of a configuration file, with its path and a fix."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hookline.core.config import HooklineConfig
from hookline.core.errors import ConfigError, Problem
from hookline.local.envfile import DEFAULT_NAME, default_env_file, parse_env_file
from hookline.secrets import HEADER_SECRET
from hookline.validation import load_config

DEFAULT_CONFIG = "hookline.yaml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="static checks of the configuration (and of template.yaml)")
    p.add_argument("--config", default=None, help="configuration file (default: the running `hookline dev`'s, "
                                                  "else $HOOKLINE_CONFIG, else ./hookline.yaml)")
    p.add_argument("--template", default=None,
                   help="SAM template to check against (default: found as `hookline dev` finds it: next to the "
                        "config or above it, in this directory, or in the checkout hookline runs from)")
    p.add_argument("--for-deploy", action="store_true",
                   help="also refuse what cannot work once deployed to AWS: destinations, token endpoints and "
                        "sync URLs on loopback or private addresses, and env: secrets (`make deploy` runs this)")
    p.add_argument("--allow-local", action="store_true",
                   help="with --for-deploy: accept those anyway (the addresses are reachable from the functions, "
                        "or the template sets the env: variables)")
    p.set_defaults(func=run)


def _walk(value: Any, path: str = "") -> Any:
    """(dotted path, key, value) of every string in a dumped configuration."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, path.rsplit(".", 1)[-1], value


def _local_host(url: str) -> str | None:
    """Why `url` cannot be reached from a Lambda function (loopback, private, link-local ...), or None."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    import ipaddress
    from urllib.parse import urlparse

    host = (urlparse(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "a loopback host name"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None  # a DNS name: what it resolves to from AWS is not knowable here
    for kind, flag in (("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local),
                       ("an unspecified", ip.is_unspecified), ("a private", ip.is_private)):
        if flag:
            return f"{kind} address"
    return None


def deploy_problems(cfg: HooklineConfig) -> list[Problem]:
    """What works under `hookline dev` but not once deployed: local addresses and env: secrets.

    The functions run in AWS without a VPC, so 127.0.0.1 or 10.x is no destination there, and the
    template sets no environment variable an `env:` reference could read."""
    problems = []
    for path, key, value in _walk(cfg.model_dump(mode="json", exclude_none=True)):
        if (key == "url" or key.endswith("_url")) and value.startswith(("http://", "https://")):
            why = _local_host(value)
            if why:
                problems.append(Problem(path, f"{value} is {why}: the deployed functions run in AWS and cannot "
                                        "reach it", "use the service's public URL (or pass --allow-local if the "
                                        "functions really can reach it)"))
        refs = [value] if value.startswith("env:") else [r for r in HEADER_SECRET.findall(value)
                                                          if r.startswith("env:")]
        for ref in refs:
            problems.append(Problem(path, f"{ref} is read from the function's environment, which the template "
                                    "does not set: every use would fail once deployed",
                                    f"store it in SSM or Secrets Manager and write e.g. ssm:/hookline/"
                                    f"{ref[4:].lower().replace('_', '-')} (or pass --allow-local if you set "
                                    f"{ref[4:]} on the functions yourself)"))
    return problems


def template_problems(cfg: HooklineConfig, template_path: Path) -> list[Problem]:
    """What the configuration needs from the stack it deploys with."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.local.cfn import load_template

    tpl = load_template(template_path)
    resources = tpl.get("Resources", {})
    problems = []
    for needed in ("IngressFunction", "DeliverFunction", "DeliveryQueue", "DeadLetterQueue",
                   "EventsTable", "PayloadBucket"):
        if needed not in resources:
            problems.append(Problem(f"{template_path}:Resources.{needed}", "missing from the template",
                                    "restore it from the hookline template"))
    max_receives = int(tpl.get("Parameters", {}).get("MaxReceiveCount", {}).get("Default", 0) or 0)
    global_said = False
    for i, route in enumerate(cfg.routes):
        attempts = len(cfg.schedule_for(route)) + 1
        if max_receives and attempts >= max_receives:
            if not route.retry:  # the top-level schedule is one problem, however many routes use it
                if global_said:
                    continue
                global_said = True
            problems.append(Problem(
                f"routes[{i}].retry.schedule_seconds" if route.retry else "retry.schedule_seconds",
                f"{attempts} attempts reach the template's MaxReceiveCount ({max_receives}): SQS would move the "
                "message to the DLQ before the last retry, without its reason",
                f"shorten the schedule, or deploy with MaxReceiveCount={attempts + 1} or more"))
    problems += _records_template_problems(cfg, resources, str(template_path))
    if cfg.syncs and "SyncFunction" not in resources:
        problems.append(Problem(f"{template_path}:Resources.SyncFunction", "syncs are configured but the "
                                "template has no SyncFunction", "restore it from the hookline template"))
    problems += _sync_timeout_problems(cfg, tpl, str(template_path))
    return problems


def _sync_timeout_problems(cfg: HooklineConfig, tpl: dict, where: str) -> list[Problem]:
    """A run starts a page only with the page's timeout_seconds plus a reserve left (sync/runner.py), so a
    timeout_seconds the function's Timeout cannot hold would never fetch anything, run after run."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.sync.runner import RESERVE_SECONDS

    fn = (tpl.get("Resources", {}).get("SyncFunction") or {}).get("Properties") or {}
    timeout = fn.get("Timeout", ((tpl.get("Globals") or {}).get("Function") or {}).get("Timeout", 3))
    if not isinstance(timeout, int | float):
        return []  # a parameter or intrinsic: known only at deploy time
    return [Problem(f"syncs.{name}.timeout_seconds", f"{sync.timeout_seconds:g} s plus the run's {RESERVE_SECONDS:g} s "
                    f"reserve does not fit in the sync function's Timeout ({timeout:g} s, {where}): no page would "
                    "ever be fetched", f"lower it to {timeout - RESERVE_SECONDS - 1:g} or less, or raise the "
                    "SyncFunction's Timeout")
            for name, sync in cfg.syncs.items() if sync.timeout_seconds + RESERVE_SECONDS >= timeout]


def _records_template_problems(cfg: HooklineConfig, resources: dict, where: str) -> list[Problem]:
    """Ordered routes need the FIFO queue; versions, limits and breakers need the records table."""
    problems = []
    if any(r.ordered for r in cfg.routes) and "OrderedDeliveryQueue" not in resources:
        problems.append(Problem(f"{where}:Resources.OrderedDeliveryQueue", "routes with `ordered: true` need the "
                                "FIFO delivery queue", "restore it (and the deliver function's OrderedQueueEvent) "
                                "from the hookline template"))
    needs_table = any(r.version for r in cfg.routes) or any(
        d.breaker or d.rate_limit or d.max_concurrency for d in cfg.destinations.values())
    if needs_table and "RecordsTable" not in resources:
        problems.append(Problem(f"{where}:Resources.RecordsTable", "version, rate_limit, max_concurrency and "
                                "circuit_breaker keep their state in RecordsTable", "restore it from the hookline "
                                "template, or set circuit_breaker: off and drop those keys"))
    return problems


def unset_env_secrets(cfg: HooklineConfig, provided: frozenset[str] | set[str] = frozenset()) -> list[str]:
    refs = [r for s in cfg.sources.values() for r in [*s.secret_refs, *([s.verify_token] if s.verify_token else [])]]
    for d in cfg.destinations.values():  # signing, auth (each scheme, mtls) and proxy; headers: below
        in_headers = {ref for template in d.headers.values() for ref in HEADER_SECRET.findall(template)}
        refs += [r for r in d.secret_refs() if r not in in_headers]
    return sorted({r for r in refs if r.startswith("env:") and r[4:] not in os.environ and r[4:] not in provided})


def provider_secrets(cfg: HooklineConfig) -> dict[str, str]:
    """{secret reference: what it must hold, in the provider's words} for `provider:` sources."""
    # lazy: the catalog is read only for configurations that name a provider.
    from hookline.ingress.providers import ProviderError, load

    out: dict[str, str] = {}
    for name, src in cfg.sources.items():
        if src.provider is None:
            continue
        try:
            needs = load(src.provider).secret
        except ProviderError:
            continue  # validation reported it
        for ref in src.secret_refs:
            out.setdefault(ref, f"sources.{name}: {src.provider} needs {needs}")
    return out


def unset_header_secrets(cfg: HooklineConfig, provided: frozenset[str] | set[str] = frozenset()
                         ) -> list[tuple[str, str]]:
    """(config path, env: reference) of each `{secret:env:X}` in a destination header whose X is unset."""
    out = []
    for name, dest in cfg.destinations.items():
        for header, template in dest.headers.items():
            for ref in HEADER_SECRET.findall(template):
                if ref.startswith("env:") and ref[4:] not in os.environ and ref[4:] not in provided:
                    out.append((f"destinations.{name}.headers.{header}", ref))
    return out


def _find_template(config: Path, explicit: str | None) -> Path | None:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.local.emulator import template_path

    try:
        found = template_path(config, explicit)
    except FileNotFoundError:
        return None
    return found if found.is_file() else None


def load_or_report(path: Path) -> Any:
    """The configuration, or None after printing every problem in it (the caller exits 1)."""
    try:
        return load_config(path)
    except ConfigError as e:
        print_problems(path, e.problems)
        return None


def run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands._ops import config_path  # it imports boto3; the other commands here need none

    path = config_path(args.config)
    cfg = load_or_report(path)
    if cfg is None:
        return 1
    template = _find_template(path, args.template)
    if template is None:
        where = args.template or f"next to {path}, above it, or in {Path.cwd()}"
        print(f"note: template checks skipped (retry schedule vs MaxReceiveCount, required resources): no "
              f"template.yaml at {where}; pass --template FILE", file=sys.stderr)
    problems = template_problems(cfg, template) if template is not None else []
    if getattr(args, "for_deploy", False) and not getattr(args, "allow_local", False):
        problems += deploy_problems(cfg)
    if problems:
        print_problems(path, problems)
        return 1
    print(f"OK {path}: {len(cfg.sources)} source(s), {len(cfg.destinations)} destination(s), "
          f"{len(cfg.routes)} route(s), {len(cfg.syncs)} sync(s)")
    env_file = default_env_file(path)
    provided = set(parse_env_file(env_file)) if env_file else set()
    needed = provider_secrets(cfg)
    for ref in unset_env_secrets(cfg, provided):
        what = f" ({needed[ref]})" if ref in needed else ""
        print(f"note: {ref}{what} is neither set in this shell nor in {DEFAULT_NAME} beside the config; "
              f"export {ref[4:]}=... before `hookline dev` or `send`", file=sys.stderr)
    for where, ref in unset_header_secrets(cfg, provided):
        print(f"note: {where} uses {{secret:{ref}}} but {ref[4:]} is neither set in this shell nor in "
              f"{DEFAULT_NAME} beside the config: deliveries to it would dead-letter with reason config; "
              f"export {ref[4:]}=... where hookline runs", file=sys.stderr)
    return 0


def print_problems(path: Path, problems: list[Problem]) -> None:
    print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
    for p in problems:
        print(f"  - {p.path or '<file>'}: {p.message}", file=sys.stderr)
        if p.hint:
            print(f"      fix: {p.hint}", file=sys.stderr)
