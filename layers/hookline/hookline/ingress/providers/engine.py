"""Verify a request as a catalog entry says (and sign as one, for `hookline send --provider`)."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from hookline.ingress.providers import crypto
from hookline.ingress.providers.compile import ASYMMETRIC, CODE, Location, Provider
from hookline.ingress.providers.content import Missing, Values, parse_body, text_of
from hookline.ingress.providers.request import Request
from hookline.ingress.signatures import MAX_ID_LENGTH, SignatureError, SourceMisconfigured

_PRINTABLE = re.compile(r"[\x20-\x7e]+")
_UNIX = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_UNIX_MS = re.compile(r"[0-9]{1,15}")
_DIGEST_SIZES = {"hmac-sha1": 20, "hmac-sha256": 32, "hmac-sha512": 64}
_TIME_NAMES = {"unix": "unix", "unix-ms": "unix-ms", "iso8601": "time"}


@dataclass(frozen=True)
class Verified:
    event_id: str | None  # None: the entry names no id, or the request carries none (ingress uses the body digest)
    event_type: str | None
    id_signed: bool  # the signature covers the id (a signed header or a body field)
    timestamped: bool  # the signature covers a timestamp checked against the tolerance: a capture expires


class _Parsed:
    """The body parsed once, and only if something asks for it (or as the caller already parsed it)."""

    def __init__(self, body: bytes, value: object = None) -> None:
        self.body = body
        self.done = value is not None
        self.value: object = value

    def __call__(self) -> object:
        if not self.done:
            self.value, self.done = parse_body(self.body), True
        return self.value


def _lookup(loc: Location, headers: Mapping[str, str], parsed: _Parsed) -> tuple[str | None, str]:
    """The first non-empty value at `loc` and where it was: "path", or the header's lower-cased name."""
    for header in loc.headers:
        value = (headers.get(header.lower()) or "").strip()
        if value:
            return value, header.lower()
    if loc.compiled is not None:
        try:
            value = text_of(loc.compiled.search(parsed()))
        except Exception:  # a hostile body must not turn a lookup into a 5xx
            value = None
        if value and value.strip():
            return value.strip(), "path"
    return None, ""


def _where(entry: Provider) -> str:
    return entry.header or (f"query parameter {entry.query}" if entry.query else
                            f"body field {entry.path.path if entry.path else '?'}")


def _malformed(entry: Provider) -> SignatureError:
    where = f"{entry.header} header" if entry.header else _where(entry)
    return SignatureError(f"malformed {where}: expected {_expected(entry)}")


def _signature_text(entry: Provider, request: Request, parsed: _Parsed) -> str:
    if entry.header:
        value = (request.headers.get(entry.header.lower()) or "").strip()
        if not value:
            raise SignatureError(f"missing header {entry.header}")
        return value
    if entry.query:
        value = (request.query.get(entry.query) or "").strip()
        if not value:
            raise SignatureError(f"missing query parameter {entry.query}")
        return value
    if entry.path is None:  # compile.py gives every entry a header, a query or a path
        raise SignatureError("the entry names no place for its signature")
    value, _ = _lookup(entry.path, {}, parsed)
    if not value:
        raise SignatureError(f"missing body field {entry.path.path}")
    return value


def _split(entry: Provider, value: str) -> tuple[list[str], list[str]]:
    """(signatures, timestamps) of a signature value, per the entry's prefix and list format."""
    prefix = entry.prefix
    if prefix:
        if value[:len(prefix)].lower() != prefix.lower():  # the prefix only: not the whole signature lowered
            raise _malformed(entry)
        value = value[len(prefix):].strip()
    lst = entry.list
    if lst is None:
        return [value], []
    sigs: list[str] = []
    stamps: list[str] = []
    for item in filter(None, (part.strip() for part in value.split(lst.separator))):
        key, sep, val = item.partition(lst.kv)
        if not sep:
            raise _malformed(entry)
        if key.strip() == lst.signature_key:
            sigs.append(val.strip())
        elif lst.timestamp_key and key.strip() == lst.timestamp_key:
            stamps.append(val.strip())
        # Other versions (Stripe's v0, Standard Webhooks' v1a): not ours to check, as the providers' SDKs do.
    if not sigs:
        where = f"{entry.header} header" if entry.header else _where(entry)
        raise SignatureError(f"malformed {where}: no {lst.signature_key} signature (expected {_expected(entry)})")
    return sigs, stamps


