"""Ingress refusals that need no AWS (an unknown source, a body nested too deep), and how a deep body stored
before the depth cap (a DLQ entry) is redacted and shown."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import pytest

from hookline.core.dlq import DlqEntry
from hookline.core.envelope import MAX_JSON_DEPTH, BodyParseError, parse_body
from hookline.core.messages import DeliveryTask
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.signatures import sign
from hookline.operations.dlq import REDACTED, entry_payload, pretty_json, redact, redact_text
from hookline.operations.redaction import PRETTY_DEPTH
from hookline.secrets import SecretResolver
from hookline.validation import parse_config

SECRET = "rejections-test-secret"
CONFIG = {
    "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:REJECT_SECRET"]}},
                "any": {"verify": {"scheme": "github", "secrets": ["env:REJECT_SECRET"]}, "format": "auto"}},
    "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}},
    "routes": [{"name": "r", "source": "github", "destination": "crm"}],
}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REJECT_SECRET", SECRET)


class Untouched:
    """Records, queue and bucket that a refused request must never reach."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refused request used {name}")


def ingress() -> Ingress:
    nothing: Any = Untouched()
    return Ingress(IngressDeps(config=parse_config(CONFIG), secrets=SecretResolver(), publisher=nothing,
                               payloads=nothing, entries=nothing))


def signed(body: bytes, source: str = "github") -> dict[str, str]:
    cfg = parse_config(CONFIG).sources[source].verify
    return {**sign(cfg, SECRET, body, msg_id="d-deep"), "Content-Type": "application/json"}


def nested(depth: int, key: str | None = None) -> bytes:
    opening, closing = (f'{{"{key}":', "}") if key else ("[", "]")
    return (opening * depth + "1" + closing * depth).encode()


# ---------------------------------------------------------------- item 10: an unknown source


def test_an_unknown_source_is_only_not_found_and_the_detail_is_logged(logs: io.StringIO) -> None:
    resp = ingress().accept("gitlab", {"Content-Type": "application/json"}, b"{}")
    assert (resp.status, resp.body) == (404, {"error": "not found"})
    # The operator learns which name was asked for and what the configuration has
    log = logs.getvalue()
    assert "gitlab" in log and "sources.gitlab" in log and "github" in log


def test_an_unknown_source_name_is_logged_bounded() -> None:
    stream = io.StringIO()
    from hookline.observability import logger

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        assert ingress().accept("x" * 10_000, {}, b"{}").status == 404
    finally:
        logger._logger.removeHandler(handler)
    assert 0 < len(stream.getvalue()) < 2_000


# ---------------------------------------------------------------- item 5: JSON depth


