"""How deep a parsed JSON value nests, without recursion (the value may be thousands of levels deep).

Its own module, free of the parsers' imports: the CLI's printers use it too (operations/redaction.py).
"""

from __future__ import annotations

from typing import Any


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects (lists and dicts) nest more than `limit` levels; a scalar is level 0."""
    if not isinstance(value, dict | list):
        return False
    if limit < 1:
        return True
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False
