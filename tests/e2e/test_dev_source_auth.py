"""`auth:` sources through `hookline dev`, as a user runs them: real HTTP from this machine (source IP
127.0.0.1, as API Gateway's requestContext reports it), a real local receiver out.

`all_of: [api_key, ip_allowlist]`: the key from an allowed address is delivered (without the key); a wrong key,
or the right key to a source whose allowlist does not hold this machine, is 401 "authentication failed" with the
reason in the functions' log and the key nowhere in it. `hookline send SOURCE` meets basic and api_key sources.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import DevProcess, delivered, dev_env, environment, free_port, report, write_sources_config
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

SECRETS = {"E2E_AUTH_KEY": "partner-key-e2e-5d1c", "E2E_AUTH_USER": "hooks", "E2E_AUTH_PASS": "basic-pass-e2e-77"}
KEY = {"api_key": {"header": "X-Partner-Key", "value": "env:E2E_AUTH_KEY"}}
SOURCES = {
    "partner": {"auth": {"all_of": [KEY, {"ip_allowlist": ["127.0.0.0/8", "::1"]}]}, "id_path": "id"},
    "far": {"auth": {"all_of": [KEY, {"ip_allowlist": ["203.0.113.0/24"]}]}},
    "basic": {"auth": {"basic": {"user": "env:E2E_AUTH_USER", "password": "env:E2E_AUTH_PASS"}}},
}
REFUSED = (401, {"error": "authentication failed"})


class Dev:
    def __init__(self, dev: DevProcess, receiver: Receiver) -> None:
        self.dev, self.receiver = dev, receiver

    def post(self, source: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
        req = urllib.request.Request(f"{self.dev.url}/webhooks/{source}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def send(self, source: str, data: str) -> subprocess.CompletedProcess[str]:
        path = self.dev.cwd / f"{source}.json"
        path.write_text(data)
        return subprocess.run([sys.executable, "-m", "hookline.cli", "send", source, "--data", str(path)],
                              cwd=self.dev.cwd, env=dev_env(), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Dev]:
    workdir: Path = tmp_path_factory.mktemp("source_auth")
    with Receiver(Script(statuses=[200])) as receiver, environment(SECRETS):
        process = DevProcess(workdir, write_sources_config(workdir, SOURCES, receiver), free_port(),
                             "--log-level", "INFO")  # refusals' reasons are INFO lines
        try:
            report(request, f"\nhookline dev (source auth): ready in {process.wait_ready(60):.2f} s")
            yield Dev(process, receiver)
        finally:
            process.interrupt()


def logged(dev: Dev, text: str, timeout: float = 10.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = dev.dev.log()
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in dev.log within {timeout} s")


def test_the_key_from_an_allowed_address_is_delivered_without_the_key(dev: Dev) -> None:
    key = {"X-Partner-Key": SECRETS["E2E_AUTH_KEY"]}
    status, answer = dev.post("partner", {"id": "p-1", "note": "e2e partner"}, key)
    assert (status, answer) == (202, {"status": "accepted", "id": "p-1"})
    [got] = delivered(dev.receiver, b"e2e partner")
    assert got.json()["note"] == "e2e partner"
    assert "x-partner-key" not in got.headers and SECRETS["E2E_AUTH_KEY"] not in json.dumps(got.headers)


def test_a_wrong_key_and_the_right_key_from_outside_the_allowlist_are_refused(dev: Dev) -> None:
    assert dev.post("partner", {"id": "p-2", "note": "e2e wrong key"}, {"X-Partner-Key": "guess"}) == REFUSED
    assert dev.post("partner", {"id": "p-3"}, {}) == REFUSED
    assert dev.post("far", {"note": "e2e far"}, {"X-Partner-Key": SECRETS["E2E_AUTH_KEY"]}) == REFUSED
    log = logged(dev, "source IP 127.0.0.1 is not in the ip_allowlist")
    assert "API key in header X-Partner-Key does not match" in log and "missing header X-Partner-Key" in log
    assert SECRETS["E2E_AUTH_KEY"] not in log and "guess" not in log
    time.sleep(1)
    assert not [r for r in dev.receiver.requests if b"e2e wrong key" in r.body or b"e2e far" in r.body]


def test_basic_auth(dev: Dev) -> None:
    good = base64.b64encode(f"{SECRETS['E2E_AUTH_USER']}:{SECRETS['E2E_AUTH_PASS']}".encode()).decode()
    assert dev.post("basic", {"note": "e2e basic"}, {"Authorization": f"Basic {good}"})[0] == 202
    bad = base64.b64encode(f"{SECRETS['E2E_AUTH_USER']}:nope".encode()).decode()
    assert dev.post("basic", {"note": "e2e basic bad"}, {"Authorization": f"Basic {bad}"}) == REFUSED
    delivered(dev.receiver, b"e2e basic")


def test_hookline_send_meets_api_key_and_basic_sources(dev: Dev) -> None:
    for source, marker in (("partner", "e2e send partner"), ("basic", "e2e send basic")):
        out = dev.send(source, json.dumps({"id": marker, "note": marker}))
        assert out.returncode == 0, out.stderr
        assert "HTTP 202" in out.stdout
        delivered(dev.receiver, marker.encode())
