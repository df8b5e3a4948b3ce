"""What an operator is shown of a stored body: secrets redacted, JSON pretty-printed, at any depth.

`hookline dlq show`, `dlq replay --dry-run` and the console show the same redaction. The bodies come
from senders, and some were stored before ingress capped JSON depth (a DLQ entry, kept 14 days): a
body nested thousands deep must not crash the reader, so nothing here recurses. json.dumps stays the
printer (its output is what users know); an iterative printer of the same format takes over for a
value nested deeper than PRETTY_DEPTH.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hookline.core.depth import deeper_than
from hookline.observability import SENSITIVE_HEADERS

_SECRET_KEY_PARTS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey",
                     "authorization", "credential", "privatekey", "signature", "cardnumber", "creditcard",
                     "securitycode", "cookie", "sessionid", "clientsecret")
_SECRET_KEYS_EXACT = frozenset({"pin", "cvv", "cvc", "cvv2", "ssn", "pan", "iban", "auth", "jwt"})
_DIGITS = re.compile(r"^[\d -]{13,23}$")
REDACTED = "***"


def is_secret_key(name: str) -> bool:
    """'api_key', 'X-Auth-Token', 'card_number', 'cvv' -> True; 'author', 'title' -> False."""
    norm = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return norm in _SECRET_KEYS_EXACT or any(part in norm for part in _SECRET_KEY_PARTS)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _looks_like_card(value: str) -> bool:
    if not _DIGITS.match(value):
        return False
    digits = re.sub(r"\D", "", value)
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _leaf(value: Any) -> Any:
    if isinstance(value, str) and _looks_like_card(value):
        return REDACTED + re.sub(r"\D", "", value)[-4:]
    return value


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-looking keys' values and card numbers replaced by ***."""
    if not isinstance(value, dict | list):
        return _leaf(value)
    root: Any = {} if isinstance(value, dict) else []
    # (source container, its copy): each container is copied once, children pushed instead of recursed into.
    pending = [(value, root)]
    while pending:
        source, copy = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in items:
            if isinstance(source, dict) and is_secret_key(key) and child not in (None, ""):
                out: Any = REDACTED
            elif isinstance(child, dict | list):
                out = {} if isinstance(child, dict) else []
                pending.append((child, out))
            else:
                out = _leaf(child)
            if isinstance(copy, dict):
                copy[key] = out
            else:
                copy.append(out)
    return root


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Sensitive headers (observability.SENSITIVE_HEADERS) and any secret-looking name."""
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS or is_secret_key(k) else v) for k, v in headers.items()}


def redact_text(text: str) -> Any:
    """A body as stored: JSON is parsed and redacted; other text (or JSON too deep for the decoder) is
    returned as is."""
    try:
        return redact(json.loads(text))
    except (ValueError, RecursionError):
        return text


def pretty_json(value: Any, sort_keys: bool = False, ensure_ascii: bool = False) -> str:
    """json.dumps(value, indent=2, ensure_ascii=False, default=str), at any depth: levels below PRETTY_DEPTH
    are printed on one line, as json.dumps without indent prints them."""
    if isinstance(value, dict | list) and deeper_than(value, PRETTY_DEPTH):
        return _pretty_iterative(value, sort_keys, ensure_ascii)
    return json.dumps(value, indent=2, ensure_ascii=ensure_ascii, default=str, sort_keys=sort_keys)


# Indented levels: the text grows with the square of the depth (3,000 levels of a 6 KB body would be 9 MB).
PRETTY_DEPTH = 64


def _pretty_iterative(value: Any, sort_keys: bool, ensure_ascii: bool) -> str:
    def _scalar(leaf: Any) -> str:
        return json.dumps(leaf, ensure_ascii=ensure_ascii, default=str)

    out: list[str] = []
    # Work items: ("value", v, depth) prints v; ("text", s, _) prints s as is.
    todo: list[tuple[str, Any, int]] = [("value", value, 0)]
    while todo:
        kind, item, depth = todo.pop()
        if kind == "text":
            out.append(item)
            continue
        if not isinstance(item, dict | list):
            out.append(_scalar(item))
            continue
        if not item:
            out.append("{}" if isinstance(item, dict) else "[]")
            continue
        indented = depth < PRETTY_DEPTH
        inner = "\n" + "  " * (depth + 1) if indented else ""
        outer = "\n" + "  " * depth if indented else ""
        comma = "," if indented else ", "
        if isinstance(item, dict):
            pairs = sorted(item.items()) if sort_keys else list(item.items())
            opening, closing = "{", outer + "}"
            children = [(f"{inner}{_scalar(str(k))}: ", v) for k, v in pairs]
        else:
            opening, closing = "[", outer + "]"
            children = [(inner, v) for v in item]
        out.append(opening)
        todo.append(("text", closing, depth))
        for i in range(len(children) - 1, -1, -1):  # pushed last first: popped in order
            prefix, child = children[i]
            if i < len(children) - 1:
                todo.append(("text", comma, depth))
            todo.append(("value", child, depth + 1))
            todo.append(("text", prefix, depth))
    return "".join(out)
