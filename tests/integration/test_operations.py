"""Operations against moto: `hookline dlq list / show / replay`, `events` and `report`, run in-process.

Events travel the real path: signed webhook -> Ingress -> delivery queue -> the real delivery
engine (played like Lambda's SQS event source) -> a real local HTTP destination -> DLQ. The
CLI finds the moto resources through a StackInfo that looks like a running `hookline dev`.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from hookline import cli
from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.stores import EventLog
from hookline.core.messages import DeliveryTask
from hookline.delivery.engine import Delivery
from hookline.ingress.ingress import Ingress
from hookline.ingress.signatures import sign
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.operations.stack import StackInfo
from hookline.validation import parse_config
from tests.support.moto_delivery import make_delivery
from tests.support.moto_ingress import make_ingress
from tests.support.receiver import Receiver, Script

# The delivery engine runs here without a Lambda context: Powertools warns about the missing remaining time.
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")

SECRET = "ops-test-secret"
A, B = "issues-to-crm", "pushes-to-warehouse"


def config_dict(crm_url: str, warehouse_url: str, title_path: str = "body.issue.title") -> dict[str, Any]:
    return {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:OPS_GH_SECRET"]}}},
        "destinations": {"crm": {"url": crm_url}, "warehouse": {"url": warehouse_url}},
        "routes": [
            {"name": A, "source": "github", "destination": "crm",
             "when": "headers.\"x-github-event\" == 'issues'",
             "transform": {"title": title_path, "number": {"path": "body.issue.number", "type": "string"}}},
            {"name": B, "source": "github", "destination": "warehouse",
             "when": "headers.\"x-github-event\" == 'push'"},
        ],
        # No retries: the first failure dead-letters (permanent_http for 4xx, retries_exhausted for 5xx).
        "retry": {"schedule_seconds": []},
    }


class MotoStack(StackInfo):
    """What `hookline dev` would describe, with clients going to the in-process moto (plus optional faults)."""

    wrap_sqs: Any = None
    session: Any = boto3  # the operator's credentials (the test's administrator)

    def client(self, service: str) -> Any:
        client = self.session.client(service, region_name=self.region)
        return self.wrap_sqs(client) if service == "sqs" and self.wrap_sqs else client

    def resource(self, service: str) -> Any:
        return self.session.resource(service, region_name=self.region)


@dataclass
class Ops:
    stack: Any
    crm: Receiver
    warehouse: Receiver
    ingress: Ingress
    delivery: Delivery
    info: MotoStack
    capsys: pytest.CaptureFixture[str]

    # -- traffic

    def webhook(self, delivery_id: str, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        verify = self.ingress.deps.config.sources["github"].verify
        headers = {k.lower(): v for k, v in sign(verify, SECRET, body, msg_id=delivery_id).items()}
        headers.update({"x-github-event": event, "content-type": "application/json",
                        "authorization": "Bearer sender-credential", "x-sender-token": "hdr-SHOULD-NOT-SHOW"})
        resp = self.ingress.accept("github", headers, body)
        assert resp.status == 202, resp.body

    def drain(self) -> int:
        """Play the deliver function's SQS trigger until the delivery queue is empty; returns records handled."""
        handled = 0
        while True:
            messages = self.stack.sqs.receive_message(QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10,
                                                      VisibilityTimeout=60, **RECEIVE_ATTRIBUTES).get("Messages", [])
            if not messages:
                return handled
            response = self.delivery.handle(to_lambda_records(messages, self.stack.queue_arn, self.stack.region))
            delete_processed(self.stack.sqs, self.stack.queue_url, messages, response)
            handled += len(messages)

    # -- the CLI

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        rc = cli.main(list(argv))
        captured = self.capsys.readouterr()
        return rc, captured.out, captured.err

    def run_json(self, *argv: str) -> Any:
        rc, out, err = self.run(*argv, "--json")
        assert rc == 0, err
        return json.loads(out)

    # -- looking inside the queues without the code under test

    def keys(self, queue_url: str) -> Counter[str]:
        """`event_id:route` of every message in a queue (each counted), leaving them all visible."""
        seen: dict[str, dict[str, Any]] = {}
        while True:
            batch = self.stack.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                   VisibilityTimeout=120).get("Messages", [])
            if not batch:
                break
            seen.update({m["MessageId"]: m for m in batch})
        for m in seen.values():
            self.stack.sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                     VisibilityTimeout=0)
        tasks = [DeliveryTask.model_validate_json(m["Body"]) for m in seen.values()]
        return Counter(f"{t.event_id}:{t.route}" for t in tasks)

    def dlq_keys(self) -> Counter[str]:
        return self.keys(self.stack.dlq_url)

    def queue_keys(self) -> Counter[str]:
        return self.keys(self.stack.queue_url)


