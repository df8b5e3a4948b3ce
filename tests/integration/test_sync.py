"""Batch sync: pages pulled from a real local HTTP API become events, each recorded once."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from hookline.aws import EventLog, PayloadStore, QueuePublisher
from hookline.config import parse_config
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.messages import DeliveryTask
from hookline.secrets import SecretResolver
from hookline.sync.runner import CursorStore, http_fetch, run_job

PAGES = {
    None: {"data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "next": "p2"},
    "p2": {"data": [{"id": 3, "name": "c"}], "next": None},
}


@pytest.fixture
def api() -> Any:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            seen.append({"cursor": query.get("cursor", [None])[0], "auth": self.headers.get("Authorization")})
            body = json.dumps(PAGES[query.get("cursor", [None])[0]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/customers", seen
    server.shutdown()


def test_pages_become_events_once_and_the_cursor_is_kept(stack: Any, api: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = api
    monkeypatch.setenv("LEGACY_TOKEN", "t0ken")
    monkeypatch.setenv("UNUSED", "x")
    cfg = parse_config({
        "sources": {"legacy": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:UNUSED"], "header": "x-sig"}}},
        "destinations": {"wh": {"url": "http://127.0.0.1:9/in"}},
        "routes": [{"name": "legacy-to-wh", "source": "legacy", "destination": "wh"}],
        "syncs": {"customers": {"source": "legacy", "url": url, "items_path": "data", "id_path": "id",
                                "next_cursor_path": "next",
                                "headers": {"Authorization": "Bearer {secret:env:LEGACY_TOKEN}"}}},
    })
    fn = stack.function("SyncFunction")  # only the sync role's permissions
    events = EventLog(fn.events_table, resource=fn.ddb)
    ingress = Ingress(IngressDeps(
        config=cfg, secrets=SecretResolver(), publisher=QueuePublisher(fn.queue_url, client=fn.sqs),
        payloads=PayloadStore(fn.bucket, client=fn.s3), events=events,
        persistence=DynamoDBPersistenceLayer(table_name=fn.idempotency_table, boto3_client=fn.ddb_client)))
    cursors = CursorStore(events.table)

    first = run_job("all", cfg, ingress, http_fetch(), cursors, SecretResolver().interpolate)
    assert (first[0].pages, first[0].items, first[0].accepted) == (2, 3, 3)
    assert [s["cursor"] for s in seen] == [None, "p2"]
    assert seen[0]["auth"] == "Bearer t0ken"
    assert cursors.get("customers") == "p2"

    # The next run starts from the cursor; the item seen again is a duplicate, not a new event.
    second = run_job("customers", cfg, ingress, http_fetch(), cursors, SecretResolver().interpolate)
    assert (second[0].accepted, second[0].duplicates) == (0, 1)

    msgs = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)["Messages"]
    tasks = sorted((DeliveryTask.model_validate_json(m["Body"]) for m in msgs), key=lambda t: t.event_id)
    assert [t.event_id for t in tasks] == ["customers:1", "customers:2", "customers:3"]
    assert json.loads(tasks[0].inline_body()) == {"id": 1, "name": "a"}


def test_unknown_job_is_named(stack: Any) -> None:
    cfg = parse_config({"sources": {}, "destinations": {}, "routes": []})
    with pytest.raises(KeyError, match="unknown sync job"):
        run_job("nope", cfg, None, http_fetch(), None, str)  # type: ignore[arg-type]
