"""Upserts through the delivery engine on moto, with real HTTP servers for the contact search and the CRM.

The destination `url: .../contacts{/enriched.contact.id}` with `method: {when: enriched.contact.id, then:
PATCH, else: POST}`: a contact the search finds is PATCHed at its URL, an unknown one is POSTed to the
collection, and an id that would leave its path segment (`..`) is dead-lettered as `mapping` with no
request made (the CRM counts the requests it receives).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_enrich import contact_search
from tests.support import moto_delivery as md
from tests.support.receiver import Receiver, Script

CONTACTS = {"ada@example.com": {"id": "003Ada"}, "evil@example.com": {"id": ".."},
            "sneaky@example.com": {"id": "%2e%2e"}}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", md.CRM_TOKEN)


@pytest.fixture
def crm() -> Iterator[Receiver]:
    with Receiver(Script(statuses=[200])) as r:
        yield r


@pytest.fixture
def lookup() -> Iterator[Receiver]:
    with Receiver(Script(responder=contact_search(CONTACTS))) as r:
        yield r


def upsert_config(crm_url: str, search_url: str) -> Any:
    return md.config(crm_url, dest={
        "url": f"{crm_url}/contacts{{/enriched.contact.id}}",
        "method": {"when": "enriched.contact.id", "then": "PATCH", "else": "POST"},
        "auth": {"bearer": "env:CRM_TOKEN"},
    }, route={
        "enrich": [{"name": "contact", "destination": "crm_search", "path": "/contacts?email={body.customer.email}",
                    "on_missing": "skip"}],
        "transform": {"email": "body.customer.email", "order": "body.id"},
    }, extra_destinations={"crm_search": {"url": f"{search_url}/api", "auth": {"bearer": "env:CRM_TOKEN"}}})


def deliver(stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any, event_id: str, email: str) -> set[str]:
    delivery = md.make_delivery(stack, upsert_config(crm.url, lookup.url))
    md.enqueue(stack, md.task(event_id, body={"id": 7, "customer": {"email": email}}))
    return md.failed(md.run(stack, delivery, md.receive(stack), lambda_context))


def test_a_contact_found_by_enrichment_is_patched_at_its_url(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any) -> None:
    assert deliver(stack, crm, lookup, lambda_context, "evt-u1", "ada@example.com") == set()
    [req] = crm.requests
    assert (req.method, req.path) == ("PATCH", "/contacts/003Ada")
    assert req.headers["authorization"] == f"Bearer {md.CRM_TOKEN}"
    assert req.json() == {"email": "ada@example.com", "order": 7}
    assert md.route_item(stack, "evt-u1")["status"] == "delivered"


def test_an_unknown_contact_is_posted_to_the_collection(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any) -> None:
    assert deliver(stack, crm, lookup, lambda_context, "evt-u2", "new@example.com") == set()
    [req] = crm.requests
    assert (req.method, req.path) == ("POST", "/contacts")
    assert md.route_item(stack, "evt-u2")["status"] == "delivered"


@pytest.mark.parametrize("email", ["evil@example.com", "sneaky@example.com"])
def test_an_id_that_would_leave_its_segment_is_a_mapping_failure_and_no_request(
        stack: Any, crm: Receiver, lookup: Receiver, lambda_context: Any, email: str) -> None:
    assert deliver(stack, crm, lookup, lambda_context, "evt-u3", email) == set()  # dead-lettered, not retried
    assert crm.requests == []  # the CRM saw nothing: not /contacts, not /
    assert len(lookup.requests) == 1
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["reason"] == "mapping"
    error = md.attrs(dead)["last_error"]
    assert "enriched.contact.id" in error and "no request was made" in error
    assert md.route_item(stack, "evt-u3")["status"] == "dead"