@pytest.fixture
def ops(stack: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> Iterator[Ops]:
    monkeypatch.setenv("OPS_GH_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)  # no stray ./hookline.yaml or .hookline/dev.json
    with Receiver(Script(statuses=[400])) as crm, Receiver(Script(statuses=[503])) as warehouse:
        cfg = parse_config(config_dict(crm.url, warehouse.url))
        with ops_on(stack, cfg, crm, warehouse, monkeypatch, capsys, outputs={
            "DeliveryQueueArn": stack.queue_arn, "DeadLetterQueueArn": stack.dlq_arn,
            "OrderedDeadLetterQueueUrl": stack.resources["OrderedDeadLetterQueue"].url,
        }) as ops:
            yield ops


@contextmanager
def ops_on(stack: Any, cfg: Any, crm: Receiver, warehouse: Receiver, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str], *, outputs: dict[str, str], local: bool = False,
           **delivery_deps: Any) -> Iterator[Ops]:
    """Ingress and delivery, each on its own function's role only, and the CLI pointed at the stack: its
    queues, events table and payload bucket, plus `outputs`."""
    ingress = make_ingress(stack, cfg, large_body_threshold=2048)
    delivery = make_delivery(stack, cfg, **delivery_deps)
    info = MotoStack(outputs={"DeliveryQueueUrl": stack.queue_url, "DeadLetterQueueUrl": stack.dlq_url,
                              "EventsTableName": stack.events_table, "PayloadBucketName": stack.bucket, **outputs},
                     endpoint_url="http://127.0.0.1:4566", region=stack.region, origin="hookline dev (moto)",
                     local=local)
    info.session = stack.admin
    monkeypatch.setattr("hookline.commands._ops.resolve_stack", lambda name=None: info)
    try:
        yield Ops(stack, crm, warehouse, ingress, delivery, info, capsys)
    finally:
        delivery.close()


def fifty_dead(ops: Ops) -> tuple[set[str], set[str]]:
    """25 issues (route A: the CRM answers 400) and 25 pushes (route B: the warehouse answers 503)."""
    for i in range(25):
        ops.webhook(f"iss-{i:02d}", "issues", {"issue": {"title": f"Bug {i}", "number": i}})
        ops.webhook(f"push-{i:02d}", "push", {"ref": "refs/heads/main", "n": i})
    assert ops.drain() == 50
    return {f"iss-{i:02d}:{A}" for i in range(25)}, {f"push-{i:02d}:{B}" for i in range(25)}


def fix_destinations(ops: Ops) -> None:
    ops.crm.script = Script(statuses=[200])
    ops.warehouse.script = Script(statuses=[200])


def requests_after(receiver: Receiver, start: int) -> Counter[str]:
    return Counter(r.headers["idempotency-key"] for r in receiver.requests[start:])


# ---------------------------------------------------------------- dlq list / show


def test_fifty_dead_lettered_events_across_two_routes_are_all_listed_with_their_reasons(ops: Ops) -> None:
    a_keys, b_keys = fifty_dead(ops)
    listed = ops.run_json("dlq", "list")
    assert len(listed) == 50
    assert {f"{e['id']}:{e['route']}" for e in listed} == a_keys | b_keys
    by_route = {route: [e for e in listed if e["route"] == route] for route in (A, B)}
    assert {(e["reason"], e["status_code"], e["attempts"], e["source"]) for e in by_route[A]} == \
        {("permanent_http", 400, 1, "github")}
    assert {(e["reason"], e["status_code"], e["attempts"]) for e in by_route[B]} == {("retries_exhausted", 503, 1)}
    assert all(e["first_attempt_at"] and e["last_attempt_at"] and e["last_error"] for e in listed)
    assert all(e["has_mapped_body"] for e in by_route[A])
    # Reading never consumes: listed again, still all there.
    assert len(ops.run_json("dlq", "list")) == 50
    assert sum(ops.dlq_keys().values()) == 50
    # Human output: an aligned table and a count per reason.
    rc, out, _ = ops.run("dlq", "list")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "SOURCE", "ROUTE", "REASON", "CODE", "ATTEMPTS", "FIRST", "ATTEMPT", "LAST",
                                "ATTEMPT", "LAST", "ERROR"]
    assert sum(1 for line in lines if "permanent_http" in line or "retries_exhausted" in line) == 51
    assert "50 event(s) in the DLQ: permanent_http 25, retries_exhausted 25" in out \
        or "50 event(s) in the DLQ: retries_exhausted 25, permanent_http 25" in out
    # Filters narrow the list.
    only_b = ops.run_json("dlq", "list", "--route", B, "--reason", "retries_exhausted")
    assert {f"{e['id']}:{e['route']}" for e in only_b} == b_keys


