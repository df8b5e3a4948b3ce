"""The soak run, 2 minutes, inside the default suite; `make soak` runs 15 (SOAK_MINUTES=N).

In the 2-minute run the erp destination is down from 30 s to 60 s (503 for 15 s, then refused
connections for 15 s): `Plan.outage_seconds` never goes under 30 s, where 2/15 of the run would be 16 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import report
from tests.e2e.soak import Figures, Plan, Sent, run
from tests.e2e.soak_count import AT_MOST_ONCE, DELIVERED, EITHER, STALE, dlq, judge, out_of_order, percentile
from tests.support.soak_receivers import ANSWER_503, REFUSE, UP


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_two_minutes_of_mixed_traffic_lose_nothing_duplicate_nothing_and_dead_letter_only_the_refused(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # Given every source scheme, every transform form, an ordered versioned route and a sync each minute,
    # with the erp destination down for 30 s and the ledger answering 429 to half its first requests
    plan = Plan(minutes=2)
    assert (plan.outage_start, plan.outage_seconds) == (30.0, 30.0)
    # When two minutes of steady traffic go through `hookline dev` and the queues drain
    figures = run(plan, tmp_path, log=lambda _line: None)
    for line in figures.lines():
        report(request, line)
    # Then the outage and the throttling really happened, the sync delivered, stale versions were caught
    assert figures.answers["erp"].get(503, 0) > 0 and figures.erp_refused > 0
    assert figures.answers["ledger"].get(429, 0) > 0
    assert figures.synced_versions > 0
    assert figures.verdict.stale > 0 and figures.dlq_reasons.get("permanent_http", 0) > 0
    # And every pair ended as its destination dictates, with nothing else in the DLQ
    figures.check()


def test_the_outage_is_503_then_refused_then_over() -> None:
    plan = Plan(minutes=15)
    assert (plan.outage_start, plan.outage_seconds) == (225.0, 120.0)
    assert [plan.erp_mode(t) for t in (224, 225, 284, 285, 344, 345)] == [UP, ANSWER_503, ANSWER_503, REFUSE,
                                                                          REFUSE, UP]


def test_the_verdict_names_every_way_a_pair_can_go_wrong() -> None:
    expected = {"ok:r": DELIVERED, "twice:r": DELIVERED, "lost:r": DELIVERED, "dead:r": DELIVERED,
                "refused:r": dlq("permanent_http"), "refused-but-sent:r": dlq("permanent_http"),
                "wrong-reason:r": dlq("permanent_http"), "not-dead:r": dlq("permanent_http"),
                "old:r": STALE, "old-sent:r": STALE, "old-not-stale:r": STALE,
                "either:r": EITHER, "maybe:r": AT_MOST_ONCE, "maybe-dead:r": AT_MOST_ONCE}
    effects = {"ok:r": 1, "twice:r": 2, "refused-but-sent:r": 1, "old-sent:r": 1, "stranger:r": 1}
    dead = {"dead:r": ["retries_exhausted"], "refused:r": ["permanent_http"],
            "refused-but-sent:r": ["permanent_http"], "wrong-reason:r": ["mapping"],
            "maybe-dead:r": ["mapping"], "ghost:r": ["mapping"]}
    statuses = {"old:r": "stale", "old-not-stale:r": "delivered", "either:r": "stale"}
    v = judge(expected, effects, dead, statuses)
    assert v.problems() == {
        "lost": ["lost:r"],
        "duplicated": ["twice:r"],
        "unexpected DLQ entries": ["dead:r", "maybe-dead:r", "wrong-reason:r"],
        "missing from the DLQ": ["not-dead:r"],
        "delivered but should not be": ["old-sent:r", "refused-but-sent:r"],
        "not stale": ["old-not-stale:r"],
        "never sent": ["ghost:r", "stranger:r"],
    }
    assert (v.delivered, v.stale, v.dead_as_expected) == (2, 2, 2)


def test_a_clean_run_has_no_problems() -> None:
    v = judge({"a:r": DELIVERED, "b:r": dlq("mapping"), "c:r": STALE, "d:r": AT_MOST_ONCE},
              {"a:r": 1}, {"b:r": ["mapping"]}, {"c:r": "stale", "a:r": "delivered"})
    assert v.problems() == {} and (v.delivered, v.stale, v.dead_as_expected) == (1, 1, 1)


def test_a_pair_dead_lettered_twice_is_unexpected() -> None:
    v = judge({"b:r": dlq("mapping")}, {}, {"b:r": ["mapping", "mapping"]}, {})
    assert v.problems() == {"unexpected DLQ entries": ["b:r"]}


def test_versions_must_rise_per_record() -> None:
    assert out_of_order([("a", 1), ("b", 1), ("a", 2), ("b", 3), ("b", 2), ("a", 2), ("b", 4)]) == ["b", "a"]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([7.0], 0.95)) == (50.0, 95.0, 7.0)


def test_memory_growth_past_the_bound_fails_the_run() -> None:
    figures = Figures(Plan(minutes=2), events=[Sent(i, "app", f"e{i}", b"", {}) for i in range(100)])
    figures.rss = {"ready": 200.0, "minute 1": 260.0, "end": 317.0}  # bound: 32 + 0.25 * 100 = 57 MB
    assert figures.problems() == []
    figures.rss["end"] = 318.0
    assert figures.problems() == ["the dev process's RSS grew 58 MB after the first minute, over the 57 MB "
                                  "allowed (0.25 MB per event + 32 MB)"]
