"""`hookline dev`'s stdout router: JSON lines (Powertools logs, EMF) to the log file, the rest to the terminal."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path

import pytest

from hookline.local import devlog


def test_lines_written_from_many_threads_in_pieces_reach_one_side_whole() -> None:
    console, log = io.StringIO(), io.StringIO()
    router = devlog.LineRouter(console, log)
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(200):
            # as print() does: the text, then its newline, in separate writes; a JSON document in two pieces
            router.write(f"12:00:00 → route {n}-{i} delivered")
            router.write("\n")
            router.write('{"level": "ERROR", "message": ')
            router.write(json.dumps(f"{n}-{i}") + "}")
            router.write("\n")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shown = console.getvalue().splitlines()
    logged = [json.loads(line)["message"] for line in log.getvalue().splitlines()]
    assert len(shown) == len(logged) == 8 * 200
    assert all(line.startswith("12:00:00 → route ") and line.endswith(" delivered") for line in shown)
    assert sorted(logged) == sorted(f"{n}-{i}" for n in range(8) for i in range(200))


def test_a_partial_readable_line_shows_on_flush_and_a_partial_json_line_waits() -> None:
    console, log = io.StringIO(), io.StringIO()
    router = devlog.LineRouter(console, log)
    router.write("stopping…")
    router.flush()
    assert console.getvalue() == "stopping…"
    router.write('{"_aws": ')
    router.flush()
    assert log.getvalue() == "" and console.getvalue() == "stopping…"
    router.write("{}}\n")
    assert log.getvalue() == '{"_aws": {}}\n'


def test_powertools_logs_and_emf_go_to_the_file_after_divert(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import single_metric
    from aws_lambda_powertools.metrics import MetricUnit

    from hookline.observability import logger

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")  # as in `hookline dev`, where EMF still appears
    path = tmp_path / ".hookline" / "dev.log"
    path.parent.mkdir()
    path.write_text("the last run's lines\n")
    router = devlog.divert(path)
    try:
        logger.error("dead-lettered", extra={"route": "r"})
        with single_metric(name="DeadLettered", unit=MetricUnit.Count, value=1, namespace="Hookline") as metric:
            metric.add_dimension(name="reason", value="permanent_http")
        print("12:00:00 → r e1 attempt 1: 400, dead-lettered")
    finally:
        devlog.restore(router)
    assert sys.stdout is not router
    out = capsys.readouterr().out
    assert out == "12:00:00 → r e1 attempt 1: 400, dead-lettered\n"
    docs = [json.loads(line) for line in path.read_text().splitlines()]  # emptied at the start: all JSON
    assert [d.get("message") for d in docs if "level" in d] == ["dead-lettered"]
    assert any("_aws" in d for d in docs)


def test_hookline_dev_diverts_to_dev_log_unless_log_file_is_dash(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    from argparse import Namespace

    from hookline.commands.dev import DevRuntime
    from hookline.observability import logger

    saved_env, level = dict(os.environ), logger.log_level
    monkeypatch.setenv("HOOKLINE_DEV_STATE", str(tmp_path / ".hookline" / "dev.json"))
    try:
        for log_file, expected in (("-", None), (None, tmp_path / ".hookline" / "dev.log"),
                                   (str(tmp_path / "elsewhere.log"), tmp_path / "elsewhere.log")):
            before = sys.stdout
            dev = DevRuntime(Namespace(config=str(tmp_path / "hookline.yaml"), log_level="ERROR", log_file=log_file))
            dev.functions = []
            dev._function_environment()
            try:
                assert dev.log_file == (expected.resolve() if expected else None)
                assert (sys.stdout is not before) == (expected is not None)
            finally:
                devlog.restore(sys.stdout if isinstance(sys.stdout, devlog.LineRouter) else None)
            assert sys.stdout is before
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        logger.setLevel(level)
