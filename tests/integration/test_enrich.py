"""Enrichment steps through the delivery engine (moto + real HTTP servers for the search and the CRM).

The search endpoint answers from the query string; the CRM records what it receives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from hookline import cli
from hookline.core.dlq import DlqEntry
from hookline.core.messages import DeliveryTask
from hookline.operations.dlq import preview_mapping
from hookline.validation import load_config
from tests.integration.test_delivery import TokenServer
from tests.integration.test_operations import MotoStack
from tests.support import moto_delivery as md
from tests.support.receiver import Received, Receiver, Script

CONTACTS = {"ada@example.com": {"id": "c-42", "email": "ada@example.com"}}


def contact_search(contacts: dict[str, Any]) -> Callable[[Received], tuple[int, bytes]]:
    """A CRM's search by ?email=: the contact as JSON, or 404 for an address it does not know."""
    def search(request: Received) -> tuple[int, bytes]:
        email = parse_qs(urlparse(request.path).query).get("email", [""])[0]
        contact = contacts.get(email)
        return (200, json.dumps(contact).encode()) if contact else (404, b'{"error": "no such contact"}')
    return search


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", md.CRM_TOKEN)


@pytest.fixture
def crm() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def lookup() -> Iterator[Receiver]:
    with Receiver(Script(responder=contact_search(CONTACTS))) as r:
        yield r


def enrich_config(crm_url: str, search_url: str, **step: Any) -> Any:
    return md.config(crm_url, route={
        "enrich": [{"name": "contact", "destination": "crm_search", "path": "/contacts?email={body.customer.email}",
                    **step}],
        "transform": {"order": "body.id", "contact_id": "enriched.contact.id"}},
        extra_destinations={"crm_search": {"url": f"{search_url}/api",
                                           "headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}"}}})


def test_enriched_contact_id_reaches_the_destination_and_a_copy_calls_nothing(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any) -> None:
    # Given a route whose transform reads enriched.contact.id
    cfg = enrich_config(crm.url, lookup.url)
    delivery = md.make_delivery(stack, cfg)
    md.enqueue(stack, md.task("evt-e1", body={"id": 1001, "customer": {"email": "ada@example.com"}}))
    # When it is delivered
    assert md.failed(md.run(stack, delivery, md.receive(stack), lambda_context)) == set()
    # Then the search was called with the destination's auth and the URL-encoded e-mail
    [call] = lookup.requests
    assert call.method == "GET" and call.path == "/api/contacts?email=ada%40example.com"
    assert call.headers["authorization"] == f"Bearer {md.CRM_TOKEN}"
    assert call.headers["accept"] == "application/json"
    # And the CRM got the contact id
    [req] = crm.requests
    assert req.json() == {"order": 1001, "contact_id": "c-42"}
    # When SQS hands the same message over again (at-least-once), nothing is called again
    md.enqueue(stack, md.task("evt-e1", body={"id": 1001, "customer": {"email": "ada@example.com"}}))
    assert md.failed(md.run(stack, delivery, md.receive(stack), lambda_context)) == set()
    assert len(lookup.requests) == 1 and len(crm.requests) == 1


def test_a_failing_lookup_follows_the_retry_schedule_and_the_delivery_happens_once(
        stack: Any, crm: Receiver, lambda_context: Any) -> None:
    answers = iter([(503, b"search down"), (200, b'{"id": "c-7"}')])
    with Receiver(Script(responder=lambda r: next(answers))) as flaky:
        cfg = enrich_config(crm.url, flaky.url)
        delivery = md.make_delivery(stack, cfg)
        md.enqueue(stack, md.task("evt-e2", body={"id": 7, "customer": {"email": "bo@example.com"}}))
        messages = md.receive(stack)
        assert md.failed(md.run(stack, delivery, messages, lambda_context)) == {messages[0]["MessageId"]}
        item = md.route_item(stack, "evt-e2")
        assert item["status"] == "retrying"
        assert item["last_error"].startswith("enrich contact (crm_search GET /contacts?email=bo%40example.com): "
                                             "HTTP 503: search down")
        assert crm.requests == []
        md.make_visible(stack, messages)
        assert md.failed(md.run(stack, delivery, md.receive(stack), lambda_context)) == set()
    assert [r.json() for r in crm.requests] == [{"order": 7, "contact_id": "c-7"}]
    assert md.route_item(stack, "evt-e2")["status"] == "delivered"


