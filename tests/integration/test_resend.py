"""`hookline events resend` against moto (IAM enforced for ingress and delivery), run in-process as an operator.

Events travel the real path: signed webhook -> Ingress -> delivery queue -> the real delivery engine (played like
Lambda's SQS trigger) with the event archive as deployed (Firehose into the archive bucket) -> a real local HTTP
receiver. The re-send reads the event back from the archive (DuckDB, as on `hookline dev`) and queues it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookline.adapters.aws.archive import FirehoseArchive
from hookline.adapters.aws.stores import EventLog, QueuePublisher
from hookline.local.archive import provision_archive
from hookline.validation import parse_config
from tests.integration.test_operations import SECRET, A, Ops, config_dict, ops_on
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")


@pytest.fixture
def hub(stack: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> Iterator[Ops]:
    monkeypatch.setenv("OPS_GH_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    provision_archive(stack.local, stack.admin.client("firehose"))
    with Receiver(Script(statuses=[200])) as crm, Receiver(Script(statuses=[200])) as warehouse:
        data = config_dict(crm.url, warehouse.url)
        (tmp_path / "hookline.yaml").write_text(yaml.safe_dump(data))
        cfg = parse_config(data)
        fn = stack.function("DeliverFunction")
        with ops_on(stack, cfg, crm, warehouse, monkeypatch, capsys,
                    outputs={"ArchiveBucketName": stack.local.outputs["ArchiveBucketName"]}, local=True,
                    archive=FirehoseArchive(stack.local.outputs["ArchiveStreamName"],
                                            client=fn.client("firehose"))) as hub:
            yield hub


def log_items(hub: Ops, event_id: str) -> dict[str, dict[str, Any]]:
    return {i["route"]: i for i in EventLog(hub.stack.events_table, resource=hub.stack.ddb).get(event_id)}


def test_a_delivered_event_resent_twice_gives_two_new_requests_with_their_own_keys(hub: Ops) -> None:
    hub.webhook("iss-1", "issues", {"issue": {"title": "Bug", "number": 1}})
    assert hub.drain() == 1
    original = log_items(hub, "iss-1")[A]
    assert original["status"] == "delivered"
    # A dry run shows the request and the mapped body, and queues nothing
    preview = hub.run_json("events", "resend", "iss-1", "--dry-run")
    [shown] = preview["resends"]
    assert shown["idempotency_key"] == f"iss-1:{A}#resend-1" and shown["url"] == f"{hub.crm.url}"
    assert shown["mapped_body"] == {"title": "Bug", "number": "1"}
    assert hub.queue_keys() == {}
    for n in (1, 2):
        rc, out, err = hub.run("events", "resend", "iss-1")
        assert rc == 0, err
        assert f"iss-1:{A}#resend-{n}" in out
        assert hub.drain() == 1
    keys = [r.headers["idempotency-key"] for r in hub.crm.requests]
    assert keys == [f"iss-1:{A}", f"iss-1:{A}#resend-1", f"iss-1:{A}#resend-2"]
    assert [r.json() for r in hub.crm.requests] == [{"title": "Bug", "number": "1"}] * 3
    # The original's record is as it was; each re-send has its own, delivered, and `hookline events` lists them
    items = log_items(hub, "iss-1")
    assert items[A] == original
    assert items[f"{A}#resend-1"]["status"] == items[f"{A}#resend-2"]["status"] == "delivered"
    listed = hub.run_json("events", "--id", "iss-1")
    assert sorted(line["route"] for line in listed) == [A, f"{A}#resend-1", f"{A}#resend-2"]
    shown = hub.run_json("events", "show", "iss-1")
    assert sorted((line["idempotency_key"], line["resend_of"], line["resend"], line["status"]) for line in shown) == [
        (f"iss-1:{A}", None, None, "delivered"), (f"iss-1:{A}#resend-1", A, "resend-1", "delivered"),
        (f"iss-1:{A}#resend-2", A, "resend-2", "delivered")]
    rc, out, _ = hub.run("events", "show", "iss-1")
    assert rc == 0 and "original" in out and "resend-2" in out


def test_a_bulk_resend_asks_first_and_goes_with_yes(hub: Ops) -> None:
    for i in range(3):
        hub.webhook(f"iss-{i}", "issues", {"issue": {"title": f"Bug {i}", "number": i}})
    hub.webhook("push-1", "push", {"ref": "refs/heads/main"})
    assert hub.drain() == 4
    where = "body.issue.number >= 1"
    rc, _, err = hub.run("events", "resend", "--where", where, "--rate", "50/s")
    assert rc == 1 and "add --yes" in err  # stdin is not a terminal: not asked, nothing sent
    assert hub.queue_keys() == {}
    summary = hub.run_json("events", "resend", "--where", where, "--rate", "50/s", "--yes")
    assert summary["sent"] == 2 and summary["matched"] == 2
    assert sorted(hub.queue_keys()) == [f"iss-1:{A}", f"iss-2:{A}"]
    assert hub.drain() == 2
    assert sorted(r.headers["idempotency-key"] for r in hub.crm.requests[3:]) == [f"iss-1:{A}#resend-1",
                                                                                  f"iss-2:{A}#resend-1"]


def test_an_unknown_id_and_a_wrong_route_say_what_to_do(hub: Ops) -> None:
    hub.webhook("iss-1", "issues", {"issue": {"title": "Bug", "number": 1}})
    hub.drain()
    rc, _, err = hub.run("events", "resend", "nope")
    assert rc != 0 and "not in the archive" in err
    rc, _, err = hub.run("events", "resend", "iss-1", "--route", "elsewhere")
    assert rc != 0 and "--route elsewhere: no such route" in err
    assert hub.queue_keys() == {}


def test_an_ordered_routes_resend_of_an_older_version_is_stale_unless_forced(stack: Any) -> None:
    """Through the FIFO queue in the record's group and the records table's version guard, as deployed. (moto's
    FIFO queue does not drop a repeated deduplication id here: tools/test_resend checks the re-send's own id.)"""
    from hookline.adapters.aws.stores import FifoPublisher
    from hookline.core.archive import event_record
    from hookline.operations.resend import ArchivedEvent, build_task, fanout_publisher, logging_publisher, next_resend
    from tests.integration.test_guard_store import Clock, deliver, make
    from tests.support.moto_delivery import config, task

    with Receiver(Script(statuses=[200])) as crm:
        cfg = config(crm.url, route={"key": "body.id", "version": "body.v", "ordered": True})
        delivery, _ = make(stack, cfg, Clock())
        fifo = stack.resources["OrderedDeliveryQueue"].url
        log = EventLog(stack.events_table, resource=stack.ddb)
        publish = logging_publisher(fanout_publisher(cfg, QueuePublisher(stack.queue_url, client=stack.sqs),
                                                     FifoPublisher(fifo, client=stack.sqs)),
                                    log.record_attempt, lambda: 1_900_000_000.0)
        older, newer = task("v1", body={"id": 7, "v": 1}), task("v2", body={"id": 7, "v": 2})

        def drain() -> None:
            while deliver(stack, delivery, "OrderedDeliveryQueue")[0]:
                pass

        def resent(t: Any, force: bool = False) -> Any:
            line = event_record(t, 0)
            event = ArchivedEvent(id=t.event_id, source=t.source, type=t.type, received_at=t.received_at,
                                  headers=json.loads(line["headers"]), body=line["body"],
                                  body_encoding=line["body_encoding"], s3_key=None, routes=[t.route])
            return build_task(event, t.route, next_resend(log.get(t.event_id), t.route), event.raw_body(None),
                              force=force)

        try:
            fanout_publisher(cfg, QueuePublisher(stack.queue_url, client=stack.sqs),
                             FifoPublisher(fifo, client=stack.sqs))([older, newer])
            drain()
            assert [r.json()["v"] for r in crm.requests] == [1, 2]
            publish([resent(older)])
            drain()
            assert len(crm.requests) == 2  # stale: not sent
            route = "orders-to-crm"
            assert {i["route"]: i["status"] for i in log.get("v1")} == {route: "delivered",
                                                                        f"{route}#resend-1": "stale"}
            publish([resent(older, force=True)])
            drain()
            assert [r.headers["idempotency-key"] for r in crm.requests[2:]] == [f"v1:{route}#resend-2"]
            assert crm.requests[2].json() == {"id": 7, "v": 1}
            # The newer version stays the delivered one: v1 again without --force is still stale
            publish([resent(older)])
            drain()
            assert len(crm.requests) == 3
        finally:
            delivery.close()
