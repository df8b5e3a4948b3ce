"""The same behaviours on each in-memory fake (tests/support/fakes.py) and on its adapter on moto, so they cannot drift.

Each test gets `ports`: the fakes sharing one MemoryTable, or the adapters on the deployed template's events
table, each under its own function's role (IAM enforced). The unit tests of the engine, ingress and sync rely on
the fakes; what those tests assume of a store is asserted here of both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.guard_store import GuardStore
from hookline.adapters.aws.stores import EventLog, PayloadStore
from hookline.adapters.aws.sync_state import SyncStore
from hookline.core.chains import CURRENT_CLAIMANT, AlreadyDeadLettered, ChainSuperseded, Claimant
from hookline.core.errors import PayloadMissing, QueueUnavailable
from tests.support.aging import together
from tests.support.fakes import (
    FakeClaimStore,
    FakeEventLog,
    FakeEventLogEntries,
    FakeGuardStore,
    FakePayloadStore,
    FakeSyncStateStore,
    MemoryTable,
)


@dataclass
class Ports:
    entries: Any  # ports.EventLogEntries
    events: Any  # ports.EventLog
    claims: Any  # ports.ClaimStore (and a Powertools persistence layer)
    sync: Any  # ports.SyncStateStore
    log: Any  # ports.EventLog as the readers (CLI, console) use it: the delivery role may not Query


@pytest.fixture(params=["fake", "moto"])
def ports(request: pytest.FixtureRequest) -> Iterator[Ports]:
    if request.param == "fake":
        table = MemoryTable()
        events = FakeEventLog(table)
        made = Ports(FakeEventLogEntries(table), events, FakeClaimStore(table), FakeSyncStateStore(table), events)
    else:
        stack = request.getfixturevalue("stack")
        ingress, deliver, sync = (stack.function(f) for f in ("IngressFunction", "DeliverFunction", "SyncFunction"))
        made = Ports(EventLogEntries(stack.events_table, client=ingress.ddb_client),
                     EventLog(stack.events_table, resource=deliver.ddb),
                     RouteClaims(stack.events_table, boto3_client=deliver.ddb_client),
                     SyncStore(sync.ddb.Table(stack.events_table)), EventLog(stack.events_table, resource=stack.ddb))
    made.claims.configure(IdempotencyConfig(expires_after_seconds=3600))
    yield made


def claim(p: Ports, event_id: str, token: str, *, now: float | None = None, window: float = 3600,
          digest: str | None = None, sha: str = "b1", guard_days: float = 0) -> dict[str, Any] | None:
    """With `guard_days`, the record is its own replay guard (an id derived from the signed bytes)."""
    now = time.time() if now is None else now
    guarded = {"guard_on_record": True, "guard_seconds": guard_days * 86400} if guard_days else {}
    return p.entries.claim(event_id=event_id, source="app", type="t", received_at=now, routes=["r1"],
                           queue_by=now + 30, token=token, window_start=now - window, digest=digest,
                           body_sha256=sha, **guarded)


# ---------------------------------------------------------------- the event log's `#event` entry


def test_the_first_writer_of_an_event_wins_and_copies_read_its_record(ports: Ports) -> None:
    assert claim(ports, "e1", "tok-a") is None
    earlier = claim(ports, "e1", "tok-b")
    assert earlier is not None and earlier["token"] == "tok-a" and earlier["routes"] == ["r1"]
    assert earlier["body_sha256"] == "b1" and earlier["source"] == "app"


def test_of_ten_concurrent_writers_exactly_one_records_the_event(ports: Ports) -> None:
    results = together(lambda i: claim(ports, "e10", f"tok-{i}", digest="d10"))
    assert sum(r is None for r in results) == 1


def test_the_same_signed_bytes_under_another_id_read_the_first_record(ports: Ports) -> None:
    assert claim(ports, "e1", "tok-a", digest="same-bytes") is None
    earlier = claim(ports, "e2", "tok-b", digest="same-bytes")
    assert earlier is not None and earlier["event_id"] == "e1"


def test_a_record_older_than_its_window_is_replaced(ports: Ports) -> None:
    old = time.time() - 7200
    assert claim(ports, "e1", "tok-a", now=old) is None
    assert claim(ports, "e1", "tok-b", window=3600) is None
    assert claim(ports, "e1", "tok-c")["token"] == "tok-b"  # type: ignore[index]


def test_a_record_that_is_its_own_guard_keeps_its_bytes_once_past_the_window_but_not_its_id(ports: Ports) -> None:
    now = time.time()
    assert claim(ports, "e1", "tok-a", now=now - 7200, guard_days=10) is None
    # The same bytes past the idempotency window, inside the guard's: still a replay, the first record answers.
    assert claim(ports, "e1", "tok-b", now=now, guard_days=10)["token"] == "tok-a"  # type: ignore[index]
    # Other bytes under that id past the window: a new event replaces the record...
    assert claim(ports, "e1", "tok-c", now=now, sha="b2", guard_days=10) is None
    # ...and inside its window other bytes again are refused (the copy sees the record, ingress answers 409).
    assert claim(ports, "e1", "tok-d", now=now, sha="b3", guard_days=10)["token"] == "tok-c"  # type: ignore[index]


def test_a_record_that_is_its_own_guard_is_over_once_the_guard_window_is(ports: Ports) -> None:
    now = time.time()
    assert claim(ports, "e1", "tok-a", now=now - 11 * 86400, guard_days=10) is None
    assert claim(ports, "e1", "tok-b", now=now, guard_days=10) is None
    assert claim(ports, "e1", "tok-c", now=now, guard_days=10)["token"] == "tok-b"  # type: ignore[index]


def test_of_ten_concurrent_writers_of_a_self_guarded_record_past_its_window_exactly_one_wins(ports: Ports) -> None:
    now = time.time()
    assert claim(ports, "e1", "tok-old", now=now - 7200, guard_days=10) is None
    results = together(lambda i: claim(ports, "e1", f"tok-{i}", now=now, sha="new-bytes", guard_days=10))
    assert sum(r is None for r in results) == 1


def test_only_the_writer_releases_and_never_once_a_copy_marked_it_queued(ports: Ports) -> None:
    assert claim(ports, "e1", "tok-a", digest="g1") is None
    assert ports.entries.release("e1", "tok-other", "g1") is False
    assert ports.entries.release("e1", "tok-a", "g1") is True
    assert claim(ports, "e1", "tok-b", digest="g1") is None  # both items went: the id and the bytes are new
    ports.entries.count_duplicate("e1", queued=True)
    assert ports.entries.release("e1", "tok-b", "g1") is False


def test_a_duplicate_of_a_released_event_counts_nothing_and_leaves_no_counter_item(ports: Ports) -> None:
    ports.entries.count_duplicate("never-recorded")  # no error: the condition failing is the answer
    assert ports.log.get("never-recorded") == []


def test_delivery_started_once_a_route_item_of_this_reception_exists(ports: Ports) -> None:
    now = time.time()
    assert claim(ports, "e1", "tok-a", now=now) is None
    assert ports.entries.delivery_started("e1", now) is False
    ports.events.record_attempt(event_id="e1", route="r1", status="retrying", received_at=now)
    assert ports.entries.delivery_started("e1", now) is True
    assert ports.entries.delivery_started("e1", now + 3600) is False  # an earlier reception's item is no proof


# ---------------------------------------------------------------- the event log and the claims on its items


def test_attempts_append_and_a_delivery_clears_the_dead_letters_reason(ports: Ports) -> None:
    ports.events.record_attempt(event_id="e1", route="r1", status="dead", attempt={"at": 1, "outcome": "permanent"},
                                reason="permanent_http", dead_at=2, source="app")
    ports.events.record_attempt(event_id="e1", route="r1", status="delivered", attempt={"at": 3, "outcome": "ok"})
    [item] = ports.log.get("e1")
    assert item["status"] == "delivered" and [a["at"] for a in item["attempts"]] == [1, 3]
    assert "reason" not in item and "dead_at" not in item and item["source"] == "app"


def test_a_claim_is_taken_once_completed_with_its_log_and_read_without_claim_attributes(ports: Ports) -> None:
    ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    with pytest.raises(IdempotencyItemAlreadyExistsError) as e:
        ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    assert e.value.old_data_record.status == "INPROGRESS"
    log = {"status": "delivered", "attempt": {"at": 5, "outcome": "delivered"}, "fields": {"source": "app"}}
    ports.claims.save_success(data="e1:r1", result={"status_code": 200, "log": log})
    [item] = ports.log.get("e1")
    assert item["status"] == "delivered" and item["attempts"] == [{"at": 5, "outcome": "delivered"}]
    assert not any(k.startswith("idem_") for k in item)
    with pytest.raises(IdempotencyItemAlreadyExistsError) as again:
        ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    assert again.value.old_data_record.status == "COMPLETED"


def test_of_ten_concurrent_claims_exactly_one_is_taken(ports: Ports) -> None:
    def take(i: int) -> bool:
        try:
            ports.claims.save_inprogress(data="e10:r1", remaining_time_in_millis=60_000)
        except IdempotencyItemAlreadyExistsError:
            return False
        return True

    assert sum(together(take)) == 1


def test_a_released_claim_can_be_taken_again_and_releasing_nothing_creates_nothing(ports: Ports) -> None:
    ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    ports.claims.delete_record(data="e1:r1", exception=RuntimeError("HTTP 500"))
    ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    ports.claims.delete_record(data="e2:r1", exception=RuntimeError("HTTP 500"))
    assert ports.log.get("e2") == []


def test_a_claim_binds_the_route_to_its_chain_and_refuses_the_dead_lettering_message(ports: Ports) -> None:
    until = time.time() + 3600
    ports.claims.before_dead_letter("e1:r1", Claimant("m-1", "chain-a"), until, {"source": "app"})
    assert ports.claims.hand_over("e1:r1", Claimant("m-2", "chain-b"), until) is False
    with pytest.raises(ChainSuperseded):
        ports.claims.before_dead_letter("e1:r1", Claimant("m-3", "chain-b"), until, {"source": "app"})
    assert ports.claims.hand_over("e1:r1", Claimant("m-2", "chain-c", parent="chain-a"), until) is True
    ports.events.record_attempt(event_id="e1", route="r1", status="dead", dead_message_id="m-9")
    token = CURRENT_CLAIMANT.set(Claimant("m-9", "chain-c"))
    try:
        with pytest.raises(AlreadyDeadLettered):  # not Powertools' "exists": the engine acknowledges it
            ports.claims.save_inprogress(data="e1:r1", remaining_time_in_millis=60_000)
    finally:
        CURRENT_CLAIMANT.reset(token)


# ---------------------------------------------------------------- sync state


def test_the_run_lock_is_one_runs_until_released(ports: Ports) -> None:
    until = time.time() + 900
    assert ports.sync.acquire("orders", "run-a", until) is True
    assert ports.sync.acquire("orders", "run-b", until) is False
    ports.sync.save("orders", "run-a", release=True, watermark="107", checkpoint=None)
    state = ports.sync.get_state("orders")
    assert state["watermark"] == "107" and "lease_until" not in state and "checkpoint" not in state
    assert ports.sync.acquire("orders", "run-b", until) is True
    assert sum(together(lambda i: ports.sync.acquire("other", f"run-{i}", until))) == 1
    assert ports.sync.acquire("expired", "run-x", time.time() - 1) is True
    assert ports.sync.acquire("expired", "run-y", until) is True  # a dead run's lock lapsed


def test_a_pulled_version_is_claimed_by_one_run_and_never_once_queued(ports: Ports) -> None:
    item = {"event_id": "orders:1@101", "route": "#event", "source": "shop", "routes": ["r1"]}
    until = time.time() + 900
    assert ports.sync.claim(item, "run-a", until) is True
    assert ports.sync.claim(item, "run-b", until) is False
    assert ports.sync.claim(item, "run-a", until) is True  # the same run, resumed, takes it back
    ports.sync.write([{**item, "queued": True}])
    assert ports.sync.claim(item, "run-a", until) is False
    assert ports.sync.lookup(["orders:1@101", "orders:2@102"])["orders:1@101"]["queued"] is True
    lapsed = {**item, "event_id": "orders:3@103"}
    assert ports.sync.claim(lapsed, "run-a", time.time() - 1) is True
    assert ports.sync.claim(lapsed, "run-b", until) is True  # its claim ran out without `queued`


# ---------------------------------------------------------------- the records table


@pytest.fixture(params=["fake", "moto"])
def records(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeGuardStore()
    stack = request.getfixturevalue("stack")
    return GuardStore(stack.resources["RecordsTable"].name, resource=stack.function("DeliverFunction").ddb)


def test_a_version_is_claimed_if_newer_than_the_delivered_one_and_free(records: Any) -> None:
    now = 1_900_000_000.0
    assert records.claim_version("r", "k", 2, "e2", now + 10, now)[0] is True
    held, item = records.claim_version("r", "k", 3, "e3", now + 10, now)
    assert held is False and item["claim_event"] == "e2"  # the holder, as the failed condition returned it
    assert records.claim_version("r", "k", 2, "e2", now + 10, now)[0] is True  # its own claim again
    records.commit_version("r", "k", 2, "e2", now)
    assert records.claim_version("r", "k", 1, "e1", now + 10, now + 1)[0] is False  # older than delivered
    assert records.claim_version("r", "k", 3, "e3", now + 10, now + 1)[0] is True
    assert records.claim_version("r", "k", 4, "e4", now + 30, now + 2)[0] is False
    assert records.claim_version("r", "k", 4, "e4", now + 30, now + 11)[0] is True  # e3's claim lapsed
    records.release_version("r", "k", "e3")  # not e3's any more: nothing changes
    records.commit_version("r", "k", 3, "e3", now + 12)  # taken over: recorded only if still the newest
    assert records.claim_version("r", "k", 5, "e5", now + 40, now + 13)[0] is False  # e4 still holds it
    records.release_version("r", "k", "e4")
    assert records.claim_version("r", "k", 5, "e5", now + 40, now + 13)[0] is True


def test_a_rate_slot_moves_from_the_value_its_writer_read(records: Any) -> None:
    now = 1_900_000_000.0
    assert records.reserve_rate("crm", 0, None, now + 1, now) == (True, now + 1)
    assert records.reserve_rate("crm", 0, None, now + 2, now) == (False, now + 1)
    assert records.reserve_rate("crm", 0, now + 1, now + 2, now) == (True, now + 2)
    assert records.reserve_rate("crm", 0, now + 1, now + 3, now) == (False, now + 2)
    assert records.reserve_rate("crm", 0, None, now + 9, now + 5) == (True, now + 9)  # the slot is in the past


def test_a_concurrency_slot_has_one_holder_until_released_or_lapsed(records: Any) -> None:
    now = 1_900_000_000.0
    assert sum(together(lambda i: records.acquire_slot("crm", 0, f"h{i}", now + 30, now))) == 1
    holder = "h-late"
    assert records.acquire_slot("crm", 0, holder, now + 30, now) is False
    assert records.acquire_slot("crm", 0, holder, now + 60, now + 31) is True  # lapsed
    records.release_slot("crm", 0, "someone-else")
    assert records.acquire_slot("crm", 0, "h2", now + 90, now + 32) is False
    records.release_slot("crm", 0, holder)
    assert records.acquire_slot("crm", 0, "h2", now + 90, now + 32) is True


def test_a_breaker_opens_once_gives_one_probe_and_closes(records: Any) -> None:
    now = 1_900_000_000.0
    for i in range(3):
        item = records.record_failure("crm", now + i)
    assert (item["failures"], item["state"], item["since"], item["last_failure_at"]) == (3, "closed", now, now + 2)
    assert sum(together(lambda i: records.open_breaker("crm", now + 3, now + 63))) == 1
    assert records.claim_probe("crm", now + 10, now + 100) is False  # cooling down
    assert sum(together(lambda i: records.claim_probe("crm", now + 63, now + 93))) == 1
    records.probe_failed("crm", now + 64, now + 124, probe_event="e9", probe_tries=1, probe_limit=3)
    state = records.breaker("crm")
    assert (state["state"], state["failures"], state["probe_event"], state["probe_at"]) == ("open", 4, "e9", now + 124)
    records.reset_failures("crm")  # not closed: the failures stay
    assert records.breaker("crm")["failures"] == 4
    records.close_breaker("crm", now + 200)
    state = records.breaker("crm")
    assert (state["state"], state["failures"], state["since"]) == ("closed", 0, now + 200)
    assert not {"probe_at", "opened_at", "probe_event"} & set(state) and state["last_failure_at"] == now + 64
    records.record_failure("crm", now + 201)
    records.reset_failures("crm")
    assert records.breaker("crm")["failures"] == 0
    assert records.breaker("unknown") == {}


def test_deferrals_count_and_keep_the_first_hold(records: Any) -> None:
    assert records.deferrals("r", "e1") == (0, None)
    records.add_deferral("r", "e1", None)
    records.add_deferral("r", "e1", 5.0)
    records.add_deferral("r", "e1", 9.0)
    assert records.deferrals("r", "e1") == (3, 5.0)


def test_a_scan_shows_each_route_once_the_guard_never_and_unattempted_routes_as_received(ports: Ports) -> None:
    now = time.time()
    assert ports.entries.claim(event_id="e1", source="app", type="t", received_at=now, routes=["r1", "r2"],
                               queue_by=now + 30, token="tok", window_start=now - 60, digest="g1") is None
    ports.events.record_attempt(event_id="e1", route="r1", status="delivered", attempt={"at": 1}, received_at=now)
    rows = sorted(((i["event_id"], i["route"], i.get("status")) for i in ports.log.scan()), key=str)
    assert rows == [("e1", "#event", None), ("e1", "r1", "delivered"), ("e1", "r2", "received")]
    event = next(i for i in ports.log.get("e1") if i["route"] == "#event")
    assert not {"token", "queue_by", "body_sha256"} & set(event)  # ingress's bookkeeping stays out of the log


@pytest.fixture(params=["fake", "moto"])
def payloads(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakePayloadStore()
    stack = request.getfixturevalue("stack")
    ingress, deliver = stack.function("IngressFunction"), stack.function("DeliverFunction")
    return PayloadStore(ingress.bucket, client=ingress.s3), PayloadStore(deliver.bucket, client=deliver.s3)


def test_a_stored_body_reads_back_and_a_missing_one_is_payload_missing(payloads: Any) -> None:
    writer, reader = payloads if isinstance(payloads, tuple) else (payloads, payloads)
    assert writer.put("payloads/e1", b"\x00body\xff", "application/octet-stream") == "payloads/e1"
    assert reader.get("payloads/e1") == b"\x00body\xff"
    with pytest.raises(PayloadMissing, match="payloads/gone"):  # core's error: delivery imports no botocore
        reader.get("payloads/gone")


# ---------------------------------------------------------------- the queues delivery writes itself


def test_delivery_queues_dead_letter_requeue_and_delay_under_the_deliver_role(stack: Any) -> None:
    fn = stack.function("DeliverFunction")
    queues = SqsDeliveryQueues(fn.sqs, dlq_url=fn.dlq_url, queue_url=fn.queue_url)
    attrs = {"reason": {"DataType": "String", "StringValue": "mapping"}}
    queues.dead_letter('{"event_id": "e1"}', attrs)
    [dead] = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert dead["Body"] == '{"event_id": "e1"}' and dead["MessageAttributes"]["reason"]["StringValue"] == "mapping"
    # the record names its queue by ARN; the copy lands there, delayed
    queues.requeue(stack.queue_arn, '{"event_id": "e2"}', 0)
    [copy] = stack.sqs.receive_message(QueueUrl=stack.queue_url, VisibilityTimeout=30)["Messages"]
    assert copy["Body"] == '{"event_id": "e2"}'
    queues.change_visibility(stack.queue_arn, copy["ReceiptHandle"], 0)  # handed back at once
    [again] = stack.sqs.receive_message(QueueUrl=stack.queue_url)["Messages"]
    assert again["MessageId"] == copy["MessageId"]


def test_delivery_queues_refused_by_iam_raise_queue_unavailable_naming_the_permission(stack: Any) -> None:
    # The ingress role may not write to the DLQ: AWS's refusal arrives as core's error, with its fix in the text
    fn = stack.function("IngressFunction")
    queues = SqsDeliveryQueues(fn.sqs, dlq_url=stack.dlq_url, queue_url=stack.queue_url)
    with pytest.raises(QueueUnavailable) as refused:
        queues.dead_letter("{}", {})
    # moto's IAM refusal for SQS is an XML body botocore's JSON parser leaves as the message (code "403"); AWS's
    # own is parsed into AccessDenied and its message. Either way the operation and the missing permission show.
    assert re.search(r"SendMessage: .*AccessDenied.*not authorized to perform: sqs:SendMessage", str(refused.value),
                     re.S)
