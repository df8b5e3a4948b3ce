"""What several benchmarks share: a moto stack from template.yaml, AWS call counting, signed events.

AWS calls are counted with a botocore event hook (`before-call`) registered on the boto3 session
before any client is made from it, so every client of that session (Powertools' idempotency
layer, the EventLog resource, the queue publisher) is counted, per operation.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import importlib.util
import io
import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
REGION = "us-east-1"

for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_METRICS_NAMESPACE": "Hookline",
                   "POWERTOOLS_SERVICE_NAME": "hookline"}.items():
    os.environ.setdefault(key, value)
os.environ["BENCH_GH_SECRET"] = "bench-github-secret"  # noqa: S105 - a dummy signing secret


class CallCounter:
    """Counts AWS API calls by operation through a botocore `before-call` hook, and the DynamoDB write
    units they are billed (items under 1 KB: 1 per written item, 2 per item of a transaction)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.write_units = 0

    def attach(self, session: Any) -> CallCounter:
        session.events.register("before-call.*.*", self._seen)
        session.events.register("before-parameter-build.dynamodb.*", self._units)
        return self

    def _seen(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def _units(self, model: Any, params: Any = None, **_: Any) -> None:
        params = params or {}
        if model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.write_units += 1
        elif model.name == "TransactWriteItems":
            self.write_units += 2 * len(params.get("TransactItems") or [])
        elif model.name == "BatchWriteItem":
            self.write_units += sum(len(v) for v in (params.get("RequestItems") or {}).values())

    def take(self) -> Counter[str]:
        out, self.calls = self.calls, Counter()
        return out

    def take_write_units(self) -> int:
        out, self.write_units = self.write_units, 0
        return out


class InstantAnswers:
    """A botocore `before-call` hook that, while active, answers every call at once with `{}` (what a
    write without ReturnValues answers): the request is built and serialised, not signed or sent.
    With it, a handler's CPU is its own and botocore's client side, without the emulator's work."""

    def __init__(self) -> None:
        self.active = False

    def attach(self, session: Any) -> InstantAnswers:
        session.events.register("before-call.*.*", self._answer)
        return self

    def _answer(self, **_: Any) -> Any:
        if not self.active:
            return None
        from botocore.awsrequest import AWSResponse

        return AWSResponse("https://instant", 200, {}, None), {}


@dataclass
class Stack:
    session: Any
    resources: Any
    counter: CallCounter
    deployed: Any = None  # hookline.local.cfn.LocalStack (moto_stack)
    instant: InstantAnswers | None = None  # moto_stack: AWS answered at once while active

    def url(self, logical: str) -> str:
        return self.resources[logical].url or ""


@contextmanager
def moto_stack(name: str = "bench") -> Iterator[Stack]:
    import boto3
    from moto import mock_aws

    from hookline.local import cfn

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        deployed = cfn.deploy(session.client, ROOT / "template.yaml", stack_name=name, region=REGION)
        counter = CallCounter().attach(session)
        # Attached after the counter, so calls answered at once are still counted.
        yield Stack(session, deployed.resources, counter, deployed, InstantAnswers().attach(session))


GITHUB_CONFIG: dict[str, Any] = {
    "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:BENCH_GH_SECRET"]}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:9/contacts"}},
    "routes": [{"name": "issues-to-crm", "source": "github", "destination": "crm",
                "when": "headers.\"x-github-event\" == 'issues'",
                "transform": {"title": "body.issue.title", "number": {"path": "body.issue.number", "type": "int"},
                              "user": "body.issue.user.login"}}],
}


def settle_heap() -> None:
    """Before a timed window: collect, then freeze what survives (the emulator's tables and queues, the
    requests built for the window), so that the window's garbage collections walk only what it
    allocates. In-process moto's state grows with every round; a full collection landing in one
    side's window walked all of it and swung a round's ratio between 0.7 and 2.0. In Lambda that
    state is on the other side of the network."""
    gc.collect()
    gc.freeze()


def github_payload(n: int, size: int = 1900) -> bytes:
    """A GitHub `issues` event of about `size` bytes (the issue's benchmark used 1.9 KB events)."""
    payload: dict[str, Any] = {
        "action": "opened",
        "issue": {"number": n, "title": f"Bench issue {n}", "state": "open",
                  "user": {"login": "octocat", "id": 583231}, "labels": [{"name": "bug"}], "body": ""},
        "repository": {"full_name": "octo/hookline", "id": 1296269, "private": False},
        "sender": {"login": "octocat", "id": 583231, "type": "User"},
    }
    base = len(json.dumps(payload).encode())
    payload["issue"]["body"] = "x" * max(size - base, 0)
    return json.dumps(payload).encode()


def github_headers(body: bytes, delivery: str) -> dict[str, str]:
    sig = hmac.new(os.environ["BENCH_GH_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "user-agent": "GitHub-Hookshot/bench",
            "x-github-event": "issues", "x-github-delivery": delivery, "x-hub-signature-256": f"sha256={sig}"}


def http_event(body: bytes, delivery: str | None = None) -> dict[str, Any]:
    from hookline.local.apigw_events import http_api_event

    delivery = delivery or str(uuid.uuid4())
    return http_api_event(method="POST", path="/webhooks/github", headers=github_headers(body, delivery),
                          body=body, path_parameters={"source": "github"})


def load_handler(name: str) -> ModuleType:
    """functions/<name>/app.py as its own module (the three are all called `app`)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}_app", ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    function_name = "hookline-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:hookline-bench"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/hookline-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class CountingSink(io.TextIOBase):
    """Stands in for the handlers' stdout (what CloudWatch Logs ingests): counts the bytes written."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


@contextmanager
def logs_counted() -> Iterator[CountingSink]:
    """Route Powertools Logger and Metrics output (both stdout in Lambda) into a byte counter."""
    from hookline.observability import logger

    sink = CountingSink()
    handler = logger.registered_handler
    old_stream, old_stdout = handler.stream, sys.stdout
    handler.setStream(sink)
    sys.stdout = sink
    try:
        yield sink
    finally:
        sys.stdout = old_stdout
        handler.setStream(old_stream)


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, default=str))


def _serve_moto(conn: Any) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from hookline.local import moto_fixes

    moto_fixes.install()  # the emulator `hookline dev` runs: atomic writes, AWS::NoValue in CloudFormation
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the benchmark's terminal
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    conn.send(server.get_host_and_port()[1])
    conn.recv()  # until told to stop
    server.stop()


@contextmanager
def moto_server_stack(name: str = "bench") -> Iterator[Stack]:
    """The stack in a moto server in another process: every AWS call is a real HTTP round trip, and
    moto's work runs outside this process's GIL, as a real endpoint's would."""
    import multiprocessing

    import boto3

    from hookline.local import cfn

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_moto, args=(child,), daemon=True)
    proc.start()
    port = parent.recv()
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        session = boto3.session.Session(region_name=REGION)
        deployed = cfn.deploy(session.client, ROOT / "template.yaml", stack_name=name, region=REGION)
        counter = CallCounter().attach(session)
        # Attached after the counter, so calls answered at once are still counted.
        yield Stack(session, deployed.resources, counter, deployed, InstantAnswers().attach(session))
    finally:
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = old
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()
