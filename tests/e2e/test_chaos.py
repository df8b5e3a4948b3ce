"""The chaos run, reduced (60 events), inside the default suite; `make chaos` runs 1,000."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.chaos import Settings, receive_gaps, run
from tests.e2e.helpers import report

SEED = 20261128


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_sixty_events_under_faults_lose_nothing_and_duplicate_nothing(tmp_path: Path,
                                                                      request: pytest.FixtureRequest) -> None:
    # Given 60 events over five sources, sent 1-3 times, to a receiver failing 30% of the time,
    # with AWS errors at ingress and deliver invocations killed before their acknowledgement
    settings = Settings(events=60, seed=SEED)
    # When they go through `hookline dev`, and the DLQ is replayed once the receiver is healthy
    figures = run(settings, tmp_path, log=lambda _line: None)
    for line in figures.lines():
        report(request, line)
    # Then faults really happened, every event was accepted once, no pair was lost or applied twice, none
    # both delivered and dead-lettered or dead-lettered twice, and after the replay every pair that is not
    # refused for good was applied exactly once
    assert sum(figures.receiver_faults.values()) > 0 and figures.process_faults["ingress_error"] > 0
    assert figures.delivered > 0 and figures.concurrent_events > 0
    figures.check()
    # And the pollers' batch log was written (the run counts receives that reached no batch from it)
    assert figures.batches >= 1


def test_receive_gaps_count_receives_outside_batches_and_messages_back_after_their_ack() -> None:
    batches = [
        {"at": 1, "killed": False, "messages": [["a", 1], ["b", 1]], "failed": ["a"]},  # a retries, b acked
        {"at": 2, "killed": True, "messages": [["a", 2]], "failed": ["a"]},  # killed: comes back
        {"at": 5, "killed": False, "messages": [["a", 4], ["c", 2]], "failed": []},  # a's receive 3, c's 1: no batch
        {"at": 9, "killed": False, "messages": [["b", 2]], "failed": []},  # b again after its acknowledgement
    ]
    assert receive_gaps(batches) == (2, ["b"])
