"""Hostile HTTP through a running `hookline dev`: every request gets an HTTP answer, nothing crashes.

The default suite fires HOSTILE_REQUESTS (300) seeded requests; `make hostile` fires 1,500 and prints the tally.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import hostile
from tests.e2e.helpers import GITHUB_SECRET, DevProcess, free_port, report, write_config
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

COUNT = int(os.environ.get("HOSTILE_REQUESTS", "300"))
SEED = int(os.environ.get("HOSTILE_SEED", "20261128"))


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    workdir: Path = tmp_path_factory.mktemp("hostile")
    with Receiver(Script(statuses=[200])) as ok:
        proc = DevProcess(workdir, write_config(workdir, {"ok": ok}), free_port())
        try:
            proc.wait_ready()
            yield proc
        finally:
            proc.interrupt()


@pytest.mark.timeout(900)
def test_every_hostile_request_gets_an_http_answer_and_nothing_crashes(dev: DevProcess,
                                                                       request: pytest.FixtureRequest) -> None:
    # Given a running `hookline dev`
    # When seeded hostile traffic hits its gateway over raw sockets
    tally = hostile.run("127.0.0.1", dev.port, COUNT, SEED, GITHUB_SECRET)
    output = dev.output() + "\n" + dev.log()  # a logged exception's traceback is in the log file
    tracebacks = output.count("Traceback (most recent call last)")
    report(request, f"\nhostile requests (seed {SEED}): {tally.summary()}\n  tracebacks in the dev log: {tracebacks}")
    # Then no connection ended before every one of its requests had an HTTP status line
    assert tally.sent >= COUNT
    assert tally.dropped_connections == 0, [(o.kind, o.expect, o.statuses, o.error) for o in tally.drops[:10]]
    assert tally.answered == tally.sent
    # And nothing failed inside: no traceback, no 500 (an emulator or function crash), no waitress error log
    assert tracebacks == 0, output[-4000:]
    assert "Exception while serving" not in output
    assert 500 not in tally.statuses, [line for line in output.splitlines() if " 500 " in line][:5]
    # And the signed webhooks among them were accepted
    assert tally.statuses[202] > 0
    # And no request could forge a console line (the paths carry %0d%0a and U+2028)
    assert not [line for line in output.splitlines() if line.startswith("FORGED")]
    assert re.search(r"\\r\\nFORGED", output)
    # And the pipeline still works afterwards
    assert hostile.fire("127.0.0.1", dev.port,
                        hostile.Case("signed", hostile.Generator(1, GITHUB_SECRET).signed(), 1)).statuses == [202]
