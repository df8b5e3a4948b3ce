"""The soak run's bookkeeping: what each (event, route) should end as, the verdict, the latency table.

Pure functions over what the run observed, so the counting itself is unit-tested
(tests/e2e/test_soak.py) apart from the 2-minute run.

An expectation is one of:
- `delivered`: exactly one 2xx at its destination, and no DLQ entry;
- `dlq:<reason>`: exactly one DLQ entry with that reason, and no 2xx;
- `stale`: no 2xx, no DLQ entry, and the event log says `stale` (a version older than one delivered);
- `delivered|stale`: either, when the run cannot tell which copy ingress accepted first;
- `at_most_once`: a sync record's intermediate version, which a run may or may not have seen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

DELIVERED, STALE, EITHER, AT_MOST_ONCE = "delivered", "stale", "delivered|stale", "at_most_once"


def dlq(reason: str) -> str:
    return f"dlq:{reason}"


@dataclass
class Verdict:
    pairs: int = 0
    delivered: int = 0
    stale: int = 0
    dead_as_expected: int = 0
    lost: list[str] = field(default_factory=list)  # should have been delivered: no 2xx, no DLQ entry
    duplicated: list[str] = field(default_factory=list)  # more than one 2xx
    unexpected_dlq: list[str] = field(default_factory=list)  # in the DLQ, or for another reason, or twice
    missing_dlq: list[str] = field(default_factory=list)  # should be in the DLQ and is not
    delivered_unexpectedly: list[str] = field(default_factory=list)  # a 2xx for a pair that should have none
    not_stale: list[str] = field(default_factory=list)  # should be stale; the event log says otherwise
    unknown: list[str] = field(default_factory=list)  # a 2xx or DLQ entry for a pair the run never sent

    def problems(self) -> dict[str, list[str]]:
        return {name: keys for name, keys in (
            ("lost", self.lost), ("duplicated", self.duplicated), ("unexpected DLQ entries", self.unexpected_dlq),
            ("missing from the DLQ", self.missing_dlq), ("delivered but should not be", self.delivered_unexpectedly),
            ("not stale", self.not_stale), ("never sent", self.unknown)) if keys}


def judge(expected: dict[str, str], effects: dict[str, int], dead: dict[str, list[str]],
          statuses: dict[str, str]) -> Verdict:
    """`effects`: key -> 2xx answers at the destination; `dead`: key -> DLQ reasons (one per entry);
    `statuses`: key -> the event log's status. Keys are `<event id>:<route>` (the Idempotency-Key)."""
    v = Verdict(pairs=len(expected))
    for key, want in sorted(expected.items()):
        hits, reasons, status = effects.get(key, 0), dead.get(key, []), statuses.get(key)
        if hits > 1:
            v.duplicated.append(key)
        if want.startswith("dlq:"):
            if hits:
                v.delivered_unexpectedly.append(key)
            if not reasons:
                v.missing_dlq.append(key)
            elif reasons != [want[4:]]:
                v.unexpected_dlq.append(key)
            else:
                v.dead_as_expected += 1
            continue
        if reasons:
            v.unexpected_dlq.append(key)
        if want == STALE:
            if hits:
                v.delivered_unexpectedly.append(key)
            elif status != STALE:
                v.not_stale.append(key)
            else:
                v.stale += 1
        elif want in (DELIVERED, EITHER):
            if hits:
                v.delivered += 1
            elif want == EITHER and status == STALE:
                v.stale += 1
            elif not reasons:
                v.lost.append(key)
        elif hits:  # AT_MOST_ONCE
            v.delivered += 1
    v.unknown = sorted(k for k in {*effects, *dead} if k not in expected)
    return v


def out_of_order(deliveries: Iterable[tuple[str, int]]) -> list[str]:
    """(record key, version) in the order the destination received them: keys whose versions did not rise."""
    last: dict[str, int] = {}
    bad: list[str] = []
    for key, version in deliveries:
        if key in last and version <= last[key] and key not in bad:
            bad.append(key)
        last[key] = max(version, last.get(key, version))
    return bad


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)) - 1, 0)]


@dataclass
class Minute:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, every delivered pair sent this minute
    healthy: list[float] = field(default_factory=list)  # the same, to the destinations that never fail
    erp: set[str] = field(default_factory=set)  # the down destination's states during the minute
    rss_mb: float | None = None  # the dev process's RSS at the end of the minute


def latency_table(minutes: dict[int, Minute]) -> list[str]:
    def cell(values: list[float], p: float) -> str:
        return f"{percentile(values, p):.2f}" if values else "-"

    lines = ["  minute  sent  delivered  p50 s  p95 s  p95 s (healthy dest.)  erp          RSS MB"]
    for m in sorted(minutes):
        row = minutes[m]
        rss = f"{row.rss_mb:.0f}" if row.rss_mb is not None else "-"
        lines.append(f"  {m + 1:>6}  {row.sent:>4}  {len(row.latencies):>9}  {cell(row.latencies, 0.5):>5}  "
                     f"{cell(row.latencies, 0.95):>5}  {cell(row.healthy, 0.95):>21}  "
                     f"{'+'.join(sorted(row.erp)) or '-':<11}  {rss:>6}")
    return lines


def by_minute(pairs: Iterable[tuple[float, float | None, bool]], t0: float) -> dict[int, Minute]:
    """(sent at, first 2xx at or None, to a healthy destination) -> per-minute rows (sent counts events elsewhere)."""
    minutes: dict[int, Minute] = defaultdict(Minute)
    for sent_at, done_at, healthy in pairs:
        row = minutes[int((sent_at - t0) // 60)]
        if done_at is not None:
            row.latencies.append(done_at - sent_at)
            if healthy:
                row.healthy.append(done_at - sent_at)
    return minutes