def _expected(entry: Provider) -> str:
    enc = "token" if entry.algorithm == "token" else entry.encoding
    lst = entry.list
    if lst is None:
        return f"{entry.prefix}<{enc}>"
    stamp = _TIME_NAMES[entry.timestamp_format]
    ts = f"{lst.timestamp_key}{lst.kv}<{stamp}>{lst.separator}" if lst.timestamp_key else ""
    return f"{entry.prefix}{ts}{lst.signature_key}{lst.kv}<{enc}>"


def parse_timestamp(value: str, fmt: str, where: str) -> float:
    if fmt == "unix" and _UNIX.fullmatch(value):
        return float(value)
    if fmt == "unix-ms" and _UNIX_MS.fullmatch(value):
        return int(value) / 1000
    if fmt == "iso8601":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    expected = {"unix": "unix seconds", "unix-ms": "unix milliseconds", "iso8601": "an ISO 8601 time"}[fmt]
    raise SignatureError(f"malformed {where}: expected {expected}")


def _timestamp(entry: Provider, request: Request, parsed: _Parsed, stamps: list[str]) -> tuple[str, str] | None:
    """(the timestamp as received, where it was), or None for an entry without one."""
    if entry.timestamp_from_list:
        if len(stamps) != 1:
            raise _malformed(entry)
        return stamps[0], _where(entry)
    loc = entry.timestamp
    if loc is None:
        return None
    value, _ = _lookup(loc, request.headers, parsed)
    if not value:
        raise SignatureError(f"missing body field {loc.path}" if loc.header is None else f"missing header {loc.header}")
    return value, loc.header or f"body field {loc.path}"


def _keys(entry: Provider, secrets: list[str]) -> list[Any]:
    if entry.algorithm in ASYMMETRIC:
        keys = []
        for s in secrets:
            if s:
                try:
                    keys.append(crypto.public_key(entry.algorithm, s, entry.key))
                except crypto.BadKey:
                    continue  # another configured key may still be good (rotation); none at all is reported below
        return keys
    return [k for k in (crypto.symmetric_key(s, entry.key) for s in secrets) if k]


