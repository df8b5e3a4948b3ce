"""`hookline dev`'s stream holds only its readable lines: the functions' JSON logs and EMF metrics go to
.hookline/dev.log (named in the banner); `--log-file -` puts them back in the stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import DevProcess, free_port, write_config
from tests.e2e.test_dev_pipeline import ISSUE, post
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

# Powertools prints an EMF document once a metric holds 100 values (the flush itself is off locally).
EVENTS = 101


def machine_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("{")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevProcess, Path]]:
    workdir = tmp_path_factory.mktemp("devlogs")
    with Receiver(Script(statuses=[200])) as ok, Receiver(Script(statuses=[400])) as refuses:
        config = write_config(workdir, {"ok": ok, "refuses": refuses})
        dev = DevProcess(workdir, config, free_port())
        try:
            dev.wait_ready(60)
            verify = load_config(config).sources["github"].verify
            for i in range(EVENTS):
                event = "refuses" if i == 0 else "ok"  # one permanent failure: logged at ERROR ("dead-lettered")
                delivery = str(uuid.uuid4())
                body = json.dumps({**ISSUE, "hook_id": delivery}).encode()
                headers = {**sign(verify, "e2e-github-secret", body, msg_id=delivery),
                           "X-GitHub-Event": event, "Content-Type": "application/json"}
                assert post(f"{dev.url}/webhooks/github", body, headers)[0] == 202
            dev.wait_for(r"to-refuses .* dead-lettered|to-refuses .*permanent", 30)
            dev.wait_for(r"to-ok .* delivered", 30)
            yield dev, workdir
        finally:
            dev.interrupt()


def test_the_stream_has_no_json_lines_and_the_log_file_has_them(run: tuple[DevProcess, Path]) -> None:
    dev, workdir = run
    log = workdir / ".hookline" / "dev.log"
    # Then the banner says where the machine logs are
    assert any(line.strip().startswith("logs") and ".hookline/dev.log" in line for line in dev.lines), dev.output()
    # And the console stream holds only readable lines
    assert machine_lines(dev.output()) == [], machine_lines(dev.output())[:3]
    # And the log file holds the dead letter's ERROR line and the EMF metrics, each a JSON document
    logged = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(doc.get("level") == "ERROR" and doc.get("message") == "dead-lettered" for doc in logged), logged[:3]
    assert any("_aws" in doc and "CloudWatchMetrics" in doc["_aws"] for doc in logged), logged[:3]

