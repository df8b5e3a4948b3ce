"""AWS-native destinations, delivery's side: `hookline validate` names what each type needs and what it does not
use, and the message for one delivery carries the ids that keep a retry from landing twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hookline.core.config import RouteConfig
from hookline.core.errors import ConfigError
from hookline.core.targets import TargetMessage, execution_name
from hookline.delivery.send.targets import target_message
from hookline.validation import parse_config

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"


def problems(dest: dict[str, Any]) -> list[str]:
    try:
        parse_config({"destinations": {"t": dest}})
    except ConfigError as e:
        return [f"{p.path}: {p.message}" for p in e.problems]
    return []


@pytest.mark.parametrize(("dest", "expected"), [
    ({"type": "eventbridge", "bus": "orders"},
     ["destinations.t.source: a destination of type eventbridge needs `source`"]),
    ({"type": "sqs"}, ["destinations.t.queue: a destination of type sqs needs `queue`"]),
    ({"type": "sns", "topic": "arn:aws:sns:us-east-1:123456789012:t", "url": "https://x.example"},
     ["destinations.t.url: not used by a destination of type sns"]),
    ({"type": "lambda", "function": "f", "headers": {"X-A": "1"}},
     ["destinations.t.headers: not used by a destination of type lambda"]),
    ({"type": "stepfunctions", "state_machine": SM, "queue": "q"},
     ["destinations.t.queue: not used by a destination of type stepfunctions"]),
    ({"type": "sqs", "queue": "orders/../x"}, ["destinations.t.queue: not a queue name or URL: 'orders/../x'"]),
    ({"url": "https://crm.example/x", "bus": "b"}, ["destinations.t.bus: not used by a destination of type http"]),
    ({"type": "sqs", "queue": "q", "format": "xml"}, ["destinations.t.format: a destination of type sqs takes JSON"]),
    ({"type": "sqs", "queue": "q", "invocation": "sync"},
     ["destinations.t.invocation: not used by a destination of type sqs"]),
])
def test_each_type_needs_its_own_keys_and_refuses_others(dest: dict[str, Any], expected: list[str]) -> None:
    assert problems(dest) == expected


def test_complete_targets_validate() -> None:
    for dest in ({"type": "eventbridge", "bus": "orders", "source": "shop", "detail_type_path": "kind"},
                 {"type": "sqs", "queue": "https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo"},
                 {"type": "sns", "topic": "arn:aws:sns:us-east-1:123456789012:orders.fifo"},
                 {"type": "lambda", "function": "orders", "invocation": "sync"},
                 {"type": "stepfunctions", "state_machine": SM}):
        assert problems(dest) == []


def test_the_fifo_group_is_the_record_key_else_the_route() -> None:
    keyed = RouteConfig(name="orders", source="s", destination="t", key="body.customer")
    cfg = parse_config({"destinations": {"t": {"type": "sqs", "queue": "q.fifo"}}})
    dest = cfg.destinations["t"]
    envelope = {"body": {"customer": "c-7"}}
    m = target_message(keyed, dest, body=b'{"a": 1}', delivery_key="e1:orders", event_id="e1", envelope=envelope)
    assert m.group_id == "orders#c-7"
    plain = RouteConfig(name="orders", source="s", destination="t")
    assert target_message(plain, dest, body=b"{}", delivery_key="e1:orders", event_id="e1",
                          envelope=envelope).group_id == "orders"


def test_detail_type_from_the_mapped_body_else_the_constant() -> None:
    cfg = parse_config({"destinations": {"t": {"type": "eventbridge", "bus": "b", "source": "s",
                                               "detail_type": "order", "detail_type_path": "kind"}}})
    route = RouteConfig(name="r", source="s", destination="t")
    dest = cfg.destinations["t"]
    assert target_message(route, dest, body=b'{"kind": "order.paid"}', delivery_key="k", event_id="e",
                          envelope=None).detail_type == "order.paid"
    assert target_message(route, dest, body=b'{"other": 1}', delivery_key="k", event_id="e",
                          envelope=None).detail_type == "order"


def test_a_body_that_is_not_json_travels_as_a_json_string() -> None:
    route = RouteConfig(name="r", source="s", destination="t")
    dest = parse_config({"destinations": {"t": {"type": "lambda", "function": "f"}}}).destinations["t"]
    assert target_message(route, dest, body=b"<a/>", delivery_key="k", event_id="e", envelope=None).body == '"<a/>"'


def test_execution_names_fit_step_functions_rules_and_differ_per_delivery() -> None:
    keys = ["evt_1:route", "evt/1:route", "x" * 300 + ":r", "évènement:r", "a b:c"]
    names = [execution_name(k) for k in keys]
    for name in names:
        assert len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name), name
    assert len(set(names)) == len(keys)  # evt_1 and evt/1 read alike, yet differ
    assert execution_name("evt_1:route") == execution_name("evt_1:route")  # a retry gets the same name
    m = TargetMessage(body="{}", delivery_key="evt_1:route", group_id="g", detail_type="d")
    assert m.deduplication_id == TargetMessage(body="{}", delivery_key="evt_1:route", group_id="h",
                                               detail_type="e").deduplication_id
