"""The readable lines `hookline dev` prints: one per request received and per delivery attempt.

    12:00:01 ← github d-123 202 accepted (routes: issues-to-crm) 41 ms
    12:00:01 → issues-to-crm d-123 attempt 1: 500 in 12 ms, retry in 1 s
    12:00:03 → issues-to-crm d-123 attempt 3: dead-lettered (retries_exhausted): HTTP 500

Delivery lines come from the event log (EVENTS_TABLE), read after each batch: each
attempt there is printed once, so this stays independent of the delivery engine's code.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from typing import Any, TextIO

from hookline.local.gateway import Exchange
from hookline.local.poller import BatchResult

IN = "←"
OUT = "→"
TIMER = "⏰"


# C0/C1 controls, DEL, Unicode line/paragraph separators and bidi overrides: a request path or header
# carrying them (%0d%0a, ...) could otherwise end a console line early and forge the next one.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` on one line, every control character shown as an escape (\\r, \\x1b, \\u2028)."""
    def escape(m: re.Match[str]) -> str:
        c = m.group()
        named = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}
        if c in named:
            return named[c]
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"

    return _UNSAFE.sub(escape, text)


def _before(attempt: dict[str, Any], when: float | None) -> bool:
    at = attempt.get("at")
    if when is None:
        return False
    try:
        return float(at) < when  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _ms(value: Any) -> str:
    return f"{float(value):.0f} ms" if isinstance(value, int | float) else "? ms"


class Console:
    def __init__(self, events: Any = None, out: TextIO | None = None, *, show_traces: bool = True) -> None:
        self.events = events  # hookline.adapters.aws.stores.EventLog, or None before the stack exists
        self.out = out or sys.stdout
        self.show_traces = show_traces
        self._seen: dict[tuple[str, str], int] = {}
        # With a restored state: attempts made before this moment were printed by the last run.
        self.printed_before: float | None = None
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def stamp(self, text: str) -> None:
        """One console line: whatever `text` holds (paths, sources, errors from requests) stays on it."""
        self.line(f"{_clock()} {printable(text)}")

    def block(self, text: str) -> None:
        """Several lines (a traceback): each is made printable, the line breaks are kept."""
        self.line("\n".join(printable(part) for part in text.rstrip().split("\n")))

    # -- requests through the gateway
    def request(self, ex: Exchange) -> None:
        source = ex.path_parameters.get("source")
        try:
            body = json.loads(ex.body) if ex.body else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if source is None or ex.route is None or "message" in body:  # API Gateway's own answer
            what = body.get("message") or body.get("error") or ""
            extra = f" ({ex.error})" if ex.error else ""
            self.stamp(f"{IN} {ex.method} {ex.path} {ex.status} {what}{extra}".rstrip())
            return
        event_id = body.get("id")
        status_word = body.get("status") or ("rejected" if 400 <= ex.status < 500 else
                                             "unavailable" if ex.status >= 500 else "")
        text = f"{IN} {source}{' ' + event_id if event_id else ''} {ex.status} {status_word}"
        if ex.status == 202 and event_id:
            routes = self._routes(event_id)
            if routes is not None:
                text += f" (routes: {', '.join(routes)})" if routes else " (no route matches: nothing to deliver)"
        elif body.get("error"):
            text += f": {body['error']}"
        if ex.error:
            text += f" [{ex.error}]"
        self.stamp(f"{text} {_ms(ex.duration_ms)}")

    def _routes(self, event_id: str) -> list[str] | None:
        if self.events is None:
            return None
        try:
            for item in self.events.get(event_id):
                if item.get("route") == "#event":
                    return list(item.get("routes") or [])
        except Exception:
            return None
        return None

    # -- delivery batches
    def batch(self, function: str, result: BatchResult) -> None:
        inv = result.invocation
        if not inv.ok:
            n = len(result.records)
            self.stamp(f"{OUT} {function} batch of {n} failed, nothing deleted (SQS redelivers after the visibility "
                       f"timeout): {inv.describe_error()}")
            if self.show_traces and inv.error_trace:
                self.block(inv.error_trace)
        elif result.problem:
            self.stamp(f"{OUT} {function}: {result.problem}")
        for record in result.records:
            self._record(record, record.get("messageId") in result.failed_ids)

    def _record(self, record: dict[str, Any], failed: bool) -> None:
        try:
            task = json.loads(record.get("body") or "")
            event_id, route = str(task["event_id"]), str(task["route"])
        except (ValueError, KeyError, TypeError):
            self.stamp(f"{OUT} message {record.get('messageId')}: not a delivery task "
                       f"({'failed' if failed else 'dead-lettered or dropped by the function'})")
            return
        item = self._route_item(event_id, route)
        if item is None:
            return
        attempts = list(item.get("attempts") or [])
        key = (event_id, route)
        with self._lock:
            seen = self._seen.get(key, sum(1 for a in attempts if _before(a, self.printed_before)))
            self._seen[key] = len(attempts)
        new = attempts[seen:]
        for i, attempt in enumerate(new, start=seen + 1):
            last = i == len(attempts)
            self.stamp(f"{OUT} {route} {event_id} attempt {i}: {self._describe(attempt, item if last else None)}")
        if not new and item.get("status") in ("stale", "held"):  # records: not sent, and not an attempt
            self.stamp(f"{OUT} {route} {event_id}: {item['status']}: {item.get('last_error') or ''}".rstrip(": "))
        if not new and item.get("status") == "delivered" and not failed and seen == 0:
            self.stamp(f"{OUT} {route} {event_id}: already delivered (duplicate message, nothing sent)")

    def _route_item(self, event_id: str, route: str) -> dict[str, Any] | None:
        if self.events is None:
            return None
        try:
            for item in self.events.get(event_id):
                if item.get("route") == route:
                    return item
        except Exception:
            return None
        return None

    @staticmethod
    def _describe(attempt: dict[str, Any], item: dict[str, Any] | None) -> str:
        code = attempt.get("status_code")
        outcome = attempt.get("outcome")
        error = attempt.get("error")
        result = f"{code} in {_ms(attempt.get('latency_ms'))}" if code is not None else (error or "no response")
        if outcome == "delivered":
            return f"{result}, delivered"
        status = (item or {}).get("status")
        if status == "dead" or (item is None and outcome == "permanent"):
            reason = (item or {}).get("reason") or outcome
            return f"{result}, dead-lettered: {reason}"
        if status == "retrying" and isinstance(attempt.get("retry_in"), int | float):
            return f"{result}, retry in {round(attempt['retry_in'])} s"
        if status == "retrying" and item and isinstance(item.get("next_attempt_at"), int | float):
            # An attempt recorded before retry_in existed: what is left of its wait.
            delay = max(0, round(item["next_attempt_at"] - time.time()))
            return f"{result}, retry in {delay} s"
        return f"{result}, {outcome or status or 'failed'}"

    # -- schedules
    def scheduled(self, name: str, inv: Any, kind: str) -> None:
        if inv.ok:
            result = json.dumps(inv.result, default=str)
            result = result if len(result) <= 160 else result[:157] + "..."
            self.stamp(f"{TIMER} {name} ({kind}) ran in {_ms(inv.duration_ms)}: {result}")
        else:
            self.stamp(f"{TIMER} {name} ({kind}) failed: {inv.describe_error()}")
            if self.show_traces and inv.error_trace:
                self.block(inv.error_trace)