def verify(entry: Provider, secrets: list[str], request: Request, *, now: float,
           tolerance_seconds: int | None = None, id_path: str | None = None, type_path: str | None = None,
           id_header: str | None = None, type_header: str | None = None, describe: bool = True) -> Verified:
    """Raise SignatureError unless `request` is signed as `entry` says with one of `secrets`.

    `id_header`/`id_path` (and the same for the type) are a source's overrides: tried first, then the entry's.
    `describe=False`: no id or type (the caller reads them with `identify` over the body as it parsed it)."""
    if entry.algorithm in CODE:
        raise SourceMisconfigured(f"provider {entry.name} is verified by ingress's own code for it, not the catalog")
    parsed = _Parsed(request.body)
    headers = request.headers
    event_header = entry.id.header if entry.id is not None and entry.content.uses("id") else None
    if event_header and not (headers.get(event_header.lower()) or "").strip():
        raise SignatureError(f"missing header {event_header}")  # named first: the signed id is the event
    value = _signature_text(entry, request, parsed)
    if entry.algorithm == "token":
        given = value[len(entry.prefix):].strip() if value.lower().startswith(entry.prefix.lower()) else None
        usable = [s for s in secrets if s]
        if not usable:
            raise SourceMisconfigured("no usable secret is configured for this source")
        matched = False
        for s in usable:  # every secret compared, in constant time: timing tells nothing of which came close
            matched |= given is not None and hmac.compare_digest(given.encode(), s.encode())
        if not matched:
            raise SignatureError(f"token does not match ({_where(entry)})")
        stamp = None
    else:
        texts, stamps = _split(entry, value)
        sigs = [crypto.decode(t, entry.encoding) for t in texts]
        if any(s is None for s in sigs):
            raise _malformed(entry)
        stamp = _timestamp(entry, request, parsed, stamps)
        ts_value = stamp[0] if stamp else None
        if stamp is not None:  # malformed before any crypto
            try:
                parse_timestamp(stamp[0], entry.timestamp_format,
                                stamp[1] if entry.timestamp is None or not entry.timestamp.header
                                else f"{stamp[1]} header")
            except SignatureError:
                if entry.timestamp_from_list:
                    raise _malformed(entry) from None
                raise
        signed_id = entry.id.header if entry.id is not None else None  # what {id} is, whatever the overrides
        values = Values(request.body, dict(headers), method=request.method, url=request.url, timestamp=ts_value,
                        event_id=(headers.get(signed_id.lower()) or None) if signed_id else None,
                        parsed=parsed)
        try:
            content = entry.content.render(values)
        except Missing as e:
            raise SignatureError(str(e)) from None
        keys = _keys(entry, secrets)
        if not keys:
            raise SourceMisconfigured("no usable secret is configured for this source")
        size = _DIGEST_SIZES.get(entry.algorithm)
        if size and any(s is not None and len(s) != size for s in sigs):  # an HMAC of another length never matches
            raise _malformed(entry)
        if not crypto.matches(entry.algorithm, keys, content, [s for s in sigs if s is not None]):
            raise SignatureError(f"signature does not match ({_where(entry)})")
    tolerance = tolerance_seconds or entry.tolerance_seconds
    if stamp is not None:
        ts = parse_timestamp(stamp[0], entry.timestamp_format, stamp[1])
        # Both directions: a far-future timestamp would otherwise stay replayable for longer.
        if abs(now - ts) > tolerance:
            raise SignatureError(f"timestamp {stamp[0]} is outside the {tolerance} s tolerance ({stamp[1]})")
    if not describe:
        return Verified(None, None, False, stamp is not None and signs_timestamp(entry))
    return _describe(entry, request, parsed, stamp is not None, (id_header, id_path), (type_header, type_path))


def _first(locations: tuple[Location | None, ...], headers: Mapping[str, str],
           parsed: _Parsed) -> tuple[str | None, str]:
    for loc in locations:
        if loc is not None:
            value, found = _lookup(loc, headers, parsed)
            if value is not None:
                return value, found
    return None, ""


@lru_cache(maxsize=256)
def _override(header: str | None, path: str | None) -> Location | None:
    # A source's overrides (a handful per configuration): compiled once, not per request.
    if not header and not path:
        return None
    try:
        compiled = jmespath.compile(path) if path else None
    except JMESPathError:  # `hookline validate` names it; a request must not turn it into a 5xx
        compiled = None
    return Location(header, path, compiled)


def _describe(entry: Provider, request: Request, parsed: _Parsed, stamped: bool,
              id_at: tuple[str | None, str | None], type_at: tuple[str | None, str | None]) -> Verified:
    content = entry.content
    signs = entry.algorithm != "token"
    value, found = _first((_override(*id_at), entry.id), request.headers, parsed)
    event_id, signed = None, False
    if value is not None:
        if found == "path":
            signed = signs and (content.uses("body") or content.uses("form_sorted"))
        else:  # a header is signed when the content names it, as itself or as the entry's {id}
            own = entry.id is not None and (entry.id.header or "").lower() == found
            signed = signs and ((content.uses("id") and own) or ("header", found) in content.parts)
        event_id = value if len(value) <= MAX_ID_LENGTH and _PRINTABLE.fullmatch(value) else (
            "sha256:" + hashlib.sha256(value.encode()).hexdigest())
    value, _ = _first((_override(*type_at), entry.type), request.headers, parsed)
    event_type = value[:MAX_ID_LENGTH] if value else None
    return Verified(event_id, event_type, signed, stamped and signs_timestamp(entry))


