"""`hookline dev` end to end: Stripe webhooks that never arrived are found by `hookline reconcile run` against a
local fake of Stripe's events API, delivered once to a real receiver, and shown by `hookline reconcile list`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
import yaml

from tests.e2e.helpers import DevProcess, dev_env, environment, free_port
from tests.support.provider_apis import FakeStripe, stripe_event
from tests.support.receiver import Receiver

WHSEC = "whsec_e2e_reconcile"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    now = int(time.time())
    events = [stripe_event(n, now - 3600 - n * 60) for n in range(20)]
    never_sent = set(random.Random(7).sample([e["id"] for e in events], 4))
    fake = FakeStripe(events)
    workdir = tmp_path_factory.mktemp("devreconcile")
    with Receiver() as receiver, environment({"STRIPE_WHSEC": WHSEC, "STRIPE_KEY": FakeStripe.key}):
        cfg = {"sources": {"stripe": {"provider": "stripe", "secrets": ["env:STRIPE_WHSEC"],
                                      "reconcile": {"every": "1h", "lookback": "3d", "api_url": fake.url,
                                                    "api_key": "env:STRIPE_KEY"}}},
               "destinations": {"crm": {"url": f"{receiver.url}/in", "timeout_seconds": 5}},
               "routes": [{"name": "stripe-to-crm", "source": "stripe", "destination": "crm"}]}
        config = workdir / "hookline.yaml"
        config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        dev = DevProcess(workdir, config, free_port())
        try:
            dev.wait_ready(90)
            yield dev, receiver, events, never_sent
        finally:
            dev.interrupt()
            fake.stop()


def cli(dev: DevProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=dev.cwd, env=dev_env(),
                          capture_output=True, text=True, timeout=120)


def wait_count(receiver: Receiver, n: int, timeout: float = 45) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while len(receiver.requests) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return Counter(json.loads(r.body)["id"] for r in receiver.requests)


def post_webhook(dev: DevProcess, event: dict[str, Any]) -> int:
    body = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(body, WHSEC)
    req = urllib.request.Request(f"{dev.url}/webhooks/stripe", data=body.encode(), method="POST",
                                 headers={"Stripe-Signature": header, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        return resp.status


def test_reconcile_run_delivers_the_missed_ones_once_and_list_shows_it(world: Any) -> None:
    dev, receiver, events, never_sent = world
    for e in events:
        if e["id"] not in never_sent:
            assert post_webhook(dev, e) == 202
    assert len(wait_count(receiver, 16)) == 16, dev.output()

    done = cli(dev, "reconcile", "run", "stripe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reconcile stripe: completed" in done.stdout and "4 missed" in done.stdout and "16 arrived" in done.stdout
    got = wait_count(receiver, 20)
    assert set(got) == {e["id"] for e in events} and max(got.values()) == 1, got
    time.sleep(2)  # nothing else comes
    assert len(receiver.requests) == 20

    listed = cli(dev, "reconcile", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = json.loads(listed.stdout)[0]
    assert (row["source"], row["status"], row["lookback"], row["missed"], row["seen"]) == (
        "stripe", "completed", "3d", 4, 20)

    again = cli(dev, "reconcile", "run", "stripe")
    assert again.returncode == 0 and "0 missed" in again.stdout, again.stdout + again.stderr
    time.sleep(2)
    assert len(receiver.requests) == 20


def test_reconcile_run_of_a_source_without_reconcile_says_what_to_add(world: Any) -> None:
    dev, *_ = world
    out = cli(dev, "reconcile", "run", "nope")
    assert out.returncode != 0 and "sources.nope.reconcile" in (out.stdout + out.stderr)
