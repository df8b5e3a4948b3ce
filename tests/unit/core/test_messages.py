"""The queue message as ingress and sync write it (DeliveryTask.new, task_json) is pydantic's, byte for byte.

Ingress builds no pydantic validator or serializer for it (issue 23: ~20 ms of its first request); delivery
still validates every message it reads (`DeliveryTask.model_validate_json`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from hookline.core.messages import DeliveryTask, task_json

BASE: dict[str, Any] = {"event_id": "evt_1", "source": "github", "route": "issues-to-crm", "type": "issues",
                        "received_at": 1764244800.123, "headers": {"content-type": "application/json"},
                        "content_type": "application/json"}
# What fanout writes: inline (text, base64), claim check, with and without the optional fields.
NEW_TASKS: list[dict[str, Any]] = [
    {**BASE, "body": '{"a": 1}'},
    {**BASE, "body": "", "chain": "0123456789abcdef"},
    {**BASE, "body": "//48AGEAPgA=", "body_encoding": "base64"},
    {**BASE, "s3_key": "payloads/github/ab12", "chain": "c1"},
    {**BASE, "type": None, "content_type": None, "headers": {}, "body": "x"},
    {**BASE, "received_at": 1764244800, "body": "an int time"},  # validation makes it a float: 1764244800.0
    {**BASE, "received_at": 0.1, "body": "x"},
    {**BASE, "received_at": 1e15 + 0.5, "body": "x"},
    {**BASE, "headers": {"x-ünïcode": "é😀", "x-ctl": "a\x00\x1f\x7f\u2028\"\\/\b\f\n\r\t"},
     "body": '{"name": "Zoë \\u00e9 \U0001F600", "nl": "\\n"}\n\t\x01'},
]
# Every other field a task may carry (delivery's re-enqueued copies, re-sends, DLQ replays).
MORE_FIELDS: list[dict[str, Any]] = [
    {"prior_attempts": 3, "schedule_attempts": 2, "held_since": 1764244801.5},
    {"parent": "0123456789abcdef", "chain": "fedcba9876543210"},
    {"resend": "resend-2", "force": True},
    {"force": False, "held_since": 1764244801},
    {"enriched": {"lookup": {"id": 7, "when": 1.5e-7, "list": [1, "two", None]}}},
    {"held_since": 1e-5},  # pydantic writes 0.00001 where json.dumps writes 1e-05: left to pydantic
    {"held_since": float("inf")},  # pydantic writes null
]


def _validated(fields: dict[str, Any]) -> DeliveryTask:
    return DeliveryTask(**fields)


@pytest.mark.parametrize("fields", NEW_TASKS)
def test_new_is_the_validated_task(fields: dict[str, Any]) -> None:
    made, validated = DeliveryTask.new(**fields), _validated(fields)
    assert made.model_dump() == validated.model_dump()
    assert type(made.received_at) is float


@pytest.mark.parametrize("fields", NEW_TASKS)
def test_task_json_is_pydantics_text_and_delivery_reads_it_back(fields: dict[str, Any]) -> None:
    made, validated = DeliveryTask.new(**fields), _validated(fields)
    text = task_json(made)
    assert text == validated.model_dump_json(exclude_none=True)
    assert text.encode() == made.model_dump_json(exclude_none=True).encode()
    assert DeliveryTask.model_validate_json(text) == validated


@pytest.mark.parametrize("more", MORE_FIELDS)
@pytest.mark.parametrize("fields", NEW_TASKS[:4])
def test_task_json_is_pydantics_text_for_every_field(fields: dict[str, Any], more: dict[str, Any]) -> None:
    task = _validated({**fields, **more})
    # model_copy (delivery's deferrals) sets values without validating them: an int where a float goes.
    copied = _validated(fields).model_copy(update=more)
    for t in (task, copied):
        assert task_json(t) == t.model_dump_json(exclude_none=True)


def test_a_lone_surrogate_is_refused_as_pydantic_refuses_it() -> None:
    task = DeliveryTask.new(**{**BASE, "headers": {"x-bad": "\ud800"}, "body": "x"})
    with pytest.raises(Exception, match="surrogates not allowed"):
        task_json(task)


@pytest.mark.parametrize(("change", "wrong"), [
    ({"event_id": ""}, "event_id"),
    ({"event_id": 7}, "event_id"),
    ({"route": None}, "route"),
    ({"type": 3}, "type"),
    ({"received_at": "now"}, "received_at"),
    ({"headers": {"x-n": 1}}, "headers"),
    ({"headers": [("a", "b")]}, "headers"),
    ({"body_encoding": "latin-1"}, "body_encoding"),
    ({"s3_key": "payloads/x"}, "exactly one"),  # both bodies
    ({"body": None}, "exactly one"),  # neither
])
def test_new_refuses_what_validation_refuses(change: dict[str, Any], wrong: str) -> None:
    fields = {**BASE, "body": "x", **change}
    with pytest.raises(ValueError, match=wrong):
        DeliveryTask.new(**fields)
    with pytest.raises(ValidationError):
        _validated(fields)


def test_delivery_still_refuses_a_message_that_is_not_a_task() -> None:
    good = json.loads(task_json(DeliveryTask.new(**BASE, body="x")))
    for bad in ({**good, "extra": 1}, {**good, "s3_key": "k"}, {**good, "resend": "again"},
                {k: v for k, v in good.items() if k != "event_id"}):
        with pytest.raises(ValidationError):
            DeliveryTask.model_validate_json(json.dumps(bad))
