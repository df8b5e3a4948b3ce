"""`make test` installs Chromium for the console's browser tests (scripts/ensure-chromium), and those
tests fail, never skip, saying what to install, where it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ensure-chromium"


def _run(chromium: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], env={**os.environ, "HOOKLINE_CHROMIUM": chromium}, capture_output=True,
                          text=True, timeout=30, check=False)


def test_make_test_and_ci_run_it_first_and_ci_only_calls_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recipe[1].strip() == "scripts/ensure-chromium", recipe
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test" and not any("apt-get" in line or "chromium" in line for line in ci), ci


def test_a_chromium_that_is_there_costs_nothing() -> None:
    done = _run(sys.executable)  # any executable will do: it is only looked for
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_one_that_cannot_be_installed_fails_saying_what_to_install() -> None:
    # Not /usr/bin/chromium: apt-get's package would not put it there, so the script says so at once
    done = _run("/nonexistent/chromium")
    assert done.returncode == 1
    assert "need Chromium at /nonexistent/chromium" in done.stderr
    assert "apt-get install -y chromium" in done.stderr and "HOOKLINE_CHROMIUM=" in done.stderr


def test_the_browser_tests_fail_not_skip_without_chromium() -> None:
    # Collected and run with a Chromium that is not there: every test must fail with the message
    # (a skip would let `make test` pass on a machine that never ran them).
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           "tests/e2e/test_console_browser.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HOOKLINE_CHROMIUM": "/nonexistent/chromium"},
                          check=False)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1 and "skipped" not in summary and "passed" not in summary, summary
    assert "/nonexistent/chromium not found" in done.stdout and "apt-get install -y chromium" in done.stdout
