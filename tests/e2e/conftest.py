"""`hookline dev` as a subprocess, with a test configuration and real local receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import DevProcess, Pipeline, free_port, report, write_config
from tests.support.receiver import Receiver, Script


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    workdir = tmp_path_factory.mktemp("dev")
    receivers = {
        "ok": Receiver(Script(statuses=[200])),
        "flaky": Receiver(Script(statuses=[500, 500, 200])),
        "broken": Receiver(Script(statuses=[500])),
    }
    for r in receivers.values():
        r.__enter__()
    config = write_config(workdir, receivers)
    dev = DevProcess(workdir, config, free_port())
    try:
        seconds = dev.wait_ready()
        report(request, f"\nhookline dev: start-up to ready in {seconds:.2f} s (process spawn to the ready line)")
        yield Pipeline(dev, receivers, config)
    finally:
        dev.interrupt()
        for r in receivers.values():
            r.__exit__(None, None, None)
