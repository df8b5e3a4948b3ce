"""Regenerate the sample events in this folder: `.venv/bin/python events/build.py`.

Each handler takes its events as the AWS source sends them (tests/unit/tools/test_events.py checks
each against Powertools' parser model of that source and against the handler). `sam local
invoke` runs the handler in a Lambda container, so it needs Docker (or another container
runtime); the functions are arm64 unless deployed with `Architecture=x86_64`, which an x86 host
runs without emulation: `sam build --parameter-overrides Architecture=x86_64` then
`sam local invoke IngressFunction -e events/ingress/github-issues.json --parameter-overrides
Architecture=x86_64`.

The API Gateway events start from `sam local generate-event apigateway http-api-proxy`'s
shape (hookline.local.apigw_events builds the same fields) and are signed with the demo
secrets of examples/demo.env for examples/hookline.yaml, so `sam local invoke
IngressFunction -e events/ingress/github-issues.json` and the tests use the same files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hookline.core.messages import DeliveryTask
from hookline.ingress.signatures import sign
from hookline.local.apigw_events import http_api_event
from hookline.local.envfile import parse_env_file
from hookline.validation import load_config

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "events"
FIXED_NOW = 1795770000  # 2026-11-27: fixed so the files are stable


def signed_event(source: str, payload: Path, extra_headers: dict[str, str], msg_id: str) -> dict:
    cfg = load_config(ROOT / "examples/hookline.yaml")
    verify = cfg.sources[source].verify
    secret = parse_env_file(ROOT / "examples/demo.env")[verify.secrets[0].removeprefix("env:")]
    body = payload.read_bytes()
    headers = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/demo", **extra_headers,
               **sign(verify, secret, body, now=FIXED_NOW, msg_id=msg_id)}
    event = http_api_event(method="POST", path=f"/webhooks/{source}", headers=headers, body=body,
                           path_parameters={"source": source}, now=FIXED_NOW)
    # API Gateway's id is random per request; fixed here so that a rebuild changes nothing unless the event did.
    event["requestContext"]["requestId"] = hashlib.sha256(f"{source}:{msg_id}".encode()).hexdigest()[:16]
    return event


def text(event: dict) -> str:
    return json.dumps(event, indent=2) + "\n"


def events() -> dict[str, dict]:
    """Every sample event by its path under events/ (tests/unit/tools/test_events.py checks the files are these)."""
    out: dict[str, dict] = {}
    github = signed_event("github", ROOT / "examples/payloads/github-issue.json",
                          {"X-GitHub-Event": "issues"}, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    out["ingress/github-issues.json"] = github
    tampered = json.loads(json.dumps(github))
    tampered["body"] = tampered["body"].replace("octocat", "mallory")
    out["ingress/github-bad-signature.json"] = tampered
    # Stripe signs a timestamp: this file verifies only with the clock pinned (the tests do that);
    # for `sam local invoke`, regenerate it right before use.
    out["ingress/stripe-payment.json"] = signed_event("stripe", ROOT / "examples/payloads/stripe-payment.json",
                                                      {}, "unused")

    task = DeliveryTask(event_id="72d3162e-cc78-11e3-81ab-4c9367dc0958", source="github", route="issues-to-crm",
                        type="issues", received_at=FIXED_NOW, headers={"x-github-event": "issues",
                                                                       "content-type": "application/json"},
                        content_type="application/json",
                        body=(ROOT / "examples/payloads/github-issue.json").read_text())
    out["deliver/sqs-batch.json"] = {"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": task.model_dump_json(exclude_none=True),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(FIXED_NOW * 1000),
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": str(FIXED_NOW * 1000)},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:hookline-DeliveryQueue",
        "awsRegion": "us-east-1",
    }]}
    out["sync/schedule.json"] = {"job": "due"}  # the template's SyncSchedule Input: what the schedule sends
    return out


def main() -> None:
    for name, event in events().items():
        (HERE / name).write_text(text(event))
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