def test_show_prints_the_payload_with_secrets_redacted(ops: Ops) -> None:
    ops.webhook("iss-secret", "issues", {"issue": {"title": "Leak", "number": 1},
                                         "sender": {"login": "ann", "api_token": "tok-SHOULD-NOT-SHOW"},
                                         "card": "4242 4242 4242 4242"})
    ops.webhook("iss-big", "issues", {"issue": {"title": "Big", "number": 2, "body": "x" * 4000},
                                      "password": "pw-SHOULD-NOT-SHOW"})
    ops.drain()
    rc, out, err = ops.run("dlq", "show", f"iss-secret:{A}")
    assert rc == 0, err
    assert "tok-SHOULD-NOT-SHOW" not in out and "4242 4242" not in out
    assert "sender-credential" not in out and "hdr-SHOULD-NOT-SHOW" not in out
    assert '"api_token": "***"' in out and "***4242" in out
    assert "x-sender-token" not in out  # a credential header is dropped at ingress, never stored
    assert "permanent_http" in out and '"login": "ann"' in out
    assert "mapped body of the failed attempt" in out and '"title": "Leak"' in out
    # A large body is read back from the payload bucket (claim check).
    shown = ops.run_json("dlq", "show", "iss-big")
    assert len(shown) == 1 and shown[0]["s3_key"]
    assert shown[0]["payload"]["issue"]["title"] == "Big" and shown[0]["payload"]["password"] == "***"
    rc, _, err = ops.run("dlq", "show", "nope")
    assert rc == 1 and "no DLQ event with id 'nope'" in err


# ---------------------------------------------------------------- replay


def test_replay_route_a_redelivers_only_a_and_the_dlq_keeps_b(ops: Ops) -> None:
    a_keys, b_keys = fifty_dead(ops)
    fix_destinations(ops)
    crm_before, warehouse_before = len(ops.crm.requests), len(ops.warehouse.requests)
    summary = ops.run_json("dlq", "replay", "--route", A)
    assert (summary["matched"], summary["sent"], summary["failed"], summary["skipped"]) == (25, 25, 0, 0)
    assert set(ops.dlq_keys()) == b_keys and set(ops.queue_keys()) == a_keys
    assert ops.drain() == 25
    assert requests_after(ops.crm, crm_before) == Counter({k: 1 for k in a_keys})
    assert len(ops.warehouse.requests) == warehouse_before
    assert set(ops.dlq_keys()) == b_keys
    # The attempt history is kept: the failed attempt and the successful one, counted on.
    rows = ops.run_json("events", "--route", A)
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 2)}
    assert [a["status_code"] for a in rows[0]["attempt_history"]] == [400, 200]
    assert len(ops.run_json("events", "--status", "dead")) == 25
    report = ops.run_json("report")
    assert report["routes"][A]["delivered"] == 25 and report["routes"][A]["retried"] == 25
    assert report["routes"][B]["dead"] == 25


def test_the_ordered_routes_fifo_dlq_is_listed_and_replayed_with_the_other(ops: Ops) -> None:
    # Given one dead letter in each DLQ: the standard one, and the FIFO DLQ of ordered routes (what the
    # FIFO delivery queue redrives after OrderedMaxReceiveCount receives)
    ops.webhook("iss-std", "issues", {"issue": {"title": "t", "number": 1}})
    ops.drain()
    fifo_dlq = ops.stack.resources["OrderedDeadLetterQueue"].url
    task = DeliveryTask(event_id="iss-fifo", source="github", route=A, received_at=time.time(), headers={},
                        body='{"issue": {"number": 2}}')
    ops.stack.sqs.send_message(QueueUrl=fifo_dlq, MessageBody=task.model_dump_json(exclude_none=True),
                               MessageGroupId=f"{A}#2", MessageDeduplicationId="iss-fifo")
    # Then `dlq list` shows both
    listed = {(e["id"], e["route"]) for e in ops.run_json("dlq", "list")}
    assert ("iss-fifo", A) in listed and ("iss-std", A) in listed
    # And a replay of the FIFO one sends it to the standard delivery queue and removes it from its DLQ
    fix_destinations(ops)
    summary = ops.run_json("dlq", "replay", "--id", "iss-fifo")
    assert (summary["matched"], summary["sent"]) == (1, 1)
    assert ops.queue_keys() == Counter({f"iss-fifo:{A}": 1})
    assert ops.keys(fifo_dlq) == Counter()
    assert f"iss-std:{A}" in ops.dlq_keys()


