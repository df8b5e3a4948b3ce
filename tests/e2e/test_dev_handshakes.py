"""Handshakes through `hookline dev`, as the providers make them: real HTTP in, the answer the provider
expects out, nothing recorded (no event in `hookline events`, nothing delivered), forged ones refused.

One dev process serves every kind. Slack's signature is made with slack-sdk; Zoom's, Twitch's and Xero's
as their docs compute them. SNS is a real local HTTPS server with a test CA's certificate for
sns.us-east-1.amazonaws.com (tests/support/sns_pki.py), reached through HOOKLINE_DEV_SNS_TRUST: ingress's
URL rule is the deployed one. The SNS source runs docs/recipes.md's alarm recipe, as the page writes it.
"""

from __future__ import annotations

import base64
import datetime as dt
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
import yaml
from slack_sdk.signature import SignatureVerifier

from tests.e2e.helpers import DevProcess, dev_env, environment, free_port, report
from tests.support import sns_pki
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

SECRETS = {"E2E_SLACK": "slack-signing-secret", "E2E_META": "meta-app-secret", "E2E_META_TOKEN": "meatyhamhock",
           "E2E_DROPBOX": "dropbox-app-secret", "E2E_ZOOM": "zoom-secret-token", "E2E_TWITCH": "twitch-secret-1",
           "E2E_GRAPH": "graph-client-state", "E2E_OKTA": "okta-auth-secret", "E2E_XERO": "xero-webhook-key"}
ASANA_PARAMETER = "/hookline/asana/e2e"
SOURCES = {
    "slack": {"provider": "slack", "secrets": ["env:E2E_SLACK"]},
    "meta": {"provider": "whatsapp", "secrets": ["env:E2E_META"], "verify_token": "env:E2E_META_TOKEN"},
    "dropbox": {"provider": "dropbox", "secrets": ["env:E2E_DROPBOX"]},
    "zoom": {"provider": "zoom", "secrets": ["env:E2E_ZOOM"]},
    "twitch": {"provider": "twitch", "secrets": ["env:E2E_TWITCH"]},
    "graph": {"provider": "msgraph", "secrets": ["env:E2E_GRAPH"]},
    "okta": {"provider": "okta", "secrets": ["env:E2E_OKTA"]},
    "asana": {"provider": "asana", "secrets": [f"ssm:{ASANA_PARAMETER}"]},
    "xero": {"provider": "xero", "secrets": ["env:E2E_XERO"]},
    "alarms": {"provider": "sns", "topic_arns": [sns_pki.TOPIC]},
}


