"""What the destination receives per `format`, through the delivery engine (moto + a real HTTP server):
mapped bodies in the destination's format, untransformed bodies as they came, python transforms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.support import moto_delivery as md
from tests.support.receiver import Receiver

FORM_BODY = b"order=1001&email=ada%40example.com&total=42.50"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_an_untransformed_form_body_goes_out_byte_for_byte_with_its_content_type(
        stack: Any, receiver: Receiver, lambda_context: Any) -> None:
    # Given a form source and a destination whose format (csv) applies to mapped bodies only
    cfg = md.config(receiver.url, source={"format": "form"}, dest={"format": "csv"})
    md.enqueue(stack, md.task("evt-form", body=FORM_BODY, content_type="application/x-www-form-urlencoded",
                        headers={"content-type": "application/x-www-form-urlencoded"}))
    assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    [req] = receiver.requests
    assert req.body == FORM_BODY
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_mapped_body_is_written_in_the_destination_format(stack: Any, receiver: Receiver,
                                                            lambda_context: Any) -> None:
    cfg = md.config(receiver.url, dest={"format": "form"},
                 route={"transform": {"order": "body.id", "customer.email": "body.customer.email",
                                      "paid": {"value": True}}})
    md.enqueue(stack, md.task("evt-f2"))
    assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    [req] = receiver.requests
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(req.body.decode()) == [("order", "1001"), ("customer[email]", "ada@example.com"),
                                            ("paid", "true")]


def test_a_body_the_format_cannot_express_is_a_mapping_failure(stack: Any, receiver: Receiver,
                                                               lambda_context: Any) -> None:
    cfg = md.config(receiver.url, dest={"format": "xml"}, route={"transform": {"1st": "body.id"}})
    md.enqueue(stack, md.task("evt-x"))
    md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
    assert receiver.requests == []
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["reason"] == "mapping"
    assert md.attrs(dead)["last_error"] == ("xml body: field 1st: '1st' is not a valid XML name (letters, digits, "
                                         "'_', '-', '.'; not starting with a digit)")


def test_a_python_transform_failure_names_the_last_frame(stack: Any, receiver: Receiver, lambda_context: Any,
                                                         tmp_path: Path) -> None:
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "__init__.py").write_text("")
    (tmp_path / "transforms" / "shop.py").write_text(
        "def to_erp(envelope):\n"
        "    body = envelope['body']\n"
        "    return {'order': body['id'], 'total': int(body['total']) / body['discount']}\n")
    cfg = md.config(receiver.url, route={"transform": {"python": "transforms.shop:to_erp"}}, base_dir=tmp_path)
    delivery = md.make_delivery(stack, cfg, config_dir=tmp_path)
    md.enqueue(stack, md.task("evt-py-ok", body={"id": 5, "total": "100", "discount": 4}),
            md.task("evt-py-bad", body={"id": 6, "total": "100"}))
    md.run(stack, delivery, md.receive(stack), lambda_context)
    assert [r.json() for r in receiver.requests] == [{"order": 5, "total": 25.0}]
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["event_id"] == "evt-py-bad" and md.attrs(dead)["reason"] == "mapping"
    assert md.attrs(dead)["last_error"] == ("field 'python transforms.shop:to_erp': raised KeyError: 'discount' "
                                         "at transforms/shop.py:3 in to_erp")


def test_a_formula_in_an_event_reaches_a_csv_destination_as_text(stack: Any, receiver: Receiver,
                                                                  lambda_context: Any) -> None:
    # Given a Shopify-like order whose note is a spreadsheet formula, mapped to a CSV destination
    cfg = md.config(receiver.url, dest={"format": "csv"},
                    route={"transform": {"order": "body.id", "note": "body.note"}})
    md.enqueue(stack, md.task("evt-csv", body={"id": 1001, "note": "=cmd|' /C calc'!A0"}))
    assert md.failed(md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)) == set()
    # Then the cell starts with ' so a spreadsheet shows it instead of running it
    [req] = receiver.requests
    assert req.body.decode() == "order,note\r\n1001,'=cmd|' /C calc'!A0\r\n"