def identify(entry: Provider, request: Request, *, id_path: str | None = None, type_path: str | None = None,
             id_header: str | None = None, type_header: str | None = None,
             parsed_body: object = None) -> Verified:
    """The event id and type `entry` reads from `request`, without checking its signature (`hookline map try`).
    `parsed_body`: the body as the caller parsed it (a source's `format`), instead of the engine's JSON-or-form."""
    return _describe(entry, request, _Parsed(request.body, parsed_body), False, (id_header, id_path),
                     (type_header, type_path))


def signs_timestamp(entry: Provider) -> bool:
    """Whether the entry's signature covers a timestamp the engine checks: a captured request then expires."""
    if entry.algorithm == "token" or entry.algorithm in CODE:
        return False
    ts = entry.timestamp
    # A timestamp in the body is signed with the body, or as its own {field:...} (Mailgun's signature.timestamp).
    in_body = ts is not None and ts.header is None and (
        entry.content.uses("body") or any(kind == "field" and arg[0] == ts.path for kind, arg in entry.content.parts))
    return (entry.timestamp is not None or entry.timestamp_from_list) and (entry.content.uses("timestamp") or in_body)


# ---------------------------------------------------------------- signing


def _format_time(now: float, fmt: str) -> str:
    if fmt == "unix-ms":
        return str(int(now * 1000))
    if fmt == "iso8601":
        return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(int(now))


def sign(entry: Provider, secret: str, request: Request, *, now: float) -> dict[str, str]:
    """The headers a sender of `entry` attaches to `request` (HMAC and token kinds; a PEM private key for
    public-key kinds). Our signer: tests of a provider prove it with the provider's SDK, never with this."""
    if not secret:
        raise ValueError("cannot sign with an empty secret")
    if entry.algorithm in CODE:
        raise ValueError(f"{entry.name} messages are signed by the provider's own keys: send real ones")
    if not entry.header:
        raise ValueError(f"{entry.name} carries its signature in the {_where(entry)}, not a header: "
                         "sign it the provider's way")
    if entry.timestamp is not None and entry.timestamp.header is None:
        raise ValueError(f"{entry.name} takes its timestamp from the body ({entry.timestamp.path}): "
                         "put it there and sign the provider's way")
    added: dict[str, str] = {}
    ts = _format_time(now, entry.timestamp_format) if (entry.timestamp or entry.timestamp_from_list) else None
    if entry.timestamp is not None and entry.timestamp.header:
        added[entry.timestamp.header] = ts or ""
    event_id = None
    if entry.id is not None and entry.id.header:
        event_id = request.headers.get(entry.id.header.lower()) or f"msg_{uuid.uuid4().hex}"
        added[entry.id.header] = event_id
    if entry.algorithm == "token":
        added[entry.header] = entry.prefix + secret
        return added
    headers = dict(request.headers) | {k.lower(): v for k, v in added.items()}
    values = Values(request.body, headers, method=request.method, url=request.url, timestamp=ts, event_id=event_id,
                    parsed=_Parsed(request.body))
    try:
        content = entry.content.render(values)
    except Missing as e:
        raise ValueError(f"cannot sign as {entry.name}: {e}") from None
    if entry.algorithm in ASYMMETRIC:
        raw = crypto.sign_private(entry.algorithm, secret, content)
    else:
        key = crypto.symmetric_key(secret, entry.key)
        if key is None:
            raise ValueError(f"the secret is not a usable {entry.key} key for {entry.name}")
        raw = crypto.hmac_digest(entry.algorithm, key, content)
    sig = crypto.encode(raw, entry.encoding)
    lst = entry.list
    if lst is None:
        value = sig
    else:
        value = f"{lst.signature_key}{lst.kv}{sig}"
        if entry.timestamp_from_list and lst.timestamp_key:
            value = f"{lst.timestamp_key}{lst.kv}{ts}{lst.separator}{value}"
    added[entry.header] = entry.prefix + value
    return added
