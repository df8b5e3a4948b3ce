"""`provider:` sources through `hookline dev`, as a user runs them: real HTTP in, a real local receiver out.

Slack's requests are signed with slack-sdk; Twilio's as Twilio's docs compute it (HMAC-SHA1 of the URL it
called followed by the sorted form parameters), over the URL the client addressed, so `hookline dev`'s
events must carry that host as API Gateway does. `hookline send --provider` is checked end to end too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.e2e.helpers import (
    DevProcess,
    as_a_sender_retries,
    delivered,
    dev_env,
    environment,
    free_port,
    report,
    write_sources_config,
)
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

# Signed by Dropbox's own webhook tool, and accepted by Xero's published receiver (tests/unit/ingress/providers/).
VECTORS = Path(__file__).resolve().parents[1] / "unit" / "ingress" / "providers" / "vectors"
DROPBOX, XERO = (json.loads((VECTORS / f"{n}.json").read_text()) for n in ("dropbox", "xero"))
SECRETS = {"E2E_PROVIDER_SLACK": "slack-signing-secret-e2e", "E2E_PROVIDER_TWILIO": "twilio-auth-token-e2e",
           "E2E_PROVIDER_GH": "gh-secret-e2e", "E2E_PROVIDER_DROPBOX": DROPBOX["secret"],
           "E2E_PROVIDER_XERO": XERO["secret"]}
SOURCES = {
    "slack": {"provider": "slack", "secrets": ["env:E2E_PROVIDER_SLACK"]},
    "sms": {"provider": "twilio", "secrets": ["env:E2E_PROVIDER_TWILIO"], "format": "form"},
    "gh": {"provider": "github", "secrets": ["env:E2E_PROVIDER_GH"]},
    "box": {"provider": "dropbox", "secrets": ["env:E2E_PROVIDER_DROPBOX"]},
    "books": {"provider": "xero", "secrets": ["env:E2E_PROVIDER_XERO"]},
}


class Dev:
    def __init__(self, dev: DevProcess, receiver: Receiver) -> None:
        self.dev, self.receiver = dev, receiver

    def post(self, source: str, body: bytes, headers: dict[str, str], query: str = "") -> tuple[int, dict]:
        url = f"{self.dev.url}/webhooks/{source}" + (f"?{query}" if query else "")
        req = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Dev]:
    workdir: Path = tmp_path_factory.mktemp("providers")
    with Receiver(Script(statuses=[200])) as receiver, environment(SECRETS):
        process = DevProcess(workdir, write_sources_config(workdir, SOURCES, receiver), free_port())
        try:
            report(request, f"\nhookline dev (providers): ready in {process.wait_ready(60):.2f} s")
            yield Dev(process, receiver)
        finally:
            process.interrupt()


def slack_headers(body: bytes, at: float | None = None, secret: str = SECRETS["E2E_PROVIDER_SLACK"]) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    return {"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": ts, "Content-Type": "application/json"}


def test_a_slack_event_signed_by_slack_sdk_is_delivered_once(dev: Dev) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvE2E1",
                       "event": {"type": "app_mention", "text": "hello from e2e"}}).encode()
    status, answer = dev.post("slack", body, slack_headers(body))
    assert (status, answer) == (202, {"status": "accepted", "id": "EvE2E1"})
    [got] = delivered(dev.receiver, b"hello from e2e")
    assert got.json()["event"]["text"] == "hello from e2e"
    # Slack's retry: a new timestamp and signature, the same event id: a duplicate, not a second delivery.
    status, answer = as_a_sender_retries(lambda: dev.post("slack", body, slack_headers(body, time.time() + 1)),
                                         lambda a: a[0])
    assert (status, answer) == (200, {"status": "duplicate", "id": "EvE2E1"})
    time.sleep(1)
    assert len([r for r in dev.receiver.requests if b"hello from e2e" in r.body]) == 1


def test_forged_and_stale_slack_requests_are_refused_401(dev: Dev) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvE2E2", "event": {"type": "x"}}).encode()
    status, answer = dev.post("slack", body, slack_headers(body, secret="not-the-secret"))
    assert (status, answer) == (401, {"error": "signature does not match (X-Slack-Signature)"})
    status, answer = dev.post("slack", body, slack_headers(body, at=time.time() - 600))
    assert status == 401 and "outside the 300 s tolerance" in answer["error"]


def test_twilio_signs_the_url_the_client_addressed(dev: Dev) -> None:
    params = {"From": "+14158675309", "Body": "e2e sms", "MessageSid": "SME2E"}
    body = urllib.parse.urlencode(params).encode()
    url = f"{dev.dev.url}/webhooks/sms?tenant=7"
    content = url + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(SECRETS["E2E_PROVIDER_TWILIO"].encode(), content.encode(),
                                    hashlib.sha1).digest()).decode()
    headers = {"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"}
    assert dev.post("sms", body, headers, query="tenant=7")[0] == 202
    [got] = delivered(dev.receiver, b"Body=e2e+sms")  # a form body is delivered as it came
    assert urllib.parse.parse_qs(got.body.decode())["From"] == ["+14158675309"]
    assert dev.post("sms", body, headers, query="tenant=8")[0] == 401  # another URL than the one signed


def raw_post(dev: Dev, source: str, case: dict) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"{dev.dev.url}/webhooks/{source}", data=case["body"].encode(), method="POST",
                                 headers=case["headers"])
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_senders_that_retry_anything_but_200_get_200_for_an_event_and_its_copy(dev: Dev) -> None:
    # Dropbox retries every non-200 answer for ten minutes; Xero wants 200 with an empty body (entries' [response]).
    status, _, body = raw_post(dev, "box", DROPBOX)
    assert status == 200 and json.loads(body)["status"] == "accepted"
    status, headers, body = raw_post(dev, "books", XERO)
    assert (status, body) == (200, b"") and "json" not in headers.get("content-type", "")
    delivered(dev.receiver, b"dbid:AAH4f99T0taONIb")
    delivered(dev.receiver, json.loads(XERO["body"])["events"][0]["resourceId"].encode())
    for source, case in (("box", DROPBOX), ("books", XERO)):  # the senders' retries: duplicates, still 200
        status, _, body = as_a_sender_retries(lambda s=source, c=case: raw_post(dev, s, c), lambda a: a[0])
        assert status == 200, (source, body)
    assert json.loads(raw_post(dev, "box", DROPBOX)[2])["status"] == "duplicate"
    changed = {**XERO, "body": XERO["body"] + " "}
    assert raw_post(dev, "books", changed)[0] == 401  # a changed body is still refused


def test_hookline_send_as_a_provider_reaches_the_receiver(dev: Dev) -> None:
    data = dev.dev.cwd / "push.json"
    data.write_text('{"ref": "refs/heads/e2e-send"}')
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "send", "--provider", "github", "--data", str(data),
                          "--event", "push"], cwd=dev.dev.cwd, env=dev_env(), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "signed as provider github" in out.stderr and "HTTP 202" in out.stdout
    [got] = delivered(dev.receiver, b"e2e-send")
    assert got.json() == {"ref": "refs/heads/e2e-send"}