@pytest.mark.parametrize(("on_missing", "extra", "expected"), [
    ("default", {"default": {"id": "unassigned"}}, {"order": 1, "contact_id": "unassigned"}),
    ("skip", {}, {"order": 1, "contact_id": None}),
])
def test_a_404_maps_to_a_default_or_is_skipped(stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any,
                                               on_missing: str, extra: dict, expected: dict) -> None:
    cfg = enrich_config(crm.url, lookup.url, on_missing=on_missing, **extra)
    md.enqueue(stack, md.task("evt-404", body={"id": 1, "customer": {"email": "nobody@example.com"}}))
    assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    assert crm.requests[0].json() == expected


def test_a_404_with_fail_dead_letters_and_dry_run_meets_the_same_failure(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any) -> None:
    # Given two steps: the first finds the contact, the second (owner by contact id) does not exist
    cfg = md.config(crm.url, route={
        "enrich": [{"name": "contact", "destination": "crm_search", "path": "/contacts?email={body.customer.email}"},
                   {"name": "owner", "destination": "crm_search", "path": "/owners/{enriched.contact.id}"}],
        "transform": {"order": "body.id", "owner": "enriched.owner.name"}},
        extra_destinations={"crm_search": {"url": lookup.url}})
    md.enqueue(stack, md.task("evt-f", body={"id": 3, "customer": {"email": "ada@example.com"}}))
    md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
    # Then nothing reached the CRM, and the DLQ says why, naming the step
    assert crm.requests == []
    assert [r.path for r in lookup.requests] == ["/contacts?email=ada%40example.com", "/owners/c-42"]
    [dead] = md.dlq_messages(stack)
    a = md.attrs(dead)
    assert a["reason"] == "permanent_http" and a["status_code"] == "404"
    assert a["last_error"].startswith("enrich owner (crm_search GET /owners/c-42): HTTP 404")
    # And the dead task keeps what was enriched before the failing step
    stored = DeliveryTask.model_validate_json(dead["Body"])
    assert stored.enriched == {"contact": {"id": "c-42", "email": "ada@example.com"}}
    # And the dry run makes no body of that partial answer (it once showed a clean {"owner": None})
    entry = DlqEntry.from_sqs(dead)
    assert preview_mapping(entry, cfg).status == "enrichment_not_run"
    # But calling the steps for real, it meets the replay's failure at the same step
    from hookline.delivery.enrich import sender_fetch
    from hookline.delivery.send.http import HttpSender
    from hookline.secrets import SecretResolver

    preview = preview_mapping(entry, cfg, enrich=("live", sender_fetch(HttpSender(SecretResolver()))))
    assert preview.status == "enrichment_failed" and preview.new is None
    assert preview.detail.startswith("enrichment fails (live): enrich owner (crm_search GET /owners/c-42): HTTP 404")
    assert preview.detail.endswith("a replay would be dead-lettered again")
    assert preview.to_dict()["enriched"] == {"contact": {"id": "c-42", "email": "ada@example.com"}}
    assert [r.path for r in lookup.requests][2:] == ["/contacts?email=ada%40example.com", "/owners/c-42"]



