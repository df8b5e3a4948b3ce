"""`hookline send SOURCE`: sign a payload the way SOURCE's sender would and post it.

Next to a running `hookline dev` (its .hookline/dev.json in this directory) it needs no
flags: the config, the env file with the secrets and the ingress URL come from there.
`hookline send --provider NAME` signs as a catalog provider (docs/providers.md): for the source
configured with that provider, or any URL with --url and --secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from hookline.commands._ops import header_line
from hookline.commands.validate import DEFAULT_CONFIG, print_problems
from hookline.operations.stack import read_dev_state

DEFAULT_URL = "http://127.0.0.1:3000/webhooks/"
# Headers a real sender adds besides the signature, per scheme: (event-type header, default type).
_TYPE_HEADERS = {"github": ("X-GitHub-Event", "issues"), "shopify": ("X-Shopify-Topic", "orders/create")}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("send", help="sign a payload with the source's scheme and secret and post it",
                       description=__doc__.splitlines()[0])
    p.add_argument("source", metavar="SOURCE", nargs="?", default=None,
                   help="a source name from the configuration (sources.SOURCE); optional with --provider")
    p.add_argument("--provider", default=None, metavar="NAME",
                   help="sign as this catalog provider (`hookline sources` lists them); without SOURCE, the "
                        "source configured with it, or --url and --secret")
    p.add_argument("--secret", default=None, metavar="REF",
                   help="with --provider: the secret reference to sign with (env:NAME, ssm:/path ...; default: "
                        "the source's first secret)")
    p.add_argument("--data", default=None, metavar="FILE",
                   help="the body to send, as is ('-' = stdin; default: {})")
    p.add_argument("--url", default=None,
                   help="where to post (default: the running `hookline dev`'s ingress, else "
                        f"{DEFAULT_URL}SOURCE); a URL ending in '/' gets SOURCE appended")
    p.add_argument("--config", default=None,
                   help="configuration file (default: the running `hookline dev`'s, else $HOOKLINE_CONFIG "
                        "or ./hookline.yaml)")
    p.add_argument("--env-file", default=None, metavar="FILE",
                   help="KEY=VALUE file for env: secrets (default: the running `hookline dev`'s, else demo.env "
                        "next to the config)")
    p.add_argument("--event", default=None, metavar="TYPE",
                   help="event type header for github (X-GitHub-Event, default 'issues') and shopify "
                        "(X-Shopify-Topic)")
    p.add_argument("--id", default=None, metavar="ID",
                   help="delivery / message id (default: a new one per send; the same id twice is a duplicate). "
                        "Stripe takes the id from the body's `id`")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'",
                   help="extra request header (repeatable)")
    p.add_argument("--content-type", default=None,
                   help="Content-Type (default: application/json when the body is JSON, else text/plain)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"hookline send: {message}", file=sys.stderr)
    return 1


def target_url(url: str | None, state: dict[str, Any], source: str) -> str:
    base = url or state.get("ingress_url") or (state.get("outputs") or {}).get("WebhookUrl") or DEFAULT_URL
    return base + source if base.endswith("/") else base


def build_request(verify: Any, secret: str, body: bytes, *, event: str | None, msg_id: str | None,
                  content_type: str, extra: list[str]) -> dict[str, str]:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.ingress.signatures import sign

    msg_id = msg_id or str(uuid.uuid4())
    headers = {"Content-Type": content_type, "User-Agent": "hookline-send"}
    type_header = _TYPE_HEADERS.get(verify.scheme)
    if type_header:
        headers[type_header[0]] = event or type_header[1]
    elif event and verify.type_header:
        headers[verify.type_header] = event
    headers.update(sign(verify, secret, body, msg_id=msg_id))
    for item in extra:
        header = header_line(item)
        if header is None:
            raise ValueError(f"-H {item!r}: expected 'Name: value'")
        headers[header[0]] = header[1]
    return headers


def run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.errors import ConfigError, SecretResolutionError
    from hookline.local.envfile import EnvFileError, default_env_file, load_env_file
    from hookline.secrets import SecretResolver
    from hookline.validation import load_config

    state = read_dev_state()
    config = Path(args.config or state.get("config") or os.environ.get("HOOKLINE_CONFIG", DEFAULT_CONFIG))
    try:
        cfg = load_config(config)
    except ConfigError as e:
        print_problems(config, e.problems)
        return 1
    name, source, problem = _pick_source(cfg, args, config)
    if problem:
        return _fail(problem)
    env_file = Path(args.env_file) if args.env_file else (
        Path(state["env_file"]) if state.get("env_file") and not args.config else default_env_file(config))
    if env_file is not None:
        try:
            load_env_file(env_file)
        except (OSError, EnvFileError) as e:
            return _fail(f"env file {env_file}: {e}")
    refs = [args.secret] if args.secret else (source.secret_refs if source is not None else [])
    auth = source.auth if source is not None and not args.provider else None  # credentials, not one secret
    if not refs and auth is None:
        need = "--url and --secret env:NAME" if name is None else "--secret env:NAME"
        return _fail(f"no source uses provider {args.provider} with a secret: pass {need}")
    try:
        secret = SecretResolver().resolve(refs[0]) if auth is None else ""
    except SecretResolutionError as e:
        return _fail(str(e))
    try:
        body = _read_body(args.data)
    except OSError as e:
        return _fail(f"--data {args.data}: {e.strerror}")
    content_type = args.content_type or ("application/json" if _is_json(body) else "text/plain")
    if name is None and not args.url:
        return _fail(f"no source uses provider {args.provider}: pass --url (and --secret)")
    url = target_url(args.url, state, name or "")
    if not url.startswith(("http://", "https://")):
        return _fail(f"--url {url}: only http:// and https:// URLs")
    try:
        if auth is not None:
            # lazy: every `hookline` run imports all command modules; the auth module loads the catalog's compiler.
            from hookline.commands.send_auth import build

            headers, url = build(auth, SecretResolver().resolve, body, url, content_type=content_type,
                                 extra=args.header)
            how = f"with auth {auth.method}"
        elif source is not None and source.verify is not None and not args.provider:
            headers = build_request(source.verify, secret, body, event=args.event, msg_id=args.id,
                                    content_type=content_type, extra=args.header)
            how = source.verify.scheme
        else:
            provider = args.provider or (source.provider if source is not None else None)
            signed_url = _signed_url(url, source.public_url if source is not None else None)
            headers = build_provider_request(provider or "", secret, body, url=signed_url, event=args.event,
                                             msg_id=args.id, content_type=content_type, extra=args.header)
            how = f"as provider {provider}"
    except ValueError as e:
        return _fail(str(e))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked above
    print(f"POST {url} ({len(body)} bytes, signed {how})", file=sys.stderr)
    try:
        with urllib.request.urlopen(request, timeout=35) as resp:  # noqa: S310 - scheme checked above # nosec B310
            status, text = resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        hint = " (is `hookline dev` running?)" if not args.url else ""
        return _fail(f"cannot reach {url}: {reason}{hint}")
    print(f"HTTP {status} {text}")
    return 0 if 200 <= status < 300 else 1


def _pick_source(cfg: Any, args: argparse.Namespace, config: Path) -> tuple[str | None, Any, str | None]:
    """(source name, its configuration, problem): SOURCE as given, else the one using --provider."""
    have = ", ".join(cfg.sources) or "none"
    if args.source is not None:
        source = cfg.sources.get(args.source)
        if source is None:
            return None, None, f"no source {args.source!r} in {config} (have: {have})"
        return args.source, source, None
    if not args.provider:
        return None, None, f"name a SOURCE (have: {have}) or --provider NAME"
    using = [n for n, s in cfg.sources.items() if s.provider == args.provider]
    if len(using) > 1:
        return None, None, f"several sources use provider {args.provider} ({', '.join(using)}): name one"
    return (using[0], cfg.sources[using[0]], None) if using else (None, None, None)


def _signed_url(url: str, public_url: str | None) -> str:
    """The URL the provider signs: the one posted to, or the source's public_url with the same query."""
    if not public_url:
        return url
    query = url.partition("?")[2]
    return f"{public_url}?{query}" if query else public_url


