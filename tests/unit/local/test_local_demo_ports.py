"""`hookline dev --demo-crm PORT --demo-orders PORT`: a taken port falls back to a free one, and the ports are
exported for the configuration's `${CRM_PORT:-8081}` URLs; `make dev CRM_PORT=… ORDERS_PORT=…` passes them."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from argparse import Namespace
from pathlib import Path

import pytest

from hookline.commands import dev_demos

ROOT = Path(__file__).resolve().parents[3]


def test_taken_ports_fall_back_to_free_ones_and_are_exported(taken: list[int]) -> None:
    notes: list[str] = []
    lines: list[str] = []
    crm, orders, env = dev_demos.start(Namespace(demo_crm=taken[0], demo_orders=taken[1]), lines.append, notes)
    try:
        assert crm.port not in taken and orders.port not in taken
        assert env == {"CRM_PORT": str(crm.port), "ORDERS_PORT": str(orders.port)}
        assert notes == [
            f"demo CRM: 127.0.0.1:{taken[0]} is in use; listening on 127.0.0.1:{crm.port} instead "
            "(the configuration's URLs follow it)",
            f"demo orders API: 127.0.0.1:{taken[1]} is in use; listening on 127.0.0.1:{orders.port} instead "
            "(the configuration's URLs follow it)"]
        # And both serve where they said
        request = urllib.request.Request(f"{crm.url}/contacts", data=b'{"a": 1}', method="POST")
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.status == 200
        assert lines == ['CRM received POST /contacts: {"a": 1}']
        with urllib.request.urlopen(f"{orders.url}?page=1&per_page=2", timeout=5) as resp:
            assert len(json.loads(resp.read())["data"]) == 2
    finally:
        crm.stop()
        orders.stop()


def test_a_free_port_is_kept_and_nothing_is_noted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    notes: list[str] = []
    crm, orders, env = dev_demos.start(Namespace(demo_crm=free, demo_orders=None), print, notes)
    try:
        assert (crm.port, orders, env, notes) == (free, None, {"CRM_PORT": str(free)}, [])
    finally:
        crm.stop()


def test_make_dev_passes_the_ports_it_is_given() -> None:
    def dry_run(*extra: str) -> str:
        out = subprocess.run(["make", "-n", "dev", *extra], cwd=ROOT, capture_output=True, text=True, timeout=60)
        return next(line for line in out.stdout.splitlines() if "hookline dev" in line)

    assert "--demo-crm 8081 --demo-orders 8082" in dry_run()
    assert "--demo-crm 9101 --demo-orders 9102" in dry_run("CRM_PORT=9101", "ORDERS_PORT=9102")


def test_a_port_that_cannot_be_had_says_what_to_do(taken: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def refused(port: int) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    with pytest.raises(dev_demos.DemoPortError) as exc:
        dev_demos.listen(refused, 80, "demo CRM", [])
    assert str(exc.value).startswith("demo CRM cannot listen on 127.0.0.1:80: Permission denied (choose another port")
    assert "make dev CRM_PORT=" in str(exc.value)


def test_a_port_out_of_range_is_refused_by_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from hookline.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["dev", "--demo-crm", "70000"])
    assert exc.value.code == 2
    assert "--demo-crm: '70000' is not a port (0-65535; 0 = any free port)" in capsys.readouterr().err
