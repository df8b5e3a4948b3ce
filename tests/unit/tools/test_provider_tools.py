"""`hookline sources` and `hookline send --provider`: the catalog as users read it, and requests signed as a
provider, posted to a real local HTTP server and checked there with the providers' own SDKs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier

from hookline.cli import main
from hookline.ingress.providers import names

SLACK_SECRET = "slack-signing-secret"
SW_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class Receiver:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.end_headers()
                self.wfile.write(b'{"status":"accepted"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def project(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no running `hookline dev` here
    monkeypatch.setenv("SLACK_SECRET", SLACK_SECRET)
    monkeypatch.setenv("SW_SECRET", SW_SECRET)
    monkeypatch.setenv("STRIPE_SECRET", "whsec_stripe")
    (tmp_path / "hookline.yaml").write_text(json.dumps({
        "sources": {"chat": {"provider": "slack", "secrets": ["env:SLACK_SECRET"]},
                    "app": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:SW_SECRET"]}}},
        "destinations": {"d": {"url": "http://127.0.0.1:9/x"}},
        "routes": [{"name": "r", "source": "chat", "destination": "d"}]}))
    (tmp_path / "event.json").write_text('{"type":"event_callback","event_id":"Ev1"}')
    return tmp_path


def test_sources_lists_every_provider_with_what_it_verifies_and_its_setup(capsys: pytest.CaptureFixture) -> None:
    assert main(["sources", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["provider"] for r in rows] == names()
    slack = next(r for r in rows if r["provider"] == "slack")
    assert "v0:{timestamp}:{body}" in slack["verifies"] and "X-Slack-Signature" in slack["verifies"]
    assert slack["handshake"] == "slack_url_verification" and "Signing Secret" in slack["setup"]
    assert slack["proof"] == "slack-sdk"
    assert main(["sources", "stripe"]) == 0
    text = capsys.readouterr().out
    assert "Stripe-Signature" in text and "proven by: stripe" in text and "setup:" in text
    assert main(["sources", "stirpe"]) == 1
    assert "did you mean stripe" in capsys.readouterr().err


def test_send_as_the_configured_provider_is_accepted_by_slacks_sdk(project: Path, receiver: Receiver) -> None:
    assert main(["send", "--provider", "slack", "--data", "event.json", "--url", receiver.url + "/webhooks/chat"]) == 0
    [(path, headers, body)] = receiver.seen
    assert path == "/webhooks/chat" and body == b'{"type":"event_callback","event_id":"Ev1"}'
    assert SignatureVerifier(SLACK_SECRET).is_valid(body, headers["x-slack-request-timestamp"],
                                                    headers["x-slack-signature"])
    assert not SignatureVerifier("another").is_valid(body, headers["x-slack-request-timestamp"],
                                                     headers["x-slack-signature"])


def test_send_as_any_provider_with_a_secret_reference(project: Path, receiver: Receiver) -> None:
    assert main(["send", "--provider", "stripe", "--secret", "env:STRIPE_SECRET", "--data", "event.json",
                 "--url", receiver.url + "/in"]) == 0
    [(_, headers, body)] = receiver.seen
    stripe.WebhookSignature.verify_header(body.decode(), headers["stripe-signature"], "whsec_stripe", 300)
    # A provider source of this config keeps `hookline send SOURCE` working too; a verify: source is unchanged.
    assert main(["send", "app", "--data", "event.json", "--url", receiver.url + "/in", "--id", "msg_9"]) == 0
    _, headers, body = receiver.seen[1]
    standardwebhooks.Webhook(SW_SECRET).verify(body, headers)
    assert headers["webhook-id"] == "msg_9"


def test_send_explains_what_it_needs(project: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["send", "--provider", "stripe", "--data", "event.json"]) == 1
    assert "no source uses provider stripe with a secret: pass --url and --secret" in capsys.readouterr().err
    assert main(["send", "--provider", "mailgun", "--secret", "env:SLACK_SECRET", "--url", "http://127.0.0.1:9/x"]) == 1
    assert "body field" in capsys.readouterr().err  # signature in the body: sign it the provider's way
    assert main(["send", "--provider", "nope", "--secret", "env:SLACK_SECRET", "--url", "http://127.0.0.1:9/x"]) == 1
    assert "unknown provider 'nope'" in capsys.readouterr().err


def test_send_signs_github_as_githubs_documented_hmac(project: Path, receiver: Receiver) -> None:
    Path("hookline.yaml").write_text(json.dumps({
        "sources": {"gh": {"provider": "github", "secrets": ["env:SLACK_SECRET"]}},
        "destinations": {"d": {"url": "http://127.0.0.1:9/x"}},
        "routes": [{"name": "r", "source": "gh", "destination": "d"}]}))
    assert main(["send", "gh", "--data", "event.json", "--event", "push", "--id", "d-1",
                 "--url", receiver.url + "/webhooks/gh"]) == 0
    [(_, headers, body)] = receiver.seen
    expected = "sha256=" + hmac.new(SLACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == expected
    assert (headers["x-github-event"], headers["x-github-delivery"]) == ("push", "d-1")


def test_map_try_reads_a_provider_sources_event_type(project: Path, capsys: pytest.CaptureFixture) -> None:
    Path("hookline.yaml").write_text(json.dumps({
        "sources": {"chat": {"provider": "slack", "secrets": ["env:SLACK_SECRET"]}},
        "destinations": {"d": {"url": "http://127.0.0.1:9/x"}},
        "routes": [{"name": "mentions", "source": "chat", "destination": "d", "when": "type == 'app_mention'",
                    "transform": {"id": "id", "text": "body.event.text"}}]}))
    Path("mention.json").write_text('{"event_id": "Ev7", "event": {"type": "app_mention", "text": "hi"}}')
    assert main(["map", "try", "mentions", "--data", "mention.json", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["when_matches"] is True  # the type came from the entry's [type] path (event.type)
    assert (report["envelope"]["id"], report["envelope"]["type"]) == ("Ev7", "app_mention")  # [id], [type]
    assert json.loads(report["deliveries"][0]["body"]) == {"id": "Ev7", "text": "hi"}
