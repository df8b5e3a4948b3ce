"""Records through `hookline dev`, black-box: stale guard, per-key order, breaker through an outage, rate limit.

One `hookline dev` for the module, one destination (a real local receiver) per feature.
The long outage proof (60 s down, 100 events, cool-down 10 s) runs with RECORDS_PROOF=1
(`make records-proof`); the default suite runs the same test at a reduced size.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookline.delivery.guards.limits import GUARD_SECONDS, SLOT_TOLERANCE_SECONDS
from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import GITHUB_SECRET, DevProcess, dev_env, free_port, report
from tests.e2e.test_dev_pipeline import post
from tests.support.receiver import Received, Receiver, Script

pytestmark = pytest.mark.e2e

PROOF = os.environ.get("RECORDS_PROOF") == "1"
OUTAGE = {"seconds": 60, "events": 100, "failures": 3, "cool_down": 10} if PROOF else \
    {"seconds": 12, "events": 20, "failures": 3, "cool_down": 3}


class Switch:
    """A destination that answers 503 while down, 200 otherwise."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, request: Received) -> int:
        return 503 if self.down else 200


class FailFirst:
    """Fails the first `times` requests of one record's first event; everything else gets 200."""

    def __init__(self, event_marker: str, times: int) -> None:
        self.marker, self.times, self.seen = event_marker, times, 0
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> int:
        if request.json().get("marker") == self.marker:
            with self.lock:
                self.seen += 1
                if self.seen <= self.times:
                    return 503
        return 200


class Records:
    def __init__(self, dev: DevProcess, config: Path, receivers: dict[str, Receiver], switch: Switch,
                 fail_first: FailFirst) -> None:
        self.dev, self.config, self.receivers, self.switch, self.fail_first = dev, config, receivers, switch, fail_first
        self.verify = load_config(config).sources["github"].verify

    def send(self, event: str, payload: dict[str, Any]) -> str:
        body = json.dumps(payload).encode()
        headers = sign(self.verify, GITHUB_SECRET, body, msg_id=str(uuid.uuid4()))
        headers.update({"X-GitHub-Event": event, "Content-Type": "application/json"})
        status, answer = post(f"{self.dev.url}/webhooks/github", body, headers)
        assert status == 202, (status, answer)
        return str(answer["id"])

    def cli(self, *args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "hookline.cli", *args, "--json"], cwd=self.dev.cwd, env=dev_env(),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    def events(self, route: str) -> dict[str, dict[str, Any]]:
        return {row["id"]: row for row in self.cli("events", "--route", route)}


def _config(directory: Path, receivers: dict[str, Receiver]) -> Path:
    def dest(name: str, **extra: Any) -> dict[str, Any]:
        return {"url": f"{receivers[name].url}/{name}", "timeout_seconds": 5, **extra}

    def route(name: str, dest_name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "source": "github", "destination": dest_name,
                "when": f"headers.\"x-github-event\" == '{name}'", **extra}

    cfg = {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {
            "crm": dest("crm"),
            "ordered": dest("ordered"),
            "outage": dest("outage", circuit_breaker={"failures": OUTAGE["failures"],
                                                      "cool_down_seconds": OUTAGE["cool_down"]}),
            "limited": dest("limited", rate_limit="5/s"),
        },
        "routes": [
            route("versions", "crm", key="body.record.id", version="body.record.version"),
            route("ordered", "ordered", key="body.record.id", ordered=True,
                  retry={"schedule_seconds": [6, 6]}),
            route("outage", "outage", retry={"schedule_seconds": [1, 1]}),
            # Two routes, two queues, two pollers, one rate limit.
            route("limited", "limited"),
            route("limited-ordered", "limited", key="body.record.id", ordered=True),
        ],
        "retry": {"schedule_seconds": [1, 1]},
    }
    path = directory / "hookline.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Records]:
    workdir = tmp_path_factory.mktemp("records")
    switch = Switch()
    fail_first = FailFirst("A-0", times=2)
    receivers = {"crm": Receiver(), "ordered": Receiver(Script(respond=fail_first)),
                 "outage": Receiver(Script(respond=switch)), "limited": Receiver()}
    for r in receivers.values():
        r.__enter__()
    config = _config(workdir, receivers)
    dev = DevProcess(workdir, config, free_port())
    try:
        dev.wait_ready(60)
        yield Records(dev, config, receivers, switch, fail_first)
    finally:
        dev.interrupt()
        for r in receivers.values():
            r.__exit__(None, None, None)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_ten_versions_in_random_order_end_on_the_highest_and_late_old_ones_are_stale(records: Records,
                                                                                    request: Any) -> None:
    # Given 10 versions of one record, sent in a random order
    order = list(range(10))
    random.Random(7).shuffle(order)
    ids = {}
    for v in order:
        ids[v] = records.send("versions", {"record": {"id": "contact-1", "version": v}, "name": f"v{v}"})
    crm = records.receivers["crm"]
    # When every event is settled (delivered or stale)
    def settled() -> bool:
        rows = records.events("versions")
        return all(rows.get(ids[v], {}).get("status") in ("delivered", "stale") for v in order)

    _wait(settled, 60, "every version delivered or stale")
    rows = records.events("versions")
    writes = [r.json()["record"]["version"] for r in crm.requests]
    report(request, f"\nversions sent {order}; writes at the destination {writes}; "
                    f"stale {sorted(v for v in order if rows[ids[v]]['status'] == 'stale')}")
    # Then the destination's last write is the highest version, and its writes only ever went up
    assert writes[-1] == 9
    assert writes == sorted(writes) and len(set(writes)) == len(writes)
    # And every version is either written or `stale`, and a stale one always lost to a newer delivered version
    for v in order:
        status = rows[ids[v]]["status"]
        assert (status == "delivered") == (v in writes), (v, status)
        if status == "stale":
            assert any(w > v for w in writes), v
            assert "not newer than the delivered version" in rows[ids[v]]["last_error"]
    assert sum(rows[ids[v]]["status"] == "stale" for v in order) == 10 - len(writes) > 0
    # And the `hookline dev` console says so
    records.dev.wait_for(r"→ versions \S+: stale: version \d+ is not newer than the delivered version \d+")


