"""Redaction of what hookline keeps of a sender's request: secret-looking keys and card numbers in a JSON
body, and credential headers. One owner for the runtime (the event archive, core/archive.py) and the
operators' tools (operations/redaction.py: `dlq show`, `dlq replay --dry-run`, the console), so an
archived event is redacted exactly as a DLQ entry is shown. Iterative: a body nested thousands deep
must not exhaust the stack.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
