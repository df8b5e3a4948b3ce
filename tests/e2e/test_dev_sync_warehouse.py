"""`hookline dev` end to end: a sync pulls a real paged API; records land as NDJSON in moto's S3,
directly (`type: s3`) and through Firehose (`type: firehose`); `hookline sync run|list` drive it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import yaml

from tests.e2e.helpers import DevProcess, dev_env, free_port
from tests.support.paged_api import PagedApi

LOCAL_WAREHOUSE = "hookline-warehouse-local"


@pytest.fixture(scope="module")
def shop() -> Iterator[PagedApi]:
    api = PagedApi(page_size=3)
    api.add(7)
    yield api
    api.stop()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, shop: PagedApi) -> Iterator[DevProcess]:
    workdir = tmp_path_factory.mktemp("devsync")
    order = {"order_id": "body.id", "name": "body.name", "version": "body.updated_at"}
    cfg = {
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "header": "x-sig",
                                        "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {"lake": {"type": "s3", "bucket": "e2e-lake", "prefix": "orders/"},
                         "stream": {"type": "firehose", "stream": "e2e-orders"}},
        "routes": [{"name": "orders-to-lake", "source": "shop", "destination": "lake", "transform": order},
                   {"name": "orders-to-stream", "source": "shop", "destination": "stream", "transform": order}],
        "syncs": {"orders": {"source": "shop", "url": shop.url("page"), "items_path": "data", "id_path": "id",
                             "version_path": "updated_at", "every": "1h",
                             "pagination": {"style": "page", "param": "page", "limit_param": "per_page", "limit": 3},
                             "watermark": {"path": "updated_at", "param": "updated_since"}}},
    }
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = DevProcess(workdir, config, free_port(), "--enable-schedules", "--fire-schedules-on-start",
                      "--parameter", "WarehouseStreamName=e2e-orders", "--parameter", "WarehouseBucketName=e2e-lake",
                      "--parameter", "WarehousePrefix=orders/")
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.interrupt()


def s3(dev: DevProcess) -> Any:
    state = dev.state()
    return boto3.client("s3", endpoint_url=state["endpoint_url"], region_name=state["region"],
                        aws_access_key_id="x", aws_secret_access_key="x")


def ndjson(client: Any, bucket: str, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))
    lines: list[dict[str, Any]] = []
    for key in keys:
        text = client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        lines += [json.loads(line) for line in text.splitlines() if line]
    return keys, lines


def wait_lines(dev: DevProcess, bucket: str, prefix: str, n: int, timeout: float = 45) -> tuple[list[str], list[Any]]:
    client = s3(dev)
    deadline = time.monotonic() + timeout
    while True:
        keys, lines = ndjson(client, bucket, prefix)
        if len(lines) >= n or time.monotonic() > deadline:
            return keys, lines
        time.sleep(0.3)


def cli(dev: DevProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = dev_env()
    return subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=dev.cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_scheduled_sync_lands_ndjson_in_s3_directly_and_through_firehose(dev: DevProcess) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    keys, lines = wait_lines(dev, "e2e-lake", "orders/", 7)
    assert sorted(r["order_id"] for r in lines) == list(range(1, 8)), dev.output()
    assert all(k.startswith(f"orders/dt={today}/") and k.endswith(".ndjson") for k in keys)
    assert len(keys) < 7  # one object per delivery batch, not per record
    assert {"order_id": 1, "name": "order-1", "version": 100} in lines

    fh_keys, fh_lines = wait_lines(dev, LOCAL_WAREHOUSE, "e2e-orders/", 7)
    assert sorted(r["order_id"] for r in fh_lines) == list(range(1, 8))
    assert all(k.startswith(f"e2e-orders/{datetime.now(UTC):%Y/%m/%d}/") for k in fh_keys)


def test_sync_run_delivers_a_changed_record_and_sync_list_shows_it(dev: DevProcess, shop: PagedApi) -> None:
    wait_lines(dev, "e2e-lake", "orders/", 7)
    shop.update(4, 500, name="order-4-v2")
    done = cli(dev, "sync", "run", "orders")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sync orders: completed" in done.stdout and "1 queued" in done.stdout
    # Its stdout is the summary: the run's own JSON log line goes to the dev's log file
    assert [line for line in done.stdout.splitlines() if line.startswith("{")] == [], done.stdout
    assert '"sync run finished"' in (dev.cwd / ".hookline" / "dev.log").read_text()

    _, lines = wait_lines(dev, "e2e-lake", "orders/", 8)
    assert {"order_id": 4, "name": "order-4-v2", "version": 500} in lines
    assert len(lines) == 8  # the unchanged versions were not delivered again

    listed = cli(dev, "sync", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = json.loads(listed.stdout)[0]
    assert (row["sync"], row["status"], row["watermark"], row["queued"]) == ("orders", "completed", "500", 1)


def test_sync_run_exits_1_when_pages_fail(dev: DevProcess, shop: PagedApi) -> None:
    from tests.support.paged_api import Fault

    wait_lines(dev, "e2e-lake", "orders/", 7)
    shop.faults[len(shop.requests) + 1] = Fault(503)
    failed = cli(dev, "sync", "run", "orders")
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "answered 503" in failed.stdout