def build_provider_request(provider: str, secret: str, body: bytes, *, url: str, event: str | None,
                           msg_id: str | None, content_type: str, extra: list[str]) -> dict[str, str]:
    """The headers a sender of catalog provider `provider` attaches (hookline's signer: for trying a source
    locally; the catalog's tests prove each entry with the provider's own SDK)."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.ingress.providers import ProviderError, Request, load, sign

    try:
        entry = load(provider)
    except ProviderError as e:
        raise ValueError(str(e)) from None
    headers = {"Content-Type": content_type, "User-Agent": "hookline-send"}
    if entry.id is not None and entry.id.header:
        headers[entry.id.header] = msg_id or f"msg_{uuid.uuid4().hex}"
    if event and entry.type is not None and entry.type.header:
        headers[entry.type.header] = event
    for item in extra:
        header = header_line(item)
        if header is None:
            raise ValueError(f"-H {item!r}: expected 'Name: value'")
        headers[header[0]] = header[1]
    request = Request(method="POST", headers=headers, body=body, url=url)
    headers.update(sign(entry, secret, request, now=time.time()))
    return headers


def _read_body(data: str | None) -> bytes:
    if data is None:
        return b"{}"
    if data == "-":
        return sys.stdin.buffer.read()
    return Path(data).read_bytes()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True
