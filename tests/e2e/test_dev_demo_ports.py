"""`make dev`'s demo with its ports taken: the demo CRM and orders API move to free ports, and the demo
configuration's URLs follow them, in the dev process and in a second shell's `hookline sync run`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import DevProcess, dev_env, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=cwd, env=dev_env(),
                          capture_output=True, text=True, timeout=120)


def test_taken_demo_ports_fall_back_and_the_demo_configuration_follows(tmp_path: Path, taken: list[int]) -> None:
    for name in ("hookline.yaml", "demo.env", "payloads"):
        source = ROOT / "examples" / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    crm_asked, orders_asked = taken
    dev = DevProcess(tmp_path, tmp_path / "hookline.yaml", free_port(), "--demo-crm", str(crm_asked),
                     "--demo-orders", str(orders_asked), "--parameter", "WarehouseStreamName=hookline-orders")
    try:
        dev.wait_ready(90)
        # Then the banner says where each demo went instead
        crm_port = int(dev.wait_for(rf"demo CRM: 127\.0\.0\.1:{crm_asked} is in use; listening on "
                                    r"127\.0\.0\.1:(\d+) instead").group(1))
        orders_port = int(dev.wait_for(rf"demo orders API: 127\.0\.0\.1:{orders_asked} is in use; listening on "
                                       r"127\.0\.0\.1:(\d+) instead").group(1))
        assert {crm_port, orders_port}.isdisjoint(taken)
        assert dev.state()["environment"] == {"CRM_PORT": str(crm_port), "ORDERS_PORT": str(orders_port)}
        # When an event is sent, the delivery reaches the demo CRM where it now listens
        sent = cli(tmp_path, "send", "github", "--data", "payloads/github-issue.json")
        assert sent.returncode == 0 and "202" in sent.stdout, sent.stdout + sent.stderr
        dev.wait_for(r"CRM received POST /contacts: .*Checkout page times out", 30)
        dev.wait_for(r"→ issues-to-crm .* 200 in .*delivered", 30)
        # And a sync run from a second shell pulls the demo orders API on its new port
        run = cli(tmp_path, "sync", "run", "orders")
        assert run.returncode == 0, run.stdout + run.stderr
        queued = re.search(r"sync orders: completed — \d+ page\(s\), \d+ seen, (\d+) queued", run.stdout)
        assert queued and int(queued.group(1)) > 0, run.stdout
        dev.wait_for(r"CRM received POST /orders: ", 30)
    finally:
        dev.interrupt()
