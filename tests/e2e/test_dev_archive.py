"""`hookline dev` end to end, as a user: signed events sent with `hookline send` are delivered, archived by the
deliver function into the emulator's S3 (partitioned, GZIP), and found with `hookline events search --where`;
a planted secret header and a redacted body field appear in no archived object."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.e2e.helpers import DevProcess, dev_env, free_port
from tests.support.receiver import Receiver

SECRET_HEADER = "tok_planted_header_5521"
SECRET_FIELD = "pw_planted_body_9034"
CUSTOMERS = ["cus_7", "cus_8", "cus_7", "cus_9"]


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevProcess, Receiver]]:
    workdir = tmp_path_factory.mktemp("devarchive")
    receiver = Receiver().__enter__()
    cfg = {
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "header": "x-sig",
                                        "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {"crm": {"url": f"{receiver.url}/crm", "timeout_seconds": 5}},
        "routes": [{"name": "orders-to-crm", "source": "shop", "destination": "crm"}],
    }
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = DevProcess(workdir, config, free_port())
    try:
        proc.wait_ready(90)
        yield proc, receiver
    finally:
        proc.interrupt()
        receiver.__exit__(None, None, None)


def cli(dev: DevProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=dev.cwd, env=dev_env(),
                          capture_output=True, text=True, timeout=120)


def archived(dev: DevProcess) -> dict[str, bytes]:
    state = dev.state()
    s3 = boto3.client("s3", endpoint_url=state["endpoint_url"], region_name=state["region"],
                      aws_access_key_id="x", aws_secret_access_key="x")
    bucket = state["outputs"]["ArchiveBucketName"]
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=bucket, Prefix="archive/").get("Contents", [])}


def send_orders(dev: DevProcess, tmp: Path, customers: list[str] = CUSTOMERS) -> list[str]:
    ids = []
    for n, customer in enumerate(customers):
        data = tmp / f"order-{n}.json"
        data.write_text(json.dumps({"order": {"id": n, "customer": customer, "note": "Zoë's"},
                                    "password": SECRET_FIELD}))
        out = cli(dev, "send", "shop", "--data", str(data), "-H", f"X-Api-Token: {SECRET_HEADER}")
        assert out.returncode == 0 and out.stdout.startswith("HTTP 202 "), out.stdout + out.stderr
        ids.append(json.loads(out.stdout.split(" ", 2)[2])["id"])
    return ids


def wait_archived(dev: DevProcess, lines: int, timeout: float = 60) -> dict[str, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        found = archived(dev)
        if sum(len(gzip.decompress(v).splitlines()) for v in found.values()) >= lines or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_sent_events_are_archived_and_found_by_search(dev: Any, tmp_path: Path) -> None:
    proc, receiver = dev
    ids = send_orders(proc, tmp_path)
    # Then each is delivered, and its event and attempt lines reach the archive
    assert len(receiver.wait_for(len(ids), timeout=30)) == len(ids)
    found = wait_archived(proc, 2 * len(ids))
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert found and all(k.startswith(f"archive/events/dt={day}/source=shop/") and k.endswith(".gz")
                         for k in found), sorted(found)
    texts = [gzip.decompress(v) for v in found.values()]
    # And the planted secrets are in no archived object
    for text in texts:
        assert SECRET_HEADER.encode() not in text and SECRET_FIELD.encode() not in text
    # When the user searches by a body field
    out = cli(proc, "events", "search", "--where", 'body.order.customer = "cus_7"', "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    hits = json.loads(out.stdout)
    # Then exactly the two events of that customer are found, delivered
    assert sorted(h["id"] for h in hits) == sorted([ids[0], ids[2]])
    assert all(h["routes"]["orders-to-crm"]["status"] == "delivered" for h in hits)
    # And the table form says the same; a malformed filter is one line naming its column
    table = cli(proc, "events", "search", "--where", "body.order.note contains \"Zoë\" and source = 'shop'")
    assert table.returncode == 0 and all(i in table.stdout for i in ids) and "4 event(s)" in table.stdout
    bad = cli(proc, "events", "search", "--where", "body.order.customer =")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --where: expected a value at column 22"


def test_resend_from_the_cli_one_event_and_in_bulk_through_hookline_dev(dev: Any, tmp_path: Path) -> None:
    proc, receiver = dev
    before = len(receiver.requests)
    lines = sum(len(gzip.decompress(v).splitlines()) for v in archived(proc).values())
    ids = send_orders(proc, tmp_path, ["cus_40", "cus_41", "cus_42"])  # customers no other test sends
    receiver.wait_for(before + len(ids), timeout=30)
    wait_archived(proc, lines + 2 * len(ids))
    before = len(receiver.requests)
    # When the user re-sends one delivered event, then re-sends it again
    for n in (1, 2):
        out = cli(proc, "events", "resend", ids[1], "--yes")
        assert out.returncode == 0, out.stdout + out.stderr
        receiver.wait_for(before + n, timeout=30)
    # Then the receiver gets two new requests, each under its own key, never the original's
    keys = [r.headers.get("idempotency-key") for r in receiver.requests[before:]]
    assert keys == [f"{ids[1]}:orders-to-crm#resend-1", f"{ids[1]}:orders-to-crm#resend-2"], keys
    # When the user re-sends every event of one customer in bulk, at a rate
    out = cli(proc, "events", "resend", "--where", 'body.order.customer = "cus_42"', "--rate", "5/s", "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    got = receiver.wait_for(before + 3, timeout=30)
    # Then that customer's event arrives once more, as its first re-send
    assert [r.headers.get("idempotency-key") for r in got[before + 2:]] == [f"{ids[2]}:orders-to-crm#resend-1"]
