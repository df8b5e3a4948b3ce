"""The quickstart's repair loop (docs/index.md), locally: dead-lettered, restarted, mapping fixed and reloaded,
dry run, replay; then --fresh. (Saving on change, for a crash, is tested in tests/integration/test_dev_state.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import GITHUB_SECRET, DevProcess, dev_env, free_port, report, write_config
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

ISSUE = {"action": "opened", "issue": {"number": 7, "title": "Refund stuck"}, "repository": {"full_name": "acme/x"}}


def hookline(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=cwd, env=dev_env(),
                          capture_output=True, text=True, timeout=60)


def dlq_depth(dev: DevProcess) -> int:
    """Messages in the running dev's DLQ, visible or not (straight from its emulator: no CLI start-up)."""
    import boto3

    state = dev.state()
    sqs = boto3.client("sqs", endpoint_url=state["endpoint_url"], region_name="us-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=state["outputs"]["DeadLetterQueueUrl"], AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def send_issue(dev: DevProcess, config: Path, delivery: str) -> int:
    body = json.dumps(ISSUE).encode()
    headers = sign(load_config(config).sources["github"].verify, GITHUB_SECRET, body, msg_id=delivery)
    headers.update({"X-GitHub-Event": "crm", "Content-Type": "application/json"})
    req = urllib.request.Request(f"{dev.url}/webhooks/github", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=15) as resp:
        return int(resp.status)


@pytest.mark.timeout(240)
def test_dlq_survives_a_restart_and_a_reloaded_mapping_is_replayed(tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    delivery = f"restart-{uuid.uuid4()}"
    with Receiver(Script(statuses=[500])) as crm:
        config = write_config(tmp_path, {"crm": crm})
        # (1) dev is running; (2) an event to a failing destination ends in the DLQ after its retries
        first = DevProcess(tmp_path, config, free_port())
        try:
            first.wait_ready(60)
            assert send_issue(first, config, delivery) == 202
            first.wait_for(rf"→ to-crm {delivery} attempt 3: 500 in \d+ ms, dead-lettered: retries_exhausted", 30)
        finally:
            # (3) Ctrl-C
            code, took = first.interrupt()
        report(request, f"\nhookline dev: Ctrl-C with the final state save took {took:.2f} s")
        assert code == 0, first.output()
        assert "state saved to .hookline/emulator.pickle" in first.output()

        second = DevProcess(tmp_path, config, free_port())
        try:
            second.wait_ready(60)
            second.wait_for(r"state\s+restored from \.hookline/emulator\.pickle")
            # ... and after the restart the DLQ still holds the event
            listed = hookline(tmp_path, "dlq", "list", "--json")
            assert listed.returncode == 0, listed.stderr
            [entry] = [e for e in json.loads(listed.stdout) if e["id"] == delivery]
            assert (entry["route"], entry["reason"], entry["attempts"]) == ("to-crm", "retries_exhausted", 3)

            # (4) the route's mapping is fixed in the file: dev validates it, reloads it, says what changed
            broken = config.read_text()
            config.write_text("routes: [\n")  # an invalid save first: the running configuration is kept
            second.wait_for(r"hookline\.yaml NOT reloaded: \d+ problem", 15)
            cfg = yaml.safe_load(broken)
            cfg["routes"][0]["transform"] = {"headline": "body.issue.title", "ticket": "body.issue.number"}
            config.write_text(yaml.safe_dump(cfg, sort_keys=False))
            second.wait_for(r"hookline\.yaml reloaded: 1 change", 15)
            second.wait_for(r"route to-crm: changed \(transform\)")

            # (5) the dry run shows the new body; the replay to the now-healthy receiver delivers it
            crm.script = Script(statuses=[200])
            dry = hookline(tmp_path, "dlq", "replay", "--id", delivery, "--dry-run")
            assert dry.returncode == 0, dry.stdout + dry.stderr
            assert '"headline": "Refund stuck"' in dry.stdout and "changed since the failure" in dry.stdout
            before = len(crm.requests)
            replay = hookline(tmp_path, "dlq", "replay", "--id", delivery)
            assert replay.returncode == 0, replay.stdout + replay.stderr
            [got] = crm.wait_for(before + 1, timeout=30)[before:]
            assert got.json() == {"headline": "Refund stuck", "ticket": 7}
            assert got.headers["idempotency-key"] == f"{delivery}:to-crm"
            second.wait_for(rf"→ to-crm {delivery} attempt 4: 200 in \d+ ms, delivered", 15)
            # (the attempts before the restart were the first run's to print)
            assert f"{delivery} attempt 1" not in second.output()
            assert dlq_depth(second) == 0
        finally:
            second.interrupt()
        # And --fresh starts empty
        fresh = DevProcess(tmp_path, config, free_port(), "--fresh")
        try:
            fresh.wait_ready(60)
            fresh.wait_for(r"state\s+empty \(--fresh\)")
            assert dlq_depth(fresh) == 0
        finally:
            fresh.interrupt()
        report(request, "\n--- first run ---\n" + first.output() + "\n--- after the restart ---\n" + second.output()
               + f"\n--- dry run ---\n{dry.stdout}\n--- replay ---\n{replay.stdout}{replay.stderr}")