def test_replay_human_output_and_rate(ops: Ops) -> None:
    for i in range(3):
        ops.webhook(f"iss-{i}", "issues", {"issue": {"title": "t", "number": i}})
    ops.drain()
    fix_destinations(ops)
    started = time.monotonic()
    rc, out, err = ops.run("dlq", "replay", "--id", "iss-0", "--id", "iss-2", "--rate", "10/s")
    assert rc == 0, err
    assert time.monotonic() - started >= 0.1  # 2 sends at 10/s: the second waits 0.1 s
    assert "Replayed 2 of 2 matching event(s) (id iss-0, iss-2): sent 2, skipped 0, failed 0." in out
    assert set(ops.dlq_keys()) == {f"iss-1:{A}"}


def test_dry_run_shows_the_new_mapping_beside_the_old_and_sends_nothing(ops: Ops, tmp_path: Path) -> None:
    for i in range(2):
        ops.webhook(f"iss-{i}", "issues", {"issue": {"title": f"Bug {i}", "number": i, "name": f"N{i}"}})
    ops.drain()
    changed = config_dict(ops.crm.url, ops.warehouse.url, title_path="body.issue.name")
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    out = ops.run_json("dlq", "replay", "--route", A, "--dry-run", "--config", str(tmp_path / "new.yaml"))
    assert out["dry_run"] is True and out["sent"] == 0 and out["by_outcome"] == {"would_send": 2}
    mapping = {e["id"]: e["mapping"] for e in out["entries"]}
    assert mapping["iss-0"]["status"] == "changed"
    assert mapping["iss-0"]["old_mapped_body"] == {"title": "Bug 0", "number": "0"}
    assert mapping["iss-0"]["new_mapped_body"] == {"title": "N0", "number": "0"}
    rc, text, _ = ops.run("dlq", "replay", "--route", A, "--dry-run", "--config", str(tmp_path / "new.yaml"))
    assert rc == 0 and "Dry run: would send 2 of 2" in text and "before (failed attempt)" in text
    # Side by side, keys sorted: the unchanged field lines up unmarked, the changed one is marked with |.
    assert re.search(r'"number": "0",\s+"number": "0",', text)
    assert re.search(r'"title": "Bug 0"\s+\|\s+"title": "N0"', text)
    # Without a configuration the diff is skipped, with a note.
    rc, text, err = ops.run("dlq", "replay", "--dry-run")
    assert rc == 0 and "no configuration at hookline.yaml" in err and "no_config" in text
    assert sum(ops.dlq_keys().values()) == 2 and not ops.queue_keys()


class Faulty:
    """An SQS client whose n-th send_message or delete_message fails (the rest pass through)."""

    def __init__(self, inner: Any, op: str, nth: int, error: BaseException) -> None:
        self.inner, self.op, self.nth, self.error, self.calls = inner, op, nth, error, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.op:
            return attr

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.nth:
                raise self.error
            return attr(**kwargs)

        return call


THROTTLED = ClientError({"Error": {"Code": "RequestThrottled", "Message": "injected"}}, "SendMessage")