def test_dlq_replay_dry_run_runs_the_enrichment_with_mocks_or_live(stack: Any, crm: Receiver, lookup: Receiver,
                                                         lambda_context: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # Given an event dead-lettered because the CRM refused the deal (after the contact was found)
    crm.script = Script(statuses=[422], body=b'{"error": "owner required"}')
    data = {
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X-Sig"}}},
        "destinations": {"crm": {"url": f"{crm.url}/contacts"}, "crm_search": {"url": lookup.url}},
        "routes": [{"name": "orders-to-crm", "source": "shop", "destination": "crm",
                    "enrich": [{"name": "contact", "destination": "crm_search",
                                "path": "/contacts?email={body.customer.email}"}],
                    "transform": {"order": "body.id", "contact_id": "enriched.contact.id"}}],
    }
    (tmp_path / "hookline.yaml").write_text(yaml.safe_dump(data))
    cfg = load_config(tmp_path / "hookline.yaml")
    md.enqueue(stack, md.task("evt-dry", body={"id": 4, "customer": {"email": "ada@example.com"}}))
    md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
    assert len(crm.requests) == 1
    # When the operator dry-runs the replay
    info = MotoStack(outputs={"DeliveryQueueUrl": stack.queue_url, "DeadLetterQueueUrl": stack.dlq_url,
                              "DeliveryQueueArn": stack.queue_arn, "DeadLetterQueueArn": stack.dlq_arn,
                              "EventsTableName": stack.events_table},
                     endpoint_url="http://127.0.0.1:4566", region=stack.region, origin="test")
    info.session = stack.admin  # the operator's credentials (the test's administrator)
    monkeypatch.setattr("hookline.commands._ops.resolve_stack", lambda name=None: info)
    dry_run = ["dlq", "replay", "--dry-run", "--config", str(tmp_path / "hookline.yaml")]

    def dry(*extra: str) -> str:
        capsys.readouterr()
        assert cli.main([*dry_run, *extra]) == 0
        return capsys.readouterr().out

    # Then, with no answer for the enrichment step, it says it did not run it, and how to
    out = dry()
    assert "evt-dry:orders-to-crm: enrichment_not_run: the route enriches the event first (steps: contact)" in out
    assert "--mock NAME=FILE" in out and "--live" in out
    # With the step's answer from a file, the enriched envelope is shown, and the mapping with it is unchanged
    (tmp_path / "contact.json").write_text('{"id": "c-42", "email": "ada@example.com"}')
    out = dry("--mock", f"contact={tmp_path / 'contact.json'}")
    assert "evt-dry:orders-to-crm: enriched envelope (the steps answered by --mock):" in out
    assert '"id": "c-42"' in out and "unchanged" in out
    # With the step answering 404, the failure the replay would meet is shown
    out = dry("--mock", "contact=404")
    assert ("evt-dry:orders-to-crm: enrichment_failed: enrichment fails (mock): enrich contact (crm_search GET "
            "/contacts?email=ada%40example.com): HTTP 404 (mock status 404); a replay would be dead-lettered again"
            ) in out
    # Nothing was called or sent by those; --live calls the lookup (only), and maps with its answer
    assert len(lookup.requests) == 1 and len(crm.requests) == 1
    out = dry("--live")
    assert "evt-dry:orders-to-crm: enriched envelope (the steps called now (--live)):" in out and "unchanged" in out
    assert len(lookup.requests) == 2 and len(crm.requests) == 1
    # And the flags without --dry-run are refused, saying why
    assert cli.main(["dlq", "replay", "--mock", "contact=404"]) != 0
    assert "add --dry-run" in capsys.readouterr().err


def test_cache_seconds_reuses_an_answer_for_the_next_event(stack: Any, crm: Receiver, lookup: Receiver,
                                                           lambda_context: Any) -> None:
    cfg = enrich_config(crm.url, lookup.url, cache_seconds=300)
    delivery = md.make_delivery(stack, cfg)
    md.enqueue(stack, *(md.task(f"evt-c{i}", body={"id": i, "customer": {"email": "ada@example.com"}})
                        for i in range(3)))
    assert md.failed(md.run(stack, delivery, md.receive(stack), lambda_context)) == set()
    assert len(lookup.requests) == 1
    assert sorted(r.json()["order"] for r in crm.requests) == [0, 1, 2]
    assert {r.json()["contact_id"] for r in crm.requests} == {"c-42"}


def test_a_missing_placeholder_value_is_a_mapping_failure(stack: Any, crm: Receiver, lookup: Receiver,
                                                          lambda_context: Any) -> None:
    cfg = enrich_config(crm.url, lookup.url)
    md.enqueue(stack, md.task("evt-m", body={"id": 9, "customer": {}}))
    md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
    assert lookup.requests == [] and crm.requests == []
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["reason"] == "mapping"
    assert md.attrs(dead)["last_error"] == ("enrich contact (crm_search GET): field 'path': no value at "
                                         "body.customer.email for the placeholder")


def test_enrichment_uses_the_search_destinations_oauth2_token(stack: Any, crm: Receiver, lookup: Receiver,
                                                              lambda_context: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_CLIENT_SECRET", "oauth-client-secret-xyz")
    with TokenServer() as idp:
        cfg = md.config(crm.url, route={
            "enrich": [{"name": "contact", "destination": "crm_search",
                        "path": "/contacts?email={body.customer.email}"}],
            "transform": {"order": "body.id", "contact_id": "enriched.contact.id"}},
            extra_destinations={"crm_search": {"url": lookup.url, "oauth2": {
                "token_url": f"{idp.url}/oauth2/token", "client_id": "hookline",
                "client_secret": "env:CRM_CLIENT_SECRET"}}})
        md.enqueue(stack, md.task("evt-oa", body={"id": 11, "customer": {"email": "ada@example.com"}}))
        assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    [call] = lookup.requests
    assert call.headers["authorization"] == "Bearer tok-1"
    assert len(idp.requests) == 1
    [req] = crm.requests
    assert "authorization" not in req.headers  # the CRM destination itself has no credentials configured
    assert req.json() == {"order": 11, "contact_id": "c-42"}


@pytest.mark.parametrize("customer", ["..", ".", "a/../..", "../admin", "x/y", "..\\admin"])
def test_a_placeholder_value_that_would_climb_the_path_is_a_mapping_failure_and_no_request_is_made(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any, customer: str) -> None:
    # Given a step whose path puts an event value in a path segment, under /api/v1/customers
    cfg = md.config(crm.url, route={
        "enrich": [{"name": "profile", "destination": "crm_search", "path": "/{body.customer}/profile"}],
        "transform": {"order": "body.id", "profile": "enriched.profile"}},
        extra_destinations={"crm_search": {"url": f"{lookup.url}/api/v1/customers",
                                           "headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}"}}})
    # When an event's value would climb out of it (to /api/v1/profile, with the step's credentials)
    md.enqueue(stack, md.task("evt-climb", body={"id": 5, "customer": customer}))
    md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
    # Then the server saw no request at all, nothing was delivered, and the DLQ says what and where
    assert lookup.requests == [] and crm.requests == []
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["reason"] == "mapping"
    error = md.attrs(dead)["last_error"]
    assert error.startswith("enrich profile (crm_search GET): field 'path': the value at body.customer "), error
    assert "path segment" in error and md.CRM_TOKEN not in error


def test_dots_and_slashes_in_the_query_part_are_sent_encoded(stack: Any, crm: Receiver, lookup: Receiver,
                                                              lambda_context: Any) -> None:
    # A query value is not a path segment: `..` or `/` there cannot move the request elsewhere
    cfg = enrich_config(crm.url, lookup.url, on_missing="skip")
    md.enqueue(stack, md.task("evt-q", body={"id": 6, "customer": {"email": "../a/b"}}))
    assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    [call] = lookup.requests
    assert call.path == "/api/contacts?email=..%2Fa%2Fb"