def test_ordered_keys_arrive_in_accepted_order_and_a_retrying_key_holds_back_only_itself(records: Records,
                                                                                          request: Any) -> None:
    # Given 50 updates to 5 keys, accepted in this order, where key A's first event fails twice
    keys = ["A", "B", "C", "D", "E"]
    accepted: dict[str, list[str]] = {k: [] for k in keys}
    for i in range(10):
        for k in keys:
            marker = f"{k}-{i}"
            records.send("ordered", {"record": {"id": k}, "marker": marker})
            accepted[k].append(marker)
    receiver = records.receivers["ordered"]
    # When all of them are delivered
    def delivered() -> list[Received]:
        return [r for r in receiver.requests if r.status == 200]

    _wait(lambda: len(delivered()) >= 50, 90, "50 deliveries")
    ok = delivered()
    per_key = {k: [r.json()["marker"] for r in ok if r.json()["record"]["id"] == k] for k in keys}
    # Then each key's events reached the destination in accepted order, each once
    assert per_key == accepted
    # And key A's first event was answered 503 twice before its 200
    a0 = [r.status for r in receiver.requests if r.json()["marker"] == "A-0"]
    assert a0 == [503, 503, 200]
    # And keys B-E were not delayed by it: all delivered before A's first event finally went through
    a0_done = next(r.at for r in ok if r.json()["marker"] == "A-0")
    last_other = max(r.at for r in ok if r.json()["record"]["id"] != "A")
    first_a = min(r.at for r in receiver.requests if r.json()["marker"] == "A-0")
    report(request, f"\nordered: B-E done {last_other - first_a:.1f} s after A-0's first try; "
                    f"A-0 delivered after {a0_done - first_a:.1f} s (two retries of 6 s)")
    assert last_other < a0_done