@pytest.mark.parametrize(("op", "error"), [
    ("send_message", RuntimeError("process killed")),
    ("send_message", KeyboardInterrupt()),
    ("delete_message", RuntimeError("process killed")),
    ("delete_message", KeyboardInterrupt()),
])
def test_an_interrupted_replay_loses_and_duplicates_nothing(ops: Ops, op: str, error: BaseException) -> None:
    keys = set()
    for i in range(10):
        ops.webhook(f"iss-{i}", "issues", {"issue": {"title": "t", "number": i}})
        keys.add(f"iss-{i}:{A}")
    ops.drain()
    fix_destinations(ops)
    failed_first = len(ops.crm.requests)
    assert failed_first == 10
    ops.info.wrap_sqs = lambda client: Faulty(client, op, 4, error)

    rc, _, err = ops.run("dlq", "replay")  # the local emulator: message by message
    assert rc == (130 if isinstance(error, KeyboardInterrupt) else 1)
    assert "Interrupted" in err and "Nothing was lost" in err
    in_dlq, in_queue = ops.dlq_keys(), ops.queue_keys()
    # None lost: every event is in one queue or the other, never twice in the same one.
    assert set(in_dlq) | set(in_queue) == keys
    assert max(in_dlq.values()) == 1 and max(in_queue.values()) == 1
    both = set(in_dlq) & set(in_queue)
    # Interrupted between its send and its delete: the only event in both queues; a send interruption leaves none.
    assert len(both) == (1 if op == "delete_message" else 0)
    assert len(in_queue) == (4 if op == "delete_message" else 3)

    # Finish the job: replay again, deliver everything. The destination sees each event exactly once.
    ops.info.wrap_sqs = None
    assert ops.run("dlq", "replay")[0] == 0
    ops.drain()
    # After the failed first attempts, exactly one (successful) request per event: none twice, none missing.
    assert requests_after(ops.crm, failed_first) == Counter({k: 1 for k in keys})
    assert not ops.dlq_keys() and not ops.queue_keys()
    assert {(r["status"], r["attempts"]) for r in ops.run_json("events")} == {("delivered", 2)}


def test_a_leftover_copy_of_a_delivered_event_is_removed_without_a_new_send(ops: Ops) -> None:
    for i in range(3):
        ops.webhook(f"iss-{i}", "issues", {"issue": {"title": "t", "number": i}})
    ops.drain()
    fix_destinations(ops)
    ops.info.wrap_sqs = lambda client: Faulty(client, "delete_message", 2, THROTTLED)
    summary = ops.run_json("dlq", "replay")
    assert summary["by_outcome"] == {"sent": 2, "sent_not_deleted": 1}
    ops.info.wrap_sqs = None
    ops.drain()  # the copy on the delivery queue is delivered
    before = len(ops.crm.requests)
    summary = ops.run_json("dlq", "replay")
    assert summary["by_outcome"] == {"already_delivered": 1}
    assert not ops.dlq_keys() and not ops.queue_keys() and len(ops.crm.requests) == before


def test_a_refused_send_keeps_the_event_in_the_dlq_and_the_replay_goes_on(ops: Ops) -> None:
    for i in range(3):
        ops.webhook(f"iss-{i}", "issues", {"issue": {"title": "t", "number": i}})
    ops.drain()
    ops.info.wrap_sqs = lambda client: Faulty(client, "send_message", 2, THROTTLED)
    rc, out, _ = ops.run("dlq", "replay", "--route", A)
    assert rc == 1
    assert "sent 2, skipped 0, failed 1" in out and "RequestThrottled" in out
    # The DLQ does not keep arrival order (a batch dead-letters concurrently): whichever send was
    # refused, its event is the one left in the DLQ, and the other two are back on the queue.
    left, requeued = ops.dlq_keys(), ops.queue_keys()
    assert sum(left.values()) == 1 and sum(requeued.values()) == 2
    assert set(left) | set(requeued) == {f"iss-{i}:{A}" for i in range(3)}


# ---------------------------------------------------------------- events / report over a hand-built log


