"""What an operator is shown of a stored body: secrets redacted, JSON pretty-printed, at any depth.

`hookline dlq show`, `dlq replay --dry-run` and the console show the same redaction. The bodies come
from senders, and some were stored before ingress capped JSON depth (a DLQ entry, kept 14 days): a
body nested thousands deep must not crash the reader, so nothing here recurses. json.dumps stays the
printer (its output is what users know); an iterative printer of the same format takes over for a
value nested deeper than PRETTY_DEPTH. The redaction itself is core/redaction.py's, shared with the
event archive, which applies it at run time.
"""

from __future__ import annotations

import json
from typing import Any

from hookline.core.depth import deeper_than
from hookline.core.redaction import REDACTED, is_secret_key, redact, redact_headers, redact_text

__all__ = ["REDACTED", "is_secret_key", "pretty_json", "redact", "redact_headers", "redact_text"]


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
