"""The spec forms added for CRM/ERP mappings: jsonata, lookup tables, omit_null, when, date output
formats and the Python escape hatch — each with its failures and their messages."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path

import pytest

from hookline.core.envelope import build_envelope
from hookline.mapping.compiler import MappingError, MappingSpecError, compile_transform, render

PAYMENT = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_1", "amount": 129900, "currency": "usd", "status": "succeeded",
                        "created": 1795780800, "coupon": None,
                        "customer": {"email": "ada@example.com", "name": "Ada"}}},
}


def envelope(body: object) -> dict:
    return build_envelope(event_id="evt_1", source="stripe", type="payment_intent.succeeded",
                          received_at=1795780800.0, headers={}, body=body)


def apply(spec: dict, body: object = PAYMENT, base_dir: Path | None = None) -> dict:
    return compile_transform(spec, base_dir).apply(envelope(body))


def problems(spec: dict, base_dir: Path | None = None) -> list[tuple[str, str]]:
    with pytest.raises(MappingSpecError) as e:
        compile_transform(spec, base_dir)
    return e.value.problems


# ---------------------------------------------------------------- jsonata


def test_jsonata_does_arithmetic_jmespath_cannot() -> None:
    out = apply({"amount": {"jsonata": "body.data.object.amount / 100"},
                 "label": {"jsonata": "$uppercase(body.data.object.currency) & ' ' & "
                                      "$string(body.data.object.amount / 100)"},
                 "big": {"jsonata": "body.data.object.amount > 100000 ? 'yes' : 'no'"}})
    assert out == {"amount": 1299, "label": "USD 1299", "big": "yes"}


def test_jsonata_result_goes_through_type_default_and_required() -> None:
    out = apply({"cents": {"jsonata": "body.data.object.amount / 100", "type": "string"},
                 "missing": {"jsonata": "body.nothing", "default": "none"},
                 "when": {"jsonata": "body.data.object.created", "type": "datetime"}})
    assert out == {"cents": "1299", "missing": "none", "when": "2026-11-27T12:00:00Z"}
    with pytest.raises(MappingError) as e:
        apply({"x": {"jsonata": "body.nothing", "required": True}})
    assert str(e.value) == "field 'x': required value missing at jsonata 'body.nothing'"


def test_jsonata_inside_each_sees_the_element_and_the_envelope() -> None:
    body = {"items": [{"sku": "A", "qty": 2, "price": 150}, {"sku": "B", "qty": 1, "price": 99}]}
    out = apply({"lines": {"each": "body.items", "fields": {
        "total": {"jsonata": "qty * price / 100"},
        "ref": {"jsonata": "$envelope.id & '/' & sku"}}}}, body)
    assert out == {"lines": [{"total": 3, "ref": "evt_1/A"}, {"total": 0.99, "ref": "evt_1/B"}]}


def test_jsonata_syntax_error_reports_the_position() -> None:
    [(loc, msg)] = problems({"amount": {"jsonata": "body.amount / "}})
    assert loc == "amount.jsonata"
    assert msg == "invalid JSONata expression 'body.amount / ': Unexpected end of expression (S0207 at position 14)"
    [(_, msg)] = problems({"a": {"jsonata": "$sum(body.x"}})
    assert "position" in msg and "S0203" in msg


def test_jsonata_evaluation_error_is_a_mapping_failure_naming_field_and_expression() -> None:
    t = compile_transform({"x": {"jsonata": "body.data.object.currency + 1"}})
    with pytest.raises(MappingError) as e:
        t.apply(envelope(PAYMENT))
    assert str(e.value).startswith("field 'x': jsonata 'body.data.object.currency + 1' failed: "
                                   "The left side of the + operator must evaluate to a number")


def test_jsonata_is_compiled_once_and_safe_across_threads() -> None:
    t = compile_transform({"a": {"jsonata": "body.n * 2"}, "b": {"jsonata": "$string(body.n) & '!'"}})
    results: dict[int, dict] = {}

    def work(n: int) -> None:
        for _ in range(50):
            results[n] = t.apply(envelope({"n": n}))
            assert results[n] == {"a": n * 2, "b": f"{n}!"}

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {n: {"a": n * 2, "b": f"{n}!"} for n in range(8)}


def test_jsonata_cannot_combine_with_path_and_needs_a_string() -> None:
    [(loc, msg)] = problems({"x": {"jsonata": "a", "path": "b"}})
    assert (loc, msg) == ("x", "path and jsonata cannot be combined: a spec is either a path, a JSONata expression, "
                               "a constant value, a template, a list (each) or an object (fields)")
    [(loc, msg)] = problems({"x": {"jsonata": 5}})
    assert loc == "x.jsonata" and "non-empty JSONata expression string" in msg


# ---------------------------------------------------------------- lookup tables


STAGES = {"succeeded": "closed_won", "processing": "negotiation", "canceled": "closed_lost"}


def test_lookup_maps_a_value_and_falls_back_to_the_default() -> None:
    spec = {"stage": {"path": "body.data.object.status", "lookup": STAGES}}
    assert apply(spec) == {"stage": "closed_won"}
    body = json.loads(json.dumps(PAYMENT))
    body["data"]["object"]["status"] = "requires_action"
    spec_default = {"stage": {"path": "body.data.object.status", "lookup": STAGES, "default": "open"}}
    assert apply(spec_default, body) == {"stage": "open"}


def test_unmatched_lookup_without_default_names_the_value() -> None:
    body = json.loads(json.dumps(PAYMENT))
    body["data"]["object"]["status"] = "requires_action"
    with pytest.raises(MappingError) as e:
        apply({"stage": {"path": "body.data.object.status", "lookup": STAGES}}, body)
    assert str(e.value) == (
        "field 'stage': value 'requires_action' from body.data.object.status is not in the lookup table "
        "(known: 'succeeded', 'processing', 'canceled'); add it to the table or give the field a default")


def test_lookup_keys_compare_as_text_and_results_take_a_type() -> None:
    spec = {"tier": {"path": "body.level", "lookup": {1: "gold", "2": "silver", "false": "none"}},
            "n": {"path": "body.code", "lookup": {"a": "10"}, "type": "int"}}
    assert apply(spec, {"level": "1", "code": "a"}) == {"tier": "gold", "n": 10}
    assert apply(spec, {"level": 2, "code": "a"})["tier"] == "silver"
    assert apply(spec, {"level": False, "code": "a"})["tier"] == "none"
    assert apply(spec, {"code": "a"})["tier"] is None  # a missing value is not a lookup miss


def test_lookup_file_csv_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "stages.csv").write_text("stripe_status,crm_stage\nsucceeded,closed_won\ncanceled,closed_lost\n")
    spec = {"stage": {"path": "body.data.object.status", "lookup_file": "stages.csv"}}
    assert apply(spec, base_dir=tmp_path) == {"stage": "closed_won"}
    body = json.loads(json.dumps(PAYMENT))
    body["data"]["object"]["status"] = "processing"
    with pytest.raises(MappingError, match=r"value 'processing' from body.data.object.status is not in lookup "
                                           r"file 'stages.csv' \(known: 'succeeded', 'canceled'\)"):
        apply(spec, body, base_dir=tmp_path)


def test_lookup_file_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("succeeded: 3\n")
    (tmp_path / "t.json").write_text('{"succeeded": {"id": 7}}')
    assert apply({"a": {"path": "body.data.object.status", "lookup_file": "t.yaml"},
                  "b": {"path": "body.data.object.status", "lookup_file": "t.json"}}, base_dir=tmp_path) \
        == {"a": 3, "b": {"id": 7}}


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read lookup file 'stages.csv'"),
    ("only,header\n", "lookup file 'stages.csv' needs a header row and at least one 'key,value' row"),
    ("k,v\na,1,extra\n", "lookup file 'stages.csv', row 2: expected 2 columns (key,value), found 3"),
    ("k,v\na,1\na,2\n", "lookup file 'stages.csv', row 3: key 'a' appears twice"),
])
def test_lookup_file_problems(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "stages.csv").write_text(content)
    [(loc, msg)] = problems({"stage": {"path": "body.s", "lookup_file": "stages.csv"}}, tmp_path)
    assert loc == "stage.lookup_file"
    assert msg.startswith(message)


def test_lookup_spec_problems() -> None:
    assert problems({"s": {"path": "a", "lookup": {}}}) == [
        ("s.lookup", "the lookup table must be a non-empty mapping of input value -> output value")]
    assert problems({"s": {"path": "a", "lookup": {"a": 1}, "lookup_file": "x.csv"}}) == [
        ("s", "lookup and lookup_file cannot be combined: give the table inline or in a file")]
    [(loc, msg)] = problems({"s": {"value": 1, "lookup": {"a": 1}}})
    assert loc == "s.lookup" and "does not apply to a value spec" in msg


# ---------------------------------------------------------------- omit_null and when


def test_omit_null_per_field_and_per_transform() -> None:
    spec = {"id": "body.data.object.id", "coupon": {"path": "body.data.object.coupon", "omit_null": True},
            "note": "body.nothing"}
    assert apply(spec) == {"id": "pi_1", "note": None}
    wide = {"omit_null": True, "id": "body.data.object.id", "coupon": "body.data.object.coupon",
            "customer.email": "body.data.object.customer.email", "customer.phone": "body.data.object.customer.phone",
            "keep": {"path": "body.nothing", "omit_null": False}}
    assert apply(wide) == {"id": "pi_1", "customer": {"email": "ada@example.com"}, "keep": None}
    # A present falsy value is not null: kept.
    assert apply({"omit_null": True, "zero": {"value": 0}, "empty": {"value": ""}}) == {"zero": 0, "empty": ""}


def test_omit_null_must_be_boolean_on_a_field() -> None:
    assert problems({"x": {"path": "a", "omit_null": "yes"}}) == [("x.omit_null", "must be true or false, got 'yes'")]


def test_when_includes_a_field_only_when_truthy() -> None:
    spec = {"id": "body.data.object.id",
            "vip": {"when": "body.data.object.amount > `100000`", "value": True},
            "coupon": {"when": "body.data.object.coupon", "path": "body.data.object.coupon"},
            "lines": {"each": "body.items", "fields": {
                "sku": "sku", "gift": {"when": "gift", "value": "wrap"}}}}
    body = json.loads(json.dumps(PAYMENT))
    body["items"] = [{"sku": "A", "gift": True}, {"sku": "B"}]
    assert apply(spec, body) == {"id": "pi_1", "vip": True,
                                 "lines": [{"sku": "A", "gift": "wrap"}, {"sku": "B"}]}
    # inside a fixed list, an item whose `when` is false is left out
    assert apply({"tags": [{"value": "a"}, {"when": "body.nothing", "value": "b"}]}) == {"tags": ["a"]}


def test_when_is_checked_as_jmespath() -> None:
    [(loc, msg)] = problems({"x": {"when": "body.[", "value": 1}})
    assert loc == "x.when" and msg.startswith("invalid JMESPath expression 'body.['")


# ---------------------------------------------------------------- date output formats


@pytest.mark.parametrize(("options", "expected"), [
    ({"output_format": "%d/%m/%Y"}, "27/11/2026"),
    ({"output_format": "epoch"}, 1795780800),
    ({"output_format": "epoch_ms"}, 1795780800000),
    ({"output_format": "date"}, "2026-11-27"),
    ({"timezone": "Europe/Paris"}, "2026-11-27T13:00:00+01:00"),
    ({"output_format": "%d/%m/%Y %H:%M", "timezone": "America/New_York"}, "27/11/2026 07:00"),
    ({"output_format": "date", "timezone": "Pacific/Kiritimati"}, "2026-11-28"),  # UTC+14: the next day
    ({"output_format": "date", "timezone": "Pacific/Pago_Pago"}, "2026-11-27"),
])
def test_datetime_output_formats(options: dict, expected: object) -> None:
    assert apply({"d": {"path": "body.data.object.created", "type": "datetime", **options}})["d"] == expected


def test_datetime_output_applies_to_the_default_too() -> None:
    spec = {"d": {"path": "body.nothing", "type": "datetime", "default": "2026-01-02T03:04:05Z",
                  "output_format": "%d/%m/%Y"}}
    assert apply(spec) == {"d": "02/01/2026"}


def test_datetime_output_problems() -> None:
    assert problems({"d": {"path": "a", "output_format": "%d"}}) == [
        ("d.output_format", "output_format applies only to type: datetime")]
    assert problems({"d": {"path": "a", "type": "datetime", "output_format": "dd/mm/yyyy"}}) == [
        ("d.output_format", "expected epoch, epoch_ms, date or a strftime pattern such as '%d/%m/%Y', "
                            "got 'dd/mm/yyyy'")]
    assert problems({"d": {"path": "a", "type": "datetime", "timezone": "Mars/Olympus"}}) == [
        ("d.timezone", "unknown time zone 'Mars/Olympus': use an IANA name such as 'Europe/Paris', "
                       "'America/New_York' or 'UTC'")]


# ---------------------------------------------------------------- the python escape hatch


def _package(tmp_path: Path, source: str, name: str = "stripe") -> Path:
    pkg = tmp_path / "transforms"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "common.py").write_text("def dollars(cents):\n    return cents / 100\n")
    (pkg / f"{name}.py").write_text(textwrap.dedent(source))
    return tmp_path


def test_python_transform_gets_the_envelope_and_returns_the_body(tmp_path: Path) -> None:
    base = _package(tmp_path, """
        from .common import dollars

        def to_deal(envelope):
            obj = envelope["body"]["data"]["object"]
            return {"amount": dollars(obj["amount"]), "email": obj["customer"]["email"], "event": envelope["id"]}
        """)
    t = compile_transform({"python": "transforms.stripe:to_deal"}, base)
    assert t.apply(envelope(PAYMENT)) == {"amount": 1299, "email": "ada@example.com", "event": "evt_1"}
    assert render({"python": "transforms.stripe:to_deal"}, envelope(PAYMENT), base)["amount"] == 1299


def test_python_transform_exception_is_a_mapping_failure_with_the_last_frame(tmp_path: Path) -> None:
    base = _package(tmp_path, """
        def to_deal(envelope):
            return {"x": envelope["body"]["nope"]}
        """)
    t = compile_transform({"python": "transforms.stripe:to_deal"}, base)
    with pytest.raises(MappingError) as e:
        t.apply(envelope(PAYMENT))
    assert str(e.value) == ("field 'python transforms.stripe:to_deal': raised KeyError: 'nope' "
                            "at transforms/stripe.py:3 in to_deal")


def test_python_transform_must_return_json(tmp_path: Path) -> None:
    base = _package(tmp_path, """
        def none(envelope):
            return None

        def odd(envelope):
            return {"x": {1, 2}}
        """)
    with pytest.raises(MappingError, match="returned NoneType, expected a dict"):
        compile_transform({"python": "transforms.stripe:none"}, base).apply(envelope(PAYMENT))
    with pytest.raises(MappingError, match="returned a value that is not JSON"):
        compile_transform({"python": "transforms.stripe:odd"}, base).apply(envelope(PAYMENT))


def test_python_transform_import_problems_are_reported_at_compile(tmp_path: Path) -> None:
    assert problems({"python": "transforms.stripe:to_deal"}, tmp_path) == [
        ("python", f"no transforms/ folder beside the configuration file (looked in {tmp_path / 'transforms'})")]
    base = _package(tmp_path, "import not_a_module_anywhere\n", name="broken")
    [(loc, msg)] = problems({"python": "transforms.broken:f"}, base)
    assert loc == "python"
    assert msg.startswith("cannot import transforms.broken: ModuleNotFoundError: "
                          "No module named 'not_a_module_anywhere'")
    _package(tmp_path, "def f(:\n", name="syntax")
    [(_, msg)] = problems({"python": "transforms.syntax:f"}, base)
    assert msg.startswith("cannot import transforms.syntax: SyntaxError") and "syntax.py:1" in msg
    [(_, msg)] = problems({"python": "transforms.common:missing"}, base)
    assert msg == "transforms.common has no function 'missing'"
    [(_, msg)] = problems({"python": "stripe.to_deal"}, base)
    assert msg == "expected 'transforms.<module>:<function>', got 'stripe.to_deal'"
    [(_, msg)] = problems({"python": "transforms.common:dollars", "omit_null": True}, base)
    assert msg == "a python transform takes no other keys (found omit_null)"


def test_two_config_folders_get_their_own_transforms_package(tmp_path: Path) -> None:
    a = _package(tmp_path / "a", "def f(e):\n    return {'who': 'a'}\n") if (tmp_path / "a").mkdir() is None else None
    b = _package(tmp_path / "b", "def f(e):\n    return {'who': 'b'}\n") if (tmp_path / "b").mkdir() is None else None
    assert compile_transform({"python": "transforms.stripe:f"}, a).apply(envelope({})) == {"who": "a"}
    assert compile_transform({"python": "transforms.stripe:f"}, b).apply(envelope({})) == {"who": "b"}


def test_an_edited_transform_is_imported_afresh_on_the_next_compile(tmp_path: Path) -> None:
    import os

    base = _package(tmp_path, "def f(e):\n    return {'v': 1}\n")
    assert compile_transform({"python": "transforms.stripe:f"}, base).apply(envelope({})) == {"v": 1}
    module = tmp_path / "transforms" / "stripe.py"
    module.write_text("def f(e):\n    return {'v': 2}\n")
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert compile_transform({"python": "transforms.stripe:f"}, base).apply(envelope({})) == {"v": 2}
