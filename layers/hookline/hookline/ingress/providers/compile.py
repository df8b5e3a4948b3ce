"""Read one catalog entry (catalog/<name>.toml), check every key, and compile it once.

An entry is data a contributor writes; a mistake in it must name the file and the key, at load,
not surface as a 401 on the provider's first delivery.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from hookline.ingress.providers.content import Template, compile_template

# Code, not data: verified by ingress's own module for it (SNS: ingress/sns.py, its certificate check).
CODE = ("sns",)
ALGORITHMS = ("hmac-sha1", "hmac-sha256", "hmac-sha512", "ed25519", "ecdsa-p256-sha256", "rsa-sha256",
              "rsa-sha1", "token", *CODE)
ASYMMETRIC = ("ed25519", "ecdsa-p256-sha256", "rsa-sha256", "rsa-sha1")
ENCODINGS = ("hex", "base64", "base64url")
SYMMETRIC_KEYS = ("utf8", "base64", "hex", "whsec")
PUBLIC_KEYS = ("pem", "hex", "base64")
TIME_FORMATS = ("unix", "unix-ms", "iso8601")
NAME = re.compile(r"[a-z0-9-]+")

_TOP = {"title", "docs", "setup", "secret", "proof", "proof_url", "notes", "signature", "timestamp", "id", "type",
        "handshake", "response"}
_RESPONSE = {"status", "body"}
RESPONSE_BODIES = ("json", "empty")
_SIGNATURE = {"algorithm", "header", "path", "query", "prefix", "encoding", "content", "key", "list"}
_LIST = {"separator", "kv", "signature_key", "timestamp_key"}
_TIMESTAMP = {"header", "from_list", "path", "format", "tolerance_seconds"}
_LOCATION = {"header", "path"}


class ProviderError(Exception):
    """An unknown provider, or a catalog entry that is not valid (the message names the file and key)."""


@dataclass(frozen=True)
class ListFormat:
    separator: str
    kv: str
    signature_key: str
    timestamp_key: str | None


@dataclass(frozen=True)
class Location:
    """A header (as the provider spells it) and/or a JMESPath over the parsed body; the first non-empty wins."""

    header: str | None = None
    path: str | None = None
    compiled: Any = None
    # Further headers tried in order after `header` (`header = ["A", "B"]`: Shopify's event id, then webhook id).
    more_headers: tuple[str, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        return ((self.header,) if self.header else ()) + self.more_headers


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    docs: str
    setup: str
    secret: str
    proof: str
    proof_url: str | None
    algorithm: str
    # Where the signature is: exactly one of these.
    header: str | None
    path: Location | None
    query: str | None
    prefix: str
    encoding: str
    content: Template
    key: str
    list: ListFormat | None
    timestamp: Location | None
    timestamp_from_list: bool
    timestamp_format: str
    tolerance_seconds: int
    id: Location | None
    type: Location | None
    handshake: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # [response]: what an accepted event (or a copy of one) is answered with, when the sender needs other than
    # hookline's 202 + JSON (Dropbox retries every non-200; Xero and Okta want 200 with nothing in it).
    response_status: int | None = None
    response_empty: bool = False

    @property
    def where(self) -> str:
        """Where the signature travels, as a user reads it in an error or `hookline sources`."""
        if self.header:
            return f"header {self.header}"
        if self.query:
            return f"query parameter {self.query}"
        return f"body field {self.path.path if self.path else '?'}"


_cache: dict[str, Provider] = {}
_lock = threading.Lock()


# A plain folder next to this module, in the layer as in the wheel (importlib.resources would add ~13 ms of
# import to every cold start for the same answer).
CATALOG = Path(__file__).resolve().parent / "catalog"


def catalog_files() -> dict[str, Path]:
    """{name: file} for every entry shipped in the package."""
    return {f.stem: f for f in CATALOG.glob("*.toml")}


def names() -> list[str]:
    return sorted(catalog_files())


def load(name: str) -> Provider:
    """The compiled entry `name`, read from the catalog on first use and kept for the process."""
    entry = _cache.get(name)
    if entry is not None:
        return entry
    with _lock:  # compile once even when several threads ask at once (hookline dev runs functions as threads)
        entry = _cache.get(name)
        if entry is None:
            entry = _cache[name] = _read(name)
    return entry


def _read(name: str) -> Provider:
    # lazy: tomllib is read only when a source uses a provider (ingress's cold start without one skips it).
    import tomllib

    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ProviderError(f"unknown provider {name!r}: provider names are lower-case letters, digits and '-'")
    resource = CATALOG / f"{name}.toml"
    if not resource.is_file():
        raise ProviderError(f"unknown provider {name!r}: no catalog/{name}.toml (`hookline sources` lists them)")
    where = f"catalog/{name}.toml"
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ProviderError(f"{where}: not valid TOML: {e}") from None
    return compile_entry(name, data, where)


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> ProviderError:
        return ProviderError(f"{self.where}: {key}: {message}")

    def table(self, data: dict[str, Any], key: str, allowed: set[str], required: bool = False) -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing (a [table] is required)")
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def text(self, data: dict[str, Any], key: str, label: str, required: bool = True,
             choices: tuple[str, ...] | None = None, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None:
            if required:
                raise self.fail(label, "missing (required)")
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(label, "must be a non-empty string")
        if choices and value not in choices:
            raise self.fail(label, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def location(self, data: dict[str, Any], key: str) -> Location | None:
        table = self.table(data, key, _LOCATION)
        if table is None:
            return None
        raw = table.get("header")
        headers = raw if isinstance(raw, list) else [raw] if raw is not None else []
        if not all(isinstance(h, str) and h for h in headers) or (isinstance(raw, list) and not raw):
            raise self.fail(f"{key}.header", "must be a header name, or a list of them (the first present wins)")
        path = self.text(table, "path", f"{key}.path", required=False)
        if not headers and not path:
            raise self.fail(key, "needs header and/or path")
        return Location(headers[0] if headers else None, path, self.jmespath(path, f"{key}.path"), tuple(headers[1:]))

    def jmespath(self, expr: str | None, label: str) -> Any:
        if not expr:
            return None
        try:
            return jmespath.compile(expr)
        except JMESPathError as e:
            raise self.fail(label, f"not a valid JMESPath expression: {e}") from None


def compile_entry(name: str, data: dict[str, Any], where: str | None = None) -> Provider:
    """Check and compile an entry's parsed TOML (also used by tests with an inline entry)."""
    r = _Reader(where or f"catalog/{name}.toml")
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise r.fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(_TOP))})")
    title, docs, setup, secret, proof = (r.text(data, k, k) for k in ("title", "docs", "setup", "secret", "proof"))
    proof_url = r.text(data, "proof_url", "proof_url", required=False)
    # proof: the SDK that signs in the entry's test, "published example" (the provider's own vector) or
    # "signing docs" (the documented recipe, computed with the standard library): the last two cite proof_url.
    if proof in ("published example", "signing docs") and not proof_url:
        raise r.fail("proof_url", f"{proof!r} needs the URL it comes from")
    sig = r.table(data, "signature", _SIGNATURE, required=True) or {}
    algorithm = r.text(sig, "algorithm", "signature.algorithm", choices=ALGORITHMS)
    spots = [k for k in ("header", "path", "query") if sig.get(k) is not None]
    if len(spots) != 1:
        raise r.fail("signature", "needs exactly one of header, path or query (where the signature is)")
    header = r.text(sig, "header", "signature.header", required=False)
    query = r.text(sig, "query", "signature.query", required=False)
    path_expr = r.text(sig, "path", "signature.path", required=False)
    path = Location(path=path_expr, compiled=r.jmespath(path_expr, "signature.path")) if path_expr else None
    prefix = r.text(sig, "prefix", "signature.prefix", required=False, default="") or ""
    token = algorithm == "token" or algorithm in CODE  # neither decodes a signature nor renders content
    encoding = r.text(sig, "encoding", "signature.encoding", required=not token, choices=ENCODINGS,
                      default="hex" if token else None)
    content_text = r.text(sig, "content", "signature.content", required=not token, default="{body}" if token else None)
    try:
        content = compile_template(content_text or "")
    except ValueError as e:
        raise r.fail("signature.content", str(e)) from None
    keys = PUBLIC_KEYS if algorithm in ASYMMETRIC else SYMMETRIC_KEYS
    key = r.text(sig, "key", "signature.key", choices=keys, default="pem" if algorithm in ASYMMETRIC else "utf8")
    lst = r.table(sig, "list", _LIST)
    list_format = None
    if lst is not None:
        list_format = ListFormat(
            separator=r.text(lst, "separator", "signature.list.separator"),
            kv=r.text(lst, "kv", "signature.list.kv"),
            signature_key=r.text(lst, "signature_key", "signature.list.signature_key"),
            timestamp_key=r.text(lst, "timestamp_key", "signature.list.timestamp_key", required=False))
        if list_format.separator == list_format.kv:
            raise r.fail("signature.list", "separator and kv must differ")

    ts = r.table(data, "timestamp", _TIMESTAMP)
    timestamp = None
    from_list = False
    fmt, tolerance = "unix", 300
    if ts is not None:
        from_list = ts.get("from_list", False)
        if not isinstance(from_list, bool):
            raise r.fail("timestamp.from_list", "must be true or false")
        t_header = r.text(ts, "header", "timestamp.header", required=False)
        t_path = r.text(ts, "path", "timestamp.path", required=False)
        if sum(map(bool, (from_list, t_header, t_path))) != 1:
            raise r.fail("timestamp", "needs exactly one of header, path or from_list = true")
        if from_list and (list_format is None or not list_format.timestamp_key):
            raise r.fail("timestamp.from_list", "needs signature.list.timestamp_key")
        if not from_list:
            timestamp = Location(t_header, t_path, r.jmespath(t_path, "timestamp.path"))
        fmt = r.text(ts, "format", "timestamp.format", choices=TIME_FORMATS, default="unix") or "unix"
        tolerance = ts.get("tolerance_seconds", 300)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 1 <= tolerance <= 86400:
            raise r.fail("timestamp.tolerance_seconds", "must be an integer from 1 to 86400")
    if content.uses("timestamp") and ts is None:
        raise r.fail("signature.content", "uses {timestamp} but the entry has no [timestamp] table")
    id_loc = r.location(data, "id")
    if content.uses("id") and (id_loc is None or not id_loc.header):
        raise r.fail("signature.content", "uses {id} but [id] names no header")
    handshake = r.table(data, "handshake", set(data.get("handshake") or {}) if isinstance(data.get("handshake"), dict)
                        else set())
    if handshake is not None:
        r.text(handshake, "kind", "handshake.kind")
    response = r.table(data, "response", _RESPONSE) or {}
    status = response.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 299):
        raise r.fail("response.status", "must be a 2xx status (an integer from 200 to 299)")
    body = r.text(response, "body", "response.body", required=False, choices=RESPONSE_BODIES, default="json")
    return Provider(
        name=name, title=title or name, docs=docs or "", setup=setup or "", secret=secret or "", proof=proof or "",
        proof_url=proof_url, algorithm=algorithm or "", header=header, path=path,
        query=query, prefix=prefix, encoding=encoding or "hex", content=content, key=key or "utf8",
        list=list_format, timestamp=timestamp, timestamp_from_list=from_list, timestamp_format=fmt,
        tolerance_seconds=tolerance, id=id_loc, type=r.location(data, "type"), handshake=handshake, raw=data,
        response_status=status, response_empty=body == "empty")