def alarm_recipe() -> dict:
    """The configuration block of docs/recipes.md's CloudWatch alarm recipe."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "recipes.md").read_text()
    section = text[text.index("## CloudWatch alarms to Slack, PagerDuty or Teams"):]
    block = section[section.index("```yaml") + len("```yaml"):]
    recipe = yaml.safe_load(block[:block.index("```")])
    assert recipe["sources"]["alarms"]["provider"] == "sns"
    return recipe


# A CloudWatch alarm as SNS delivers it (the Message CloudWatch publishes, as a JSON string).
ALARM = {"AlarmName": "hookline-dlq-depth", "AlarmDescription": "Events were dead-lettered.",
         "AWSAccountId": "123456789012", "AlarmConfigurationUpdatedTimestamp": "2026-12-01T09:00:00.000+0000",
         "NewStateValue": "ALARM",
         "NewStateReason": "Threshold Crossed: 1 datapoint [3.0] was greater than or equal to the threshold (1.0).",
         "StateChangeTime": "2026-12-06T06:40:00.000+0000", "Region": "US East (N. Virginia)",
         "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:hookline-dlq-depth",
         "OldStateValue": "OK",
         "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                     "Statistic": "MAXIMUM", "Period": 60, "EvaluationPeriods": 1,
                     "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0}}


class Dev:
    def __init__(self, dev: DevProcess, receiver: Receiver, pki: sns_pki.Pki, sns: sns_pki.LocalSns) -> None:
        self.dev, self.receiver, self.pki, self.sns = dev, receiver, pki, sns

    def call(self, method: str, source: str, *, query: dict[str, str] | None = None, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        url = f"{self.dev.url}/webhooks/{source}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        req = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def events_all(self) -> list[dict]:
        out = subprocess.run([sys.executable, "-m", "hookline.cli", "events", "--json"],
                             cwd=self.dev.cwd, env=dev_env(), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Dev]:
    workdir: Path = tmp_path_factory.mktemp("handshakes")
    receiver = Receiver(Script(statuses=[200])).__enter__()
    recipe = alarm_recipe()
    config = {
        "sources": SOURCES,
        "destinations": {"ok": {"url": f"{receiver.url}/ok", "timeout_seconds": 5},
                         **{name: {"url": f"{receiver.url}/{name}"} for name in recipe["destinations"]}},
        "routes": [{"name": f"{name}-out", "source": name, "destination": "ok"} for name in SOURCES
                   if name != "alarms"] + recipe["routes"],
    }
    path = workdir / "hookline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    pki = sns_pki.make_pki(workdir, dt.datetime.now(dt.UTC))
    local_sns = sns_pki.LocalSns(pki)
    env = {**SECRETS, "HOOKLINE_DEV_SNS_TRUST": f"{pki.ca_file}@127.0.0.1:{local_sns.port}"}
    with environment(env):
        process = DevProcess(workdir, path, free_port())
        try:
            report(request, f"\nhookline dev (handshakes): ready in {process.wait_ready(60):.2f} s")
            yield Dev(process, receiver, pki, local_sns)
        finally:
            process.interrupt()
            receiver.__exit__(None, None, None)
            local_sns.close()


REFUSED = (401, b'{"error": "authentication failed"}')




# ---------------------------------------------------------------- Slack

def slack_headers(body: bytes, secret: str = SECRETS["E2E_SLACK"]) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    return {"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": ts}


def test_slack_url_verification(dev: Dev) -> None:
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7",
                       "type": "url_verification"}).encode()
    status, headers, answer = dev.call("POST", "slack", body=body, headers=slack_headers(body))
    assert (status, answer) == (200, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7")
    assert headers["Content-Type"].startswith("text/plain")
    forged = dev.call("POST", "slack", body=body, headers=slack_headers(body, "not-the-secret"))
    assert (forged[0], forged[2]) == REFUSED


def test_a_slack_event_is_still_an_event(dev: Dev) -> None:
    # The control for the last test: a real event is recorded, listed and delivered.
    body = json.dumps({"type": "event_callback", "event_id": "Ev0PV52K25", "event": {"type": "app_mention"}}).encode()
    status, _, answer = dev.call("POST", "slack", body=body, headers=slack_headers(body))
    assert status == 202, answer


# ---------------------------------------------------------------- GET handshakes

def test_meta_verification(dev: Dev) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}
    status, _, answer = dev.call("GET", "meta", query=query)
    assert (status, answer) == (200, b"1158201444")
    forged = dev.call("GET", "meta", query={**query, "hub.verify_token": "guess"})
    assert (forged[0], forged[2]) == REFUSED


def test_dropbox_challenge(dev: Dev) -> None:
    status, headers, answer = dev.call("GET", "dropbox", query={"challenge": "abc123"})
    assert (status, answer) == (200, b"abc123")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"].startswith("text/plain")


def test_okta_verification(dev: Dev) -> None:
    challenge = {"X-Okta-Verification-Challenge": "X6dmVyaWZpY2F0aW9uLWNoYWxsZW5nZQ"}
    status, _, answer = dev.call("GET", "okta", headers={**challenge, "Authorization": SECRETS["E2E_OKTA"]})
    assert (status, json.loads(answer)) == (200, {"verification": "X6dmVyaWZpY2F0aW9uLWNoYWxsZW5nZQ"})
    forged = dev.call("GET", "okta", headers={**challenge, "Authorization": "guess"})
    assert (forged[0], forged[2]) == REFUSED


def test_graph_validation_token(dev: Dev) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 4d2f"
    status, headers, answer = dev.call("POST", "graph", query={"validationToken": token}, body=b"")
    assert (status, answer.decode()) == (200, token)
    assert headers["Content-Type"].startswith("text/plain")


def test_a_get_without_a_handshake_is_404(dev: Dev) -> None:
    assert dev.call("GET", "slack")[0] == 404
    assert dev.call("GET", "dropbox")[0] == 404  # no challenge: not Dropbox's handshake


# ---------------------------------------------------------------- signed POST handshakes

def test_zoom_url_validation(dev: Dev) -> None:
    body = json.dumps({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680,
                       "event": "endpoint.url_validation"}).encode()

    def headers(secret: str) -> dict[str, str]:
        ts = str(int(time.time()))
        mac = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        return {"x-zm-signature": f"v0={mac}", "x-zm-request-timestamp": ts}

    status, _, answer = dev.call("POST", "zoom", body=body, headers=headers(SECRETS["E2E_ZOOM"]))
    expected = hmac.new(SECRETS["E2E_ZOOM"].encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert (status, json.loads(answer)) == (200, {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected})
    forged = dev.call("POST", "zoom", body=body, headers=headers("guess"))
    assert (forged[0], forged[2]) == REFUSED


def test_twitch_callback_verification(dev: Dev) -> None:
    body = json.dumps({"challenge": "pogchamp-kappa-360noscope-vohiyo",
                       "subscription": {"id": "f1c2a387-161a", "type": "channel.follow"}}).encode()

    def headers(secret: str) -> dict[str, str]:
        msg_id, ts = "e76c6bd4-55c9-4987-8304-da1588d8988b", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        mac = hmac.new(secret.encode(), (msg_id + ts).encode() + body, hashlib.sha256).hexdigest()
        return {"Twitch-Eventsub-Message-Id": msg_id, "Twitch-Eventsub-Message-Timestamp": ts,
                "Twitch-Eventsub-Message-Type": "webhook_callback_verification",
                "Twitch-Eventsub-Message-Signature": f"sha256={mac}"}

    status, _, answer = dev.call("POST", "twitch", body=body, headers=headers(SECRETS["E2E_TWITCH"]))
    assert (status, answer) == (200, b"pogchamp-kappa-360noscope-vohiyo")
    forged = dev.call("POST", "twitch", body=body, headers=headers("guess"))
    assert (forged[0], forged[2]) == REFUSED


def test_xero_intent_to_receive(dev: Dev) -> None:
    body = json.dumps({"events": [], "lastEventSequence": 0, "firstEventSequence": 0,
                       "entropy": "S0m3r4Nd0mt3xt"}).encode()

    def headers(secret: str) -> dict[str, str]:
        return {"x-xero-signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}

    status, _, answer = dev.call("POST", "xero", body=body, headers=headers(SECRETS["E2E_XERO"]))
    assert (status, answer) == (200, b"")
    assert dev.call("POST", "xero", body=body, headers=headers("guess"))[0] == 401


def test_asana_secret_is_stored_in_ssm_and_then_verifies_events(dev: Dev) -> None:
    secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
    status, headers, answer = dev.call("POST", "asana", headers={"X-Hook-Secret": secret})
    assert (status, headers["X-Hook-Secret"], answer) == (200, secret, b"")
    # Another handshake cannot replace it (anyone can send one) ...
    forged = dev.call("POST", "asana", headers={"X-Hook-Secret": "attacker-chosen"})
    assert (forged[0], forged[2]) == REFUSED
    # ... and events are checked with the stored secret (read back from SSM through the ingress role).
    body = json.dumps({"events": [{"action": "changed", "resource": {"gid": "1201"}}]}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # 200: Asana's target answers 200 or 204 (the catalog entry's [response]), not hookline's usual 202
    assert dev.call("POST", "asana", body=body, headers={"X-Hook-Signature": signature})[0] == 200
    bad = hmac.new(b"attacker-chosen", body, hashlib.sha256).hexdigest()
    assert dev.call("POST", "asana", body=body, headers={"X-Hook-Signature": bad})[0] == 401


# ---------------------------------------------------------------- Amazon SNS

def sns_post(dev: Dev, fields: dict) -> tuple[int, dict[str, str], bytes]:
    # SNS posts its JSON as text/plain, the message type in a header.
    return dev.call("POST", "alarms", body=json.dumps(fields).encode(),
                    headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": fields["Type"]})


def test_sns_subscription_is_verified_and_confirmed(dev: Dev) -> None:
    now = dt.datetime.now(dt.UTC)
    status, _, answer = sns_post(dev, sns_pki.message(dev.pki, "SubscriptionConfirmation", at=now))
    assert (status, answer) == (200, b"")
    assert dev.sns.paths == [sns_pki.CERT_PATH, "/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f37fb"]


def test_sns_forgeries_are_refused_without_a_request_elsewhere(dev: Dev) -> None:
    now, before = dt.datetime.now(dt.UTC), len(dev.sns.paths)
    other = sns_pki.message(dev.pki, "SubscriptionConfirmation", at=now,
                            TopicArn="arn:aws:sns:us-east-1:999999999999:alarms")
    assert (sns_post(dev, other)[0], sns_post(dev, other)[2]) == REFUSED
    lookalike = sns_pki.message(dev.pki, at=now, cert_url="https://sns.us-east-1.amazonaws.com.evil.com/c.pem")
    assert (sns_post(dev, lookalike)[0], sns_post(dev, lookalike)[2]) == REFUSED
    assert dev.sns.paths[before:] == []  # the certificate was cached; nothing was asked of any other host


def test_sns_notification_is_an_event(dev: Dev) -> None:
    fields = sns_pki.message(dev.pki, at=dt.datetime.now(dt.UTC), MessageId="7a1d5e4c-0b1f-4d5e-9c1a-3f2e1d0c9b8a",
                             Subject='ALARM: "hookline-dlq-depth" in US East (N. Virginia)', Message=json.dumps(ALARM))
    status, _, answer = sns_post(dev, fields)
    assert (status, json.loads(answer)) == (202, {"status": "accepted", "id": fields["MessageId"]})


def test_no_handshake_was_recorded_or_delivered(dev: Dev) -> None:
    # Every source has a route to the receiver: anything recorded would be listed and delivered. Only the
    # three real events sent above (Slack's control, Asana's signed event, the SNS alarm) are.
    deadline = time.monotonic() + 20
    while len(dev.receiver.requests) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    events = {(e["source"], e["id"]) for e in dev.events_all()}
    assert {s for s, _ in events} == {"alarms", "asana", "slack"}
    assert {("slack", "Ev0PV52K25"), ("alarms", "7a1d5e4c-0b1f-4d5e-9c1a-3f2e1d0c9b8a")} <= events
    time.sleep(2)  # a late delivery of anything else would show now
    assert sorted(r.path for r in dev.receiver.requests) == ["/ok", "/ok", "/pagerduty", "/slack", "/teams"]


def test_the_alarm_recipe_sends_what_each_chat_and_pager_expects(dev: Dev) -> None:
    got = {r.path: r.json() for r in dev.receiver.requests if r.path != "/ok"}
    reason = ALARM["NewStateReason"]
    assert got["/slack"] == {"text": f"ALARM: hookline-dlq-depth ({reason})"}
    assert got["/teams"] == {"text": f"**hookline-dlq-depth** is ALARM: {reason}"}
    assert got["/pagerduty"] == {
        "routing_key": "YOUR_INTEGRATION_KEY", "event_action": "trigger", "dedup_key": ALARM["AlarmArn"],
        "payload": {"summary": f"hookline-dlq-depth: {reason}", "source": "123456789012", "severity": "critical"}}
