"""An entry's [response]: senders that retry anything but 200 (Dropbox), or want 200 with nothing in it (Xero,
Okta), get that answer for an accepted event and for a copy of one; refusals and "retry later" stay as they are.

Requests are the recorded vectors of tests/unit/ingress/providers/vectors/, signed by the providers' own tools
(Dropbox's dropbox_hook, checked by Xero's published PHP receiver), never by hookline's signer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.providers import ProviderError, Request, load
from hookline.ingress.providers.compile import compile_entry
from hookline.validation import parse_config
from tests.support.aging import Clock
from tests.support.fakes import FakeEventLog, FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

VECTORS = Path(__file__).parent / "providers" / "vectors"


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text())


DROPBOX, XERO = vector("dropbox"), vector("xero")
CONFIG = {
    "sources": {
        "box": {"provider": "dropbox", "secrets": ["env:DROPBOX"]},
        "books": {"provider": "xero", "secrets": ["env:XERO"]},
        "gh": {"provider": "github", "secrets": ["env:GH"]},
    },
    "destinations": {"crm": {"url": "http://crm.invalid/in"}},
    "routes": [{"name": n, "source": n, "destination": "crm"} for n in ("box", "books", "gh")],
}


class Hub:
    def __init__(self) -> None:
        self.clock = Clock(float(DROPBOX["now"]))
        self.queue = FakeQueue()
        table = MemoryTable()
        self.records = FakeEventLogEntries(table, clock=self.clock)
        self.events = FakeEventLog(table, clock=self.clock)  # where delivery writes, in the same table
        self.ingress = Ingress(IngressDeps(
            config=parse_config(CONFIG), publisher=self.queue, payloads=FakePayloadStore(), entries=self.records,
            secrets=FakeSecrets({"DROPBOX": DROPBOX["secret"], "XERO": XERO["secret"], "GH": "gh-secret"}),
            clock=self.clock, idempotency_window_seconds=3600, in_flight_seconds=30))

    def send(self, source: str, case: dict[str, Any], body: bytes | None = None) -> Any:
        raw = case["body"].encode() if body is None else body
        headers = dict(case["headers"])
        return self.ingress.accept(source, headers, raw, request=Request(headers=headers, body=raw))

    def delivered(self, event_id: str, route: str) -> None:
        """Delivery has begun (its first claim writes the route's item): a copy is then a plain duplicate."""
        received_at = self.records.memory.get((event_id, "#event"))["received_at"]
        self.events.record_attempt(event_id=event_id, route=route, status="delivered", received_at=received_at)


def test_dropbox_gets_200_for_an_event_and_for_its_copy_with_hookline_json() -> None:
    hub = Hub()
    first = hub.send("box", DROPBOX)
    assert first.status == 200 and first.body["status"] == "accepted"  # 202 would be retried for ten minutes
    early = hub.send("box", DROPBOX)  # while the first may still be queueing: "retry later" stays a 409
    assert early.status == 409 and early.body["status"] == "in_progress"
    hub.delivered(first.body["id"], "box")
    again = hub.send("box", DROPBOX)
    assert (again.status, again.body) == (200, {"status": "duplicate", "id": first.body["id"]})
    assert len(hub.queue.tasks) == 1


def test_xero_gets_200_with_an_empty_body_for_an_event_and_its_copy() -> None:
    hub = Hub()
    resp = hub.send("books", XERO)
    assert (resp.status, resp.body, resp.content_type) == (200, "", None)
    hub.delivered(hub.queue.tasks[0].event_id, "books")
    resp = hub.send("books", XERO)  # the copy: a duplicate, still 200 and empty
    assert (resp.status, resp.body, resp.content_type) == (200, "", None)
    assert len(hub.queue.tasks) == 1


def test_refusals_and_retry_later_keep_their_status() -> None:
    hub = Hub()
    changed = hub.send("books", XERO, body=XERO["body"].encode() + b" ")
    assert changed.status == 401 and changed.body["error"]  # Xero's intent to receive needs exactly this 401
    hub.queue.fail = 1
    unqueued = hub.send("box", DROPBOX)
    assert unqueued.status == 503  # nothing recorded: the sender must retry, whatever the entry's status
    assert hub.send("box", DROPBOX).status == 200  # the retry is recorded as new


def test_entries_without_a_response_table_answer_202_as_before() -> None:
    assert load("github").response_status is None and load("slack").response_status is None
    assert load("okta").response_empty and load("xero").response_empty
    assert {n: load(n).response_status for n in ("dropbox", "zoom", "okta", "asana", "meta", "whatsapp",
                                                 "instagram", "messenger", "xero")} == dict.fromkeys(
        ("dropbox", "zoom", "okta", "asana", "meta", "whatsapp", "instagram", "messenger", "xero"), 200)


BASE = {"title": "T", "docs": "https://example.com", "setup": "s", "secret": "s", "proof": "x",
        "signature": {"algorithm": "hmac-sha256", "header": "X-Sig", "encoding": "hex", "content": "{body}"}}


@pytest.mark.parametrize(("response", "message"), [
    ({"status": 302}, "response.status: must be a 2xx status"),
    ({"status": "200"}, "response.status: must be a 2xx status"),
    ({"status": True}, "response.status: must be a 2xx status"),
    ({"body": "text"}, "response.body: 'text' is not one of json, empty"),
    ({"code": 200}, "response.code: unknown key"),
])
def test_a_bad_response_table_names_the_file_and_key(response: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderError, match=f"catalog/t.toml: {message}"):
        compile_entry("t", {**BASE, "response": response})
