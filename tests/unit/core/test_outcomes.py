"""Outcome classification: what each status or transport error means for the delivery."""

from __future__ import annotations

import pytest

from hookline.core import outcomes
from hookline.core.outcomes import Verdict, classify, classify_error, classify_status


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status).verdict is Verdict.DELIVERED
    assert classify(status).delivered


@pytest.mark.parametrize("status", [408, 425, 429, 500, 501, 502, 503, 504, 599])
def test_408_425_429_and_5xx_are_retried(status: int) -> None:
    outcome = classify_status(status)
    assert outcome.verdict is Verdict.RETRY
    assert outcome.reason == f"http_{status}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 426, 431, 499])
def test_other_4xx_are_permanent(status: int) -> None:
    outcome = classify_status(status)
    assert outcome.verdict is Verdict.PERMANENT
    assert outcome.reason == outcomes.PERMANENT_HTTP


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed_and_are_permanent(status: int) -> None:
    assert classify_status(status).permanent


@pytest.mark.parametrize("status", [100, 199, 600, 999])
def test_unexpected_statuses_are_retried_not_lost(status: int) -> None:
    assert classify_status(status).retryable


@pytest.mark.parametrize("kind", [outcomes.TIMEOUT, outcomes.CONNECTION, outcomes.OAUTH, outcomes.SECRET])
def test_transport_failures_are_retried(kind: str) -> None:
    outcome = classify(None, kind)
    assert outcome.retryable and outcome.reason == kind


def test_an_unbuildable_request_is_a_permanent_config_problem() -> None:
    outcome = classify_error(outcomes.INVALID_REQUEST)
    assert outcome.permanent and outcome.reason == outcomes.CONFIG


def test_a_status_wins_over_an_error_kind() -> None:
    assert classify(200, outcomes.TIMEOUT).delivered


def test_an_attempt_needs_a_status_or_an_error() -> None:
    with pytest.raises(ValueError):
        classify(None, None)


def test_dead_letter_reasons_are_a_small_closed_vocabulary() -> None:
    assert len(set(outcomes.DLQ_REASONS)) == len(outcomes.DLQ_REASONS) == 9
    assert {"permanent_http", "retries_exhausted", "mapping", "schema", "config", "payload_missing"} <= set(
        outcomes.DLQ_REASONS)
    # Permanent outcomes only ever carry a DLQ reason
    for status in range(100, 700):
        outcome = classify_status(status)
        if outcome.permanent:
            assert outcome.reason in outcomes.DLQ_REASONS