def test_a_6kb_body_nested_3000_deep_is_refused_with_the_limit_named() -> None:
    body = nested(3000)
    assert 6000 <= len(body) <= 6 * 1024
    resp = ingress().accept("github", signed(body), body)
    assert resp.status == 400
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in resp.body["error"]
    # The same through `format: auto`, objects rather than arrays
    deep_objects = nested(3000, "a")
    assert ingress().accept("any", signed(deep_objects, "any"), deep_objects).status == 400


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 3000, 9000, 50_000])
def test_json_deeper_than_the_cap_is_refused_quickly(depth: int) -> None:
    t0 = time.perf_counter()
    with pytest.raises(BodyParseError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
        parse_body(nested(depth), "application/json", "json")
    assert time.perf_counter() - t0 < 1.0


def test_json_at_the_cap_and_wide_shallow_json_are_parsed() -> None:
    value = parse_body(nested(MAX_JSON_DEPTH, "k"), "application/json", "json")
    for _ in range(MAX_JSON_DEPTH):
        value = value["k"]
    assert value == 1
    # Many brackets, little depth (an order with thousands of line items), and brackets inside strings
    wide = json.dumps({"items": [{"sku": i, "tags": [[i]]} for i in range(5000)], "note": "[[[[" * 500}).encode()
    assert len(parse_body(wide, "application/json", "json")["items"]) == 5000
    assert parse_body(b'"' + b"[" * 5000 + b'"', "application/json", "auto") == "[" * 5000


# ---------------------------------------------------------------- a deep body stored before the cap


def deep_value(depth: int) -> Any:
    """{"a": {"a": ... {"password": "hunter2", "card": "4111 1111 1111 1111"} ...}}, built without recursion."""
    value: Any = {"password": "hunter2", "card": "4111 1111 1111 1111", "ok": "fine"}
    for _ in range(depth):
        value = {"a": value}
    return value


def innermost(value: Any) -> Any:
    while "a" in value:
        value = value["a"]
    return value


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_redact_is_depth_safe(depth: int) -> None:
    out = innermost(redact(deep_value(depth)))
    assert out == {"password": REDACTED, "card": REDACTED + "1111", "ok": "fine"}


def test_redact_keeps_shapes_and_leaves_the_input_alone() -> None:
    value = {"list": [{"token": "t"}, ["4111111111111111", 3, None]], "secret": "", "n": 1.5}
    assert redact(value) == {"list": [{"token": REDACTED}, [REDACTED + "1111", 3, None]], "secret": "", "n": 1.5}
    assert value["list"][0] == {"token": "t"}


def test_redact_text_of_json_too_deep_to_parse_is_the_text_not_a_crash() -> None:
    text = nested(200_000).decode()
    assert redact_text(text) == text


def test_pretty_json_is_json_dumps_indent_2_and_survives_any_depth() -> None:
    value = {"b": [1, {"c": None, "d": [True, "é"]}], "a": {}, "e": [], "f": 2.5, "g": "\n"}
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert pretty_json(value, sort_keys=True) == json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    at_cap = deep_value(PRETTY_DEPTH - 1)
    assert pretty_json(at_cap) == json.dumps(at_cap, indent=2, ensure_ascii=False)
    # Deeper than json.dumps goes: the first PRETTY_DEPTH levels indented, the rest on one line, same JSON
    deep = deep_value(50_000)
    with pytest.raises(RecursionError):
        json.dumps(deep, indent=2)
    t0 = time.perf_counter()
    text = pretty_json(deep)
    assert time.perf_counter() - t0 < 5.0 and len(text) < 1_000_000
    lines = text.splitlines()
    assert lines[:2] == ["{", '  "a": {'] and lines[PRETTY_DEPTH - 1] == "  " * (PRETTY_DEPTH - 1) + '"a": {'
    assert lines[PRETTY_DEPTH].startswith("  " * PRETTY_DEPTH + '"a": {"a": {"a": {')
    assert text.count('"a": {') == 50_000
    assert '{"password": "hunter2", "card": "4111 1111 1111 1111", "ok": "fine"}' in text
    # A shallower value with a deep branch: its siblings still print as json.dumps would
    mixed = {"deep": deep_value(200), "list": [1, 2]}
    assert pretty_json(mixed).endswith('  "list": [\n    1,\n    2\n  ]\n}')


def test_json_output_of_the_cli_survives_a_deep_payload() -> None:
    # `hookline dlq show --json` (emit_json: json.dump recursed, and failed at this depth)
    from hookline.commands._ops import emit_json

    out = io.StringIO()
    emit_json([{"payload": redact(deep_value(3000)), "note": "é"}], out=out)
    [shown] = json.loads(out.getvalue())
    assert innermost(shown["payload"]) == {"password": REDACTED, "card": REDACTED + "1111", "ok": "fine"}
    assert '"note": "\\u00e9"' in out.getvalue()  # ASCII, as before
    small = io.StringIO()
    emit_json({"a": [1, {"b": None}]}, out=small)
    assert small.getvalue() == json.dumps({"a": [1, {"b": None}]}, indent=2) + "\n"


def dlq_entry(raw: bytes) -> DlqEntry:
    text, encoding = DeliveryTask.encode_body(raw)
    task = DeliveryTask(event_id="e-deep", source="github", route="r", received_at=1_800_000_000.0,
                        content_type="application/json", body=text, body_encoding=encoding)
    body = task.model_dump_json(exclude_none=True)
    return DlqEntry.from_sqs({"MessageId": "m-deep", "ReceiptHandle": "h", "Body": body,
                              "MessageAttributes": {}, "Attributes": {}})


def test_dlq_show_parses_and_redacts_a_deep_stored_body() -> None:
    # Given a 3,000-deep body that reached the DLQ before the cap existed
    raw = json.dumps(deep_value(3000)).encode()
    payload, problem = entry_payload(dlq_entry(raw), None)
    # Then `hookline dlq show` (and the console) get it parsed and redacted, not a crash and not the raw text
    assert problem is None
    assert innermost(payload)["password"] == REDACTED
    assert "hunter2" not in pretty_json(payload)


def test_the_console_event_page_shows_a_deep_dlq_body_redacted() -> None:
    from hookline.console import Backend, create_app
    from hookline.console.backend import Access
    from hookline.console.pages import events
    from hookline.operations.stack import StackInfo

    entry = dlq_entry(json.dumps(deep_value(3000)).encode())

    class DeepBackend(Backend):
        def __init__(self) -> None:
            stack = StackInfo(outputs={"DeadLetterQueueUrl": "dlq", "DeliveryQueueUrl": "q"}, region="us-east-1",
                              origin="test")
            super().__init__(stack, probe=lambda *_: Access(False, "read-only test"))

        def event_items(self, event_id: str) -> list[dict[str, Any]]:
            return [{"event_id": event_id, "route": "#event", "source": "github", "routes": ["r"],
                     "received_at": 1_800_000_000.0},
                    {"event_id": event_id, "route": "r", "status": "dead", "reason": "permanent_http",
                     "attempts": [{"at": 1_800_000_001.0, "status_code": 400}]}]

        def dlq_entries(self, flt: Any = None) -> list[DlqEntry]:
            return [entry]

        def load_s3(self) -> Any:
            return None

    app = create_app(DeepBackend())
    # The view itself (the console's access rules are tested with them, in test_console.py)
    with app.test_request_context("/events/e-deep"):
        page = events.detail("e-deep")
    assert "Payload" in page and page.count("&#34;a&#34;: {") == 3000
    assert page.count("password") == 1 and "hunter2" not in page and REDACTED in page
