"""What ingress needs of a configuration beyond the model: usable source names, signature settings."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from hookline.core.config import HooklineConfig, SourceConfig, check_jmespath, check_schema
from hookline.core.errors import Problem

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def source_problems(cfg: HooklineConfig, base_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for name, src in cfg.sources.items():
        p = f"sources.{name}"
        if not _SOURCE_NAME.match(name):
            problems.append(Problem(p, "source names appear in the URL /webhooks/{source}",
                                    "use letters, digits, '-' and '_' only"))
        v = src.verify
        if v is not None:
            if v.scheme == "hmac-sha256" and not v.header:
                problems.append(Problem(f"{p}.verify.header", "hmac-sha256 needs the name of the signature header",
                                        "e.g. header: X-Signature"))
            for key in ("id_path", "type_path"):
                expr = getattr(v, key)
                if expr:
                    check_jmespath(expr, f"{p}.verify.{key}", problems)
        elif src.provider is not None:
            problems += provider_problems(p, src)
        elif src.auth is not None:
            # lazy: the auth module (and the catalog's compiler, for hmac) load only for auth: sources
            from hookline.ingress.source_auth import config_problems

            problems += config_problems(f"{p}.auth", src.auth)
            for key in ("id_path", "type_path"):
                if getattr(src, key):
                    check_jmespath(getattr(src, key), f"{p}.{key}", problems)
        if src.schema_ is not None:
            check_schema(src.schema_, base_dir, f"{p}.schema", problems)
    return problems


def provider_problems(p: str, src: SourceConfig) -> list[Problem]:
    """An unknown provider (with the closest names), an entry that does not load, a missing secret (named as the
    provider names it), and the overrides' syntax."""
    # lazy: the catalog's engine (and tomllib) load only for configurations with a provider: source; validation
    # runs in Lambda cold starts that have no pre-validated file.
    from hookline.ingress.providers.compile import CODE, ProviderError, load, names

    problems: list[Problem] = []
    name = src.provider or ""
    known = names()
    if name not in known:
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        problems.append(Problem(f"{p}.provider", f"unknown provider {name!r}",
                                f"{hint}`hookline sources` lists the {len(known)} providers"))
        return problems
    try:
        entry = load(name)
    except ProviderError as e:
        problems.append(Problem(f"{p}.provider", f"the catalog entry does not load: {e}", "report it"))
        return problems
    if not src.secrets and entry.algorithm not in CODE:
        problems.append(Problem(f"{p}.secrets", f"provider {name} needs {entry.secret}",
                                "e.g. secrets: [ssm:/hookline/" + name + "-secret]"))
    for key in ("id_path", "type_path"):
        expr = getattr(src, key)
        if expr:
            check_jmespath(expr, f"{p}.{key}", problems)
    # lazy: as the engine above, only for provider: sources
    from hookline.ingress import handshakes

    problems += handshakes.config_problems(p, src, (entry.handshake or {}).get("kind"))
    url = src.public_url
    if url is not None and (not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", url)):
        problems.append(Problem(f"{p}.public_url", "public_url is the URL the sender calls, without a query",
                                "e.g. https://hooks.example.com/webhooks/" + p.split(".", 1)[1]))
    return problems