def test_report_figures_match_a_hand_count(ops: Ops) -> None:
    now = time.time()
    log = EventLog(ops.stack.events_table, resource=ops.stack.ddb)
    ingress = EventLogEntries(ops.stack.events_table, client=ops.stack.ddb_client)

    def received(eid: str, ago: float, routes: list[str], dups: int = 0) -> float:
        at = now - ago
        assert ingress.claim(event_id=eid, source="github", type="issues", received_at=at, routes=routes,
                             queue_by=at, token="t", window_start=0) is None
        for _ in range(dups):
            ingress.count_duplicate(eid)
        return at

    def attempt(eid: str, route: str, status: str, at: float, code: int | None, **fields: Any) -> None:
        log.record_attempt(event_id=eid, route=route, status=status,
                           attempt={"at": at, "status_code": code, "latency_ms": 12.5, "error": None,
                                    "outcome": "delivered" if status == "delivered" else "retry"}, **fields)

    # Two days ago (outside --since 1d): one event on A, delivered after 4 s, 1 duplicate.
    t = received("old-1", 2 * 86400, [A], dups=1)
    attempt("old-1", A, "delivered", t + 4, 200, delivered_at=t + 4)
    # Within the last hour:
    t = received("e1", 600, [A, B], dups=2)
    attempt("e1", A, "delivered", t + 1, 200, delivered_at=t + 1)                # A: 1 s, first try
    attempt("e1", B, "retrying", t + 1, 503)
    attempt("e1", B, "delivered", t + 61, 200, delivered_at=t + 61)             # B: 61 s, retried
    t = received("e2", 500, [A])
    for k in range(3):
        attempt("e2", A, "retrying" if k < 2 else "dead", t + k, 503, reason="retries_exhausted" if k == 2 else None)
    t = received("e3", 400, [A])
    attempt("e3", A, "delivered", t + 3, 200, delivered_at=t + 3)               # A: 3 s
    t = received("e4", 300, [B])
    attempt("e4", B, "retrying", t + 1, 429)                                     # in flight
    received("e5", 200, [], dups=1)                                              # no route matched
    t = received("e6", 100, [A])                                                 # in flight, not tried yet

    # Hand count, last day:   received  delivered  retried  dead  in flight  dups  error rate  p50  p95
    #   A: e1 e2 e3 e6            4         2         1       1       1        2     1/3        1s   3s
    #   B: e1 e4                  2         1         1       0       1        2     0          61s  61s
    #   total: e1..e6             6         3         2       1       2        3     1/4        3s   61s
    report = ops.run_json("report", "--since", "1d")
    a, b, total = report["routes"][A], report["routes"][B], report["total"]
    assert (a["received"], a["delivered"], a["retried"], a["dead"], a["in_flight"], a["duplicates"]) == \
        (4, 2, 1, 1, 1, 2)
    assert a["error_rate"] == pytest.approx(1 / 3)
    assert (a["latency_p50_seconds"], a["latency_p95_seconds"]) == (pytest.approx(1), pytest.approx(3))
    assert (b["received"], b["delivered"], b["retried"], b["dead"], b["in_flight"], b["duplicates"]) == \
        (2, 1, 1, 0, 1, 2)
    assert b["error_rate"] == 0 and b["latency_p50_seconds"] == pytest.approx(61)
    assert (total["received"], total["delivered"], total["retried"], total["retries"], total["dead"],
            total["in_flight"], total["duplicates"], total["unrouted"]) == (6, 3, 2, 3, 1, 2, 3, 1)
    assert total["error_rate"] == pytest.approx(0.25)
    assert (total["latency_p50_seconds"], total["latency_p95_seconds"]) == (pytest.approx(3), pytest.approx(61))
    # All time: old-1 adds one received, delivered (4 s) and duplicate on A.
    everything = ops.run_json("report")
    assert (everything["routes"][A]["received"], everything["routes"][A]["delivered"],
            everything["total"]["received"], everything["total"]["duplicates"]) == (5, 3, 7, 4)
    assert everything["routes"][A]["latency_p50_seconds"] == pytest.approx(3)

    # Human output: aligned columns, a TOTAL row, the definitions.
    rc, out, _ = ops.run("report", "--since", "1d")
    assert rc == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("ROUTE"))
    total_line = next(line for line in lines if line.startswith("TOTAL"))
    assert len(header) == len(total_line)  # right-aligned numbers end under their headers
    assert total_line.split() == ["TOTAL", "6", "3", "2", "1", "2", "3", "25.0%", "3.0s", "1.0m"]
    assert "error rate: dead / (delivered + dead)" in out and "nearest-rank" in out

    # events: filters and statuses.
    assert [r["id"] for r in ops.run_json("events", "--status", "dead")] == ["e2"]
    assert [(r["id"], r["route"]) for r in ops.run_json("events", "--status", "retrying")] == [("e4", B)]
    assert [r["id"] for r in ops.run_json("events", "--status", "unrouted")] == ["e5"]
    assert len(ops.run_json("events", "--since", "1d")) == 7
    assert len(ops.run_json("events")) == 8
    rc, out, _ = ops.run("events", "--route", A, "--since", "1d")
    assert rc == 0 and out.splitlines()[0].split()[:6] == ["RECEIVED", "ID", "SOURCE", "TYPE", "ROUTE", "STATUS"]
    assert "4 line(s): received 1, delivered 2, dead 1" in out


def test_events_rejects_a_bad_since_with_a_usage_error(ops: Ops) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["events", "--since", "last tuesday"])
    assert exc.value.code == 2
    assert "15m, 2h, 7d" in ops.capsys.readouterr().err
