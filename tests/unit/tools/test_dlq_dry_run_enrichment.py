"""The replay's dry run runs a route's enrichment steps, as the replay will, and shows their failure.

An event dead-lettered at its second enrichment step keeps only the first step's answer. A dry run
that mapped that partial `enriched` showed a clean body, and the real replay failed again.
"""

from __future__ import annotations

import json
from typing import Any

from hookline.core.dlq import DlqEntry
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult
from hookline.operations.dlq import preview_mapping
from hookline.validation import parse_config

CONFIG = parse_config({
    "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:9/deals"}, "search": {"url": "http://127.0.0.1:9/api"}},
    "routes": [{"name": "deals", "source": "shop", "destination": "crm",
                "enrich": [{"name": "contact", "destination": "search", "path": "/contacts?email={body.email}"},
                           {"name": "owner", "destination": "search", "path": "/owners/{enriched.contact.id}"}],
                "transform": {"order": "body.id", "owner": "enriched.owner.name"}}],
})
CONTACT = {"id": "c-42"}


def dead_at_the_owner_step(mapped: Any = None) -> DlqEntry:
    """The DLQ message the engine writes when step `owner` answered 404 (on_missing: fail)."""
    task = DeliveryTask(event_id="evt-9", source="shop", route="deals", type=None, received_at=1_700_000_000.0,
                        headers={"content-type": "application/json"}, content_type="application/json",
                        body=json.dumps({"id": 9, "email": "ada@example.com"}), prior_attempts=1,
                        enriched={"contact": CONTACT})
    attrs = {"reason": "permanent_http", "last_error": "enrich owner (search GET /owners/c-42): HTTP 404"}
    if mapped is not None:
        attrs["mapped_body"] = json.dumps(mapped)
    return DlqEntry.from_sqs({"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": task.model_dump_json(),
                              "Attributes": {"SentTimestamp": "1700000100000"},
                              "MessageAttributes": {k: {"DataType": "String", "StringValue": v}
                                                    for k, v in attrs.items()}})


def answers(**by_path: tuple[int, Any]) -> Any:
    """An enrich.Fetch answering by the last path segment; records the URLs asked for."""
    calls: list[str] = []

    def fetch(dest: Any, method: str, url: str, body: bytes, event_id: str, label: str, deadline: Any) -> HttpResult:
        calls.append(url)
        status, payload = by_path[url.rsplit("/", 1)[-1].split("?")[0]]
        return HttpResult(0.0, 1.0, status_code=status, body=json.dumps(payload).encode(), requests_made=1,
                          error=None if status < 300 else f"HTTP {status}")

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_without_answers_for_its_steps_the_dry_run_shows_no_body_and_says_why() -> None:
    # Given an event whose second enrichment step failed (only the first step's answer was kept)
    entry = dead_at_the_owner_step()
    # When it is dry-run with no way to answer the steps
    preview = preview_mapping(entry, CONFIG)
    # Then no clean body is made from the partial answers: the steps were not run, and it says so
    assert preview.status == "enrichment_not_run" and preview.new is None
    assert "steps: contact, owner" in preview.detail and "a replay calls them again" in preview.detail


def test_a_step_that_still_fails_is_shown_as_the_failure_the_replay_will_meet() -> None:
    entry = dead_at_the_owner_step()
    fetch = answers(contacts=(200, CONTACT), **{"c-42": (404, {"error": "no owner"})})
    preview = preview_mapping(entry, CONFIG, enrich=("mock", fetch))
    assert preview.status == "enrichment_failed" and preview.new is None
    assert preview.detail == ("enrichment fails (mock): enrich owner (search GET /owners/c-42): HTTP 404; "
                              "a replay would be dead-lettered again")
    assert preview.enriched == {"contact": CONTACT} and preview.to_dict()["enrichment"] == "mock"
    assert fetch.calls == ["http://127.0.0.1:9/api/contacts?email=ada%40example.com",
                           "http://127.0.0.1:9/api/owners/c-42"]
    # A step failing for a while (503) would be retried, not dead-lettered
    down = answers(contacts=(503, {}))
    assert preview_mapping(entry, CONFIG, enrich=("live", down)).detail.endswith(
        "a replay would be retried on the route's schedule")
    # And a fetch that cannot answer a step at all (no --mock for it) is a failure, naming it
    def unanswered(*args: Any) -> Any:
        raise RuntimeError("no --mock for enrichment step 'owner'")

    missing = preview_mapping(entry, CONFIG, enrich=("mock", unanswered))
    assert missing.status == "enrichment_failed" and "no --mock for enrichment step 'owner'" in missing.detail


def test_once_every_step_answers_the_body_is_mapped_from_these_answers() -> None:
    entry = dead_at_the_owner_step(mapped={"order": 9, "owner": None})
    fetch = answers(contacts=(200, CONTACT), **{"c-42": (200, {"name": "Grace"})})
    preview = preview_mapping(entry, CONFIG, enrich=("mock", fetch))
    assert preview.status == "changed" and preview.new == {"order": 9, "owner": "Grace"}
    assert preview.enriched == {"contact": CONTACT, "owner": {"name": "Grace"}} and preview.enrichment == "mock"


def test_the_consoles_preview_says_the_steps_did_not_run_and_runs_them_when_asked(monkeypatch: Any) -> None:
    from hookline.console import Backend, create_app
    from hookline.console.backend import Access
    from hookline.operations.stack import StackInfo

    class OneEntry(Backend):
        def config(self) -> Any:
            return CONFIG

        def dlq_entries(self, flt: Any = None) -> list[DlqEntry]:
            return [dead_at_the_owner_step(mapped={"order": 9, "owner": None})]

        def dlq(self) -> Any:
            return None  # a dry run sends and deletes nothing

    stack = StackInfo(outputs={"DeadLetterQueueUrl": "dlq", "DeliveryQueueUrl": "q"}, region="us-east-1",
                      origin="test")
    app = create_app(OneEntry(stack, probe=lambda *_: Access(True)), port=8765)
    c = app.test_client()
    host = {"Host": "127.0.0.1:8765"}
    c.get(f"/?token={app.extensions['hookline_login'].token}", headers=host)
    # When the Preview of the event is opened
    html = c.get("/dlq/preview?id=evt-9", headers=host).get_data(as_text=True)
    # Then it shows no clean body: the steps did not run, and a link runs them
    assert "enrichment_not_run" in html and '"owner": null' not in html
    assert '<a href="/dlq/preview?id=evt-9&amp;enrich=live" id="run-enrichment">' in html
    # When that link is followed (the steps' calls answered here as the search would: no owner)
    fetch = answers(contacts=(200, CONTACT), **{"c-42": (404, {"error": "no owner"})})
    monkeypatch.setattr("hookline.delivery.enrich.sender_fetch", lambda sender: fetch)
    html = c.get("/dlq/preview?id=evt-9&enrich=live", headers=host).get_data(as_text=True)
    # Then the failure the replay would meet is shown
    assert "enrichment_failed" in html and 'id="enrichment-live"' in html
    assert "enrichment fails (live): enrich owner (search GET /owners/c-42): HTTP 404" in html
    assert len(fetch.calls) == 2