def test_breaker_holds_events_through_an_outage_and_drains_them_once_after_recovery(records: Records,
                                                                                   request: Any) -> None:
    receiver, switch = records.receivers["outage"], records.switch
    # Given a destination that worked, then went down (idle for over a second)
    records.send("outage", {"record": {"id": "warm-up"}})
    _wait(lambda: len(receiver.requests) == 1, 30, "the warm-up delivery")
    switch.down = True
    time.sleep(1.5)
    outage_start = time.time()
    # When events are queued while it is down
    ids = [records.send("outage", {"record": {"id": f"o-{i}"}, "n": i}) for i in range(OUTAGE["events"])]
    # And `hookline destinations` shows the breaker open, holding events
    def outage_row() -> dict[str, Any]:
        return next(r for r in records.cli("destinations") if r["name"] == "outage")

    _wait(lambda: outage_row()["breaker"] in ("open", "half-open") and outage_row()["held"] > 0,
          OUTAGE["seconds"] - 3, "the breaker to open and hold events")
    row = outage_row()
    assert row["circuit_breaker"]["failures"] == OUTAGE["failures"] and row["error_rate"] > 0
    records.dev.wait_for(r"→ outage \S+: held: the destination's circuit breaker is open")
    time.sleep(max(0.0, outage_start + OUTAGE["seconds"] - time.time()))
    during = [r for r in receiver.requests[1:]]
    switch.down = False
    recovered = time.time()
    # Then, after recovery, every event is delivered exactly once and none is in the DLQ
    def ok_keys() -> list[str]:
        return [r.headers["idempotency-key"] for r in receiver.requests[1:] if r.status == 200]

    _wait(lambda: len(set(ok_keys())) >= OUTAGE["events"], 120 + OUTAGE["seconds"], "every held event delivered")
    time.sleep(2)
    keys = ok_keys()
    drained = max(r.at for r in receiver.requests if r.status == 200) - recovered
    probes_allowed = int((recovered - outage_start) // OUTAGE["cool_down"]) + 1
    report(request, f"\noutage {recovered - outage_start:.0f} s, {OUTAGE['events']} events queued, breaker "
                    f"failures={OUTAGE['failures']} cool_down={OUTAGE['cool_down']} s: {len(during)} requests during "
                    f"the outage (bound {OUTAGE['failures']} + {probes_allowed} probes) at "
                    f"{[round(r.at - outage_start, 1) for r in during]} s; drained {len(keys)} deliveries "
                    f"{drained:.1f} s after recovery")
    assert len(during) <= OUTAGE["failures"] + probes_allowed
    assert sorted(keys) == sorted(f"{i}:outage" for i in ids)  # exactly once each
    assert records.cli("dlq", "list") == []
    rows = records.events("outage")
    assert all(rows[i]["status"] == "delivered" for i in ids)
    assert outage_row()["breaker"] == "closed"


def test_rate_limit_holds_across_two_concurrent_pollers(records: Records, request: Any) -> None:
    receiver = records.receivers["limited"]
    # Given 30 events for one destination limited to 5/s, half through the standard queue and half
    # through the FIFO queue: two pollers invoking the deliver function concurrently
    for i in range(15):
        records.send("limited", {"record": {"id": f"s-{i}"}})
        records.send("limited-ordered", {"record": {"id": f"f-{i}"}})
    # When they are delivered
    _wait(lambda: len(receiver.requests) >= 30, 90, "30 deliveries")
    time.sleep(1)
    # Then no 1-second window saw more than 5 requests where hookline made them (each attempt's `at`, on
    # the clock the limiter's slots are on) ...
    arrived = {r.headers["idempotency-key"]: r.at for r in receiver.requests}
    sent = {f"{row['id']}:{route}": row["attempt_history"][-1]["at"]
            for route in ("limited", "limited-ordered") for row in records.events(route).values()}
    assert len(arrived) == 30 and set(sent) == set(arrived), (sorted(sent), sorted(arrived))
    sent_max = _window_max(list(sent.values()))
    # ... nor at the receiver, unless the requests' transport lag (sent -> read by the receiver's thread, on a
    # loaded 2-core machine) varied more than the limiter's guard leaves for it: GUARD_SECONDS less
    # SLOT_TOLERANCE_SECONDS. Before the limiter judged the slot again at the send (03:41 run) hookline
    # itself sent 6 in one second, 43 ms apart after a slow claim write
    lags = {k: arrived[k] - sent[k] for k in sent}
    times = sorted(arrived.values())
    arrived_max = _window_max(times)
    crowded = [[k for k in arrived if start <= arrived[k] < start + 1.0] for start in times]
    spread = max((max(lags[k] for k in w) - min(lags[k] for k in w) for w in crowded if len(w) > 5), default=0.0)
    routes = {k.rsplit(":", 1)[1] for k in arrived}
    report(request, f"\nrate_limit 5/s, 2 pollers ({', '.join(sorted(routes))}): {len(times)} requests in "
                    f"{times[-1] - times[0]:.1f} s, max {sent_max} sent and {arrived_max} arrived in any 1 s window; "
                    f"lag sent -> arrived p50 {sorted(lags.values())[15] * 1000:.1f} ms, "
                    f"max {max(lags.values()) * 1000:.1f} ms")
    assert routes == {"limited", "limited-ordered"}
    assert sent_max <= 5
    assert arrived_max <= 5 or spread > GUARD_SECONDS - SLOT_TOLERANCE_SECONDS, (arrived_max, spread)


def _window_max(times: list[float], period: float = 1.0) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times))
