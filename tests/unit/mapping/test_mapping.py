"""Field mapping: the transform language, its coercions, and its errors (compile time and per event)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hookline.core.envelope import build_envelope, parse_body
from hookline.mapping.compiler import MappingError, MappingSpecError, Transform, compile_transform, render

GITHUB_ISSUES = {
    "action": "opened",
    "issue": {
        "number": 42,
        "title": "Checkout page times out for EU customers",
        "state": "open",
        "user": {"login": "octocat", "id": 583231},
        "labels": [{"name": "bug"}, {"name": "payments"}],
        "created_at": "2026-11-27T09:15:00Z",
    },
    "repository": {"id": 1296269, "full_name": "acme/shop"},
    "sender": {"login": "octocat"},
}


def envelope(body: object, **headers: str) -> dict:
    return build_envelope(event_id="evt-1", source="github", type="issues", received_at=1795780800.0,
                          headers={"X-GitHub-Event": "issues", **headers}, body=body)


def apply(spec: dict, body: object) -> dict:
    return compile_transform(spec).apply(envelope(body))


def one(spec: object, body: object) -> object:
    """Map a single target field `out` and return its value."""
    return apply({"out": spec}, body)["out"]


def spec_problems(spec: object) -> list[tuple[str, str]]:
    with pytest.raises(MappingSpecError) as info:
        compile_transform(spec)  # type: ignore[arg-type]
    return info.value.problems


def mapping_error(transform: dict, body: object) -> MappingError:
    compiled = compile_transform(transform)
    with pytest.raises(MappingError) as info:
        compiled.apply(envelope(body))
    return info.value


def field_error(spec: object, body: object) -> MappingError:
    """The MappingError of a single target field `out`."""
    return mapping_error({"out": spec}, body)


# ---------------------------------------------------------------- the SPEC example


def test_spec_example_transform_on_a_github_issues_event():
    transform = compile_transform({"title": "body.issue.title",
                                   "number": {"path": "body.issue.number", "type": "string"}})
    assert transform.apply(envelope(GITHUB_ISSUES)) == {
        "title": "Checkout page times out for EU customers",
        "number": "42",
    }


def test_example_can_reach_every_part_of_the_envelope():
    out = apply({
        "event": "id",
        "from": "source",
        "kind": "type",
        "at": "received_at",
        "github_event": 'headers."x-github-event"',
        "repo": "body.repository.full_name",
        "labels": "body.issue.labels[].name",
        "opened": {"path": "body.issue.created_at", "type": "datetime"},
    }, GITHUB_ISSUES)
    assert out == {
        "event": "evt-1", "from": "github", "kind": "issues", "at": "2026-11-27T12:00:00.000Z",
        "github_event": "issues", "repo": "acme/shop", "labels": ["bug", "payments"],
        "opened": "2026-11-27T09:15:00Z",
    }


def test_output_keeps_the_order_of_the_spec():
    out = apply({"z": "body.a", "a": "body.a", "m.x": "body.a", "b": "body.a"}, {"a": 1})
    assert list(out) == ["z", "a", "m", "b"]


def test_target_names_may_be_reserved_words():
    out = apply({"type": "body.kind", "value": "body.amount", "path": "body.p", "fields": {"value": 1}},
                {"kind": "sale", "amount": 5, "p": "/x"})
    assert out == {"type": "sale", "value": 5, "path": "/x", "fields": 1}


# ---------------------------------------------------------------- plain paths, defaults, required


def test_missing_path_gives_null():
    assert apply({"a": "body.nope", "b": "body.x.y.z"}, {"x": 1}) == {"a": None, "b": None}


def test_untyped_path_copies_objects_and_lists_as_they_are():
    body = {"obj": {"a": [1, {"b": True}]}}
    assert one("body.obj", body) == {"a": [1, {"b": True}]}


def test_default_applies_to_missing_and_null_but_not_to_falsy_values():
    spec = {"path": "body.v", "default": "n/a"}
    assert one(spec, {}) == "n/a"
    assert one(spec, {"v": None}) == "n/a"
    assert one(spec, {"v": ""}) == ""
    assert one(spec, {"v": 0}) == 0
    assert one(spec, {"v": False}) is False


def test_default_is_coerced_by_the_type():
    assert one({"path": "body.v", "type": "int", "default": "7"}, {}) == 7
    assert one({"path": "body.v", "type": "datetime", "default": 0}, {}) == "1970-01-01T00:00:00Z"


def test_default_constant_is_not_shared_between_events():
    transform = compile_transform({"tags": {"path": "body.tags", "default": []}})
    first = transform.apply(envelope({}))
    first["tags"].append("mutated")
    assert transform.apply(envelope({}))["tags"] == []


def test_required_missing_is_a_mapping_error_naming_field_and_path():
    err = mapping_error({"email": {"path": "body.customer.email", "required": True}}, {"customer": {}})
    assert str(err) == "field 'email': required value missing at body.customer.email"
    assert (err.field, err.path, err.value_type) == ("email", "body.customer.email", None)
    assert err.permanent is True


def test_required_null_is_missing_too():
    err = field_error({"path": "body.v", "required": True}, {"v": None})
    assert "required value missing at body.v" in str(err)


def test_required_is_satisfied_by_a_default():
    assert one({"path": "body.v", "required": True, "default": "x"}, {}) == "x"


def test_required_false_is_the_default_behaviour():
    assert one({"path": "body.v", "required": False}, {}) is None


# ---------------------------------------------------------------- type: string


@pytest.mark.parametrize(("value", "expected"), [
    ("text", "text"),
    ("", ""),
    (42, "42"),
    (-7, "-7"),
    (19.99, "19.99"),
    (42.0, "42"),
    (1e300, "1e+300"),
    (True, "true"),
    (False, "false"),
    ({"a": 1, "b": [1, 2]}, '{"a":1,"b":[1,2]}'),
    ([1, "x"], '[1,"x"]'),
    ({"name": "Zoë"}, '{"name":"Zoë"}'),
])
def test_string_coercion(value, expected):
    assert one({"path": "body.v", "type": "string"}, {"v": value}) == expected


def test_string_of_missing_value_stays_null():
    assert one({"path": "body.v", "type": "string"}, {}) is None


# ---------------------------------------------------------------- type: int


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5),
    (-5, -5),
    (3.0, 3),
    ("42", 42),
    (" 7 ", 7),
    ("-12", -12),
    ("+3", 3),
    ("12.0", 12),
    ("1e3", 1000),
    (2**70, 2**70),
    ("123456789012345678901234567890", 123456789012345678901234567890),
])
def test_int_coercion(value, expected):
    result = one({"path": "body.v", "type": "int"}, {"v": value})
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(("value", "reason"), [
    (True, "a bool is not an int"),
    (False, "a bool is not an int"),
    ("true", "not a number"),
    ("abc", "not a number"),
    ("", "not a number"),
    ("1_000", "not a number"),
    ("NaN", "not a number"),
    ("Infinity", "not a number"),
    ("1.5", "not a whole number"),
    (1.5, "not a whole number"),
    ("1e999999", "too large"),
])
def test_int_coercion_failures(value, reason):
    err = field_error({"path": "body.v", "type": "int"}, {"v": value})
    assert reason in err.reason
    assert err.value_type == type(value).__name__
    assert err.path == "body.v"


def test_int_error_message_names_field_value_path_and_type():
    err = mapping_error({"amount": {"path": "body.total", "type": "int"}}, {"total": "abc"})
    assert str(err) == "field 'amount': cannot cast str value 'abc' from body.total to int (not a number)"
    assert (err.field, err.path, err.value_type) == ("amount", "body.total", "str")


def test_bool_is_not_silently_an_int():
    err = field_error({"path": "body.flag", "type": "int"}, {"flag": True})
    assert str(err) == "field 'out': cannot cast bool value True from body.flag to int (a bool is not an int)"


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
def test_int_refuses_objects_and_lists(value):
    err = field_error({"path": "body.v", "type": "int"}, {"v": value})
    assert err.value_type == type(value).__name__
    assert "to int" in str(err)


# ---------------------------------------------------------------- type: float


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5.0),
    (19.99, 19.99),
    ("19.99", 19.99),
    (" -0.5 ", -0.5),
    ("1e-3", 0.001),
    ("7", 7.0),
])
def test_float_coercion(value, expected):
    result = one({"path": "body.v", "type": "float"}, {"v": value})
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(("value", "reason"), [
    (True, "a bool is not a number"),
    ("abc", "not a number"),
    ("nan", "not a number"),
    ("inf", "not a number"),
    ("1e999", "not a finite number"),
    (10**400, "too large"),
    ({"x": 1}, ""),
])
def test_float_coercion_failures(value, reason):
    err = field_error({"path": "body.v", "type": "float"}, {"v": value})
    assert reason in err.reason
    assert "to float" in err.reason


# ---------------------------------------------------------------- type: bool


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False),
    (1, True), (0, False), (1.0, True), (0.0, False),
    ("true", True), ("false", False), ("TRUE", True), ("False", False),
    ("yes", True), ("no", False), ("Yes", True),
    ("on", True), ("off", False),
    ("1", True), ("0", False), (" true ", True),
])
def test_bool_coercion(value, expected):
    assert one({"path": "body.v", "type": "bool"}, {"v": value}) is expected


@pytest.mark.parametrize(("value", "reason"), [
    (2, "only the numbers 0 and 1 are booleans"),
    (-1, "only the numbers 0 and 1 are booleans"),
    (0.5, "only the numbers 0 and 1 are booleans"),
    ("maybe", "expected true/false, yes/no, on/off or 1/0"),
    ("", "expected true/false"),
    ("2", "expected true/false"),
    ([True], ""),
])
def test_bool_coercion_failures(value, reason):
    err = field_error({"path": "body.v", "type": "bool"}, {"v": value})
    assert reason in err.reason
    assert "to bool" in err.reason


# ---------------------------------------------------------------- type: datetime


@pytest.mark.parametrize(("value", "expected"), [
    # ISO-8601 strings
    ("2026-11-27T12:00:00Z", "2026-11-27T12:00:00Z"),
    ("2026-11-27T12:00:00.123Z", "2026-11-27T12:00:00.123Z"),
    ("2026-11-27T12:00:00.123456+00:00", "2026-11-27T12:00:00.123456Z"),
    ("2026-11-27T14:00:00+02:00", "2026-11-27T12:00:00Z"),
    ("2026-11-27T07:00:00-05:00", "2026-11-27T12:00:00Z"),
    ("2026-11-27 12:00:00", "2026-11-27T12:00:00Z"),  # no zone: UTC
    ("2026-11-27", "2026-11-27T00:00:00Z"),
    # RFC 2822 / HTTP dates
    ("Fri, 27 Nov 2026 12:00:00 GMT", "2026-11-27T12:00:00Z"),
    ("Fri, 27 Nov 2026 13:00:00 +0100", "2026-11-27T12:00:00Z"),
    # epoch seconds
    (1795780800, "2026-11-27T12:00:00Z"),
    (1795780800.5, "2026-11-27T12:00:00.500Z"),
    ("1795780800", "2026-11-27T12:00:00Z"),
    (0, "1970-01-01T00:00:00Z"),
    (-86400, "1969-12-31T00:00:00Z"),
    # epoch milliseconds
    (1795780800123, "2026-11-27T12:00:00.123Z"),
    ("1795780800123", "2026-11-27T12:00:00.123Z"),
    (100_000_000_000, "1973-03-03T09:46:40Z"),  # the threshold itself is milliseconds
    (99_999_999_999, "5138-11-16T09:46:39Z"),  # just below: seconds
])
def test_datetime_coercion(value, expected):
    assert one({"path": "body.v", "type": "datetime"}, {"v": value}) == expected


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    ("27/11/2026 12:30", "%d/%m/%Y %H:%M", "2026-11-27T12:30:00Z"),
    ("20261127", "%Y%m%d", "2026-11-27T00:00:00Z"),
    (20261127, "%Y%m%d", "2026-11-27T00:00:00Z"),  # an integer is read as its digits
    ("2026-11-27 14:30 +0200", "%Y-%m-%d %H:%M %z", "2026-11-27T12:30:00Z"),
])
def test_datetime_with_format(value, fmt, expected):
    assert one({"path": "body.v", "type": "datetime", "format": fmt}, {"v": value}) == expected


@pytest.mark.parametrize(("value", "reason"), [
    ("yesterday", "not an ISO-8601 date-time or an epoch number"),
    ("2026-13-45", "not an ISO-8601 date-time"),
    ("", "not an ISO-8601 date-time"),
    (True, "a bool is not a date-time"),
    (10**20, "out of range"),
    ({"at": 1}, ""),
])
def test_datetime_coercion_failures(value, reason):
    err = field_error({"path": "body.v", "type": "datetime"}, {"v": value})
    assert reason in err.reason
    assert "to datetime" in err.reason


def test_datetime_format_mismatch_names_the_format():
    err = field_error({"path": "body.v", "type": "datetime", "format": "%d/%m/%Y"}, {"v": "2026-11-27"})
    assert str(err) == ("field 'out': cannot cast str value '2026-11-27' from body.v to datetime "
                        "(does not match format '%d/%m/%Y')")


def test_datetime_format_refuses_floats():
    err = field_error({"path": "body.v", "type": "datetime", "format": "%Y"}, {"v": 2026.5})
    assert "expected a string in format '%Y'" in err.reason


def test_datetime_default_may_be_an_unquoted_yaml_date():
    # PyYAML reads `default: 2026-11-27` as a datetime.date.
    assert one({"path": "body.v", "type": "datetime", "default": dt.date(2026, 11, 27)}, {}) == (
        "2026-11-27T00:00:00Z")


# ---------------------------------------------------------------- constants and templates


@pytest.mark.parametrize("value", ["crm", 5, 1.5, True, None, [1, "a"], {"nested": {"k": [1]}}])
def test_constant_values(value):
    assert one({"value": value}, {}) == value


def test_constants_are_not_shared_between_events():
    transform = compile_transform({"meta": {"value": {"tags": ["a"]}}})
    transform.apply(envelope({}))["meta"]["tags"].append("b")
    assert transform.apply(envelope({}))["meta"] == {"tags": ["a"]}


def test_template_renders_each_placeholder():
    spec = {"template": "Issue #{body.issue.number}: {body.issue.title}"}
    assert one(spec, GITHUB_ISSUES) == "Issue #42: Checkout page times out for EU customers"


def test_template_escaped_braces_and_non_string_values():
    spec = {"template": "{{literal}} {body.n} {body.f} {body.ok} {body.obj} }}"}
    body = {"n": 3, "f": 2.50, "ok": False, "obj": {"a": 1}}
    assert one(spec, body) == '{literal} 3 2.5 false {"a":1} }'


def test_template_missing_value_renders_empty():
    assert one({"template": "[{body.missing}]"}, {}) == "[]"


def test_template_required_missing_names_the_placeholder():
    err = field_error({"template": "Hi {body.name}", "required": True}, {})
    assert str(err) == "field 'out': required value missing at body.name (template placeholder)"
    assert err.path == "body.name"


def test_template_placeholders_may_contain_braces_and_quotes():
    spec = {"template": "{join(', ', body.tags)} | {body.\"a}b\"} | {length(`{\"x\": 1}`)}"}
    assert one(spec, {"tags": ["x", "y"], "a}b": "q"}) == "x, y | q | 1"


def test_template_without_placeholders_is_a_plain_string():
    assert one({"template": "static"}, {}) == "static"


# ---------------------------------------------------------------- nesting: dotted names and fields


def test_dotted_target_names_build_nested_objects():
    out = apply({"customer.email": "body.email", "customer.name": "body.name",
                 "customer.address.city": "body.city", "total": "body.total"},
                {"email": "a@b.c", "name": "Ann", "city": "Oslo", "total": 5})
    assert out == {"customer": {"email": "a@b.c", "name": "Ann", "address": {"city": "Oslo"}}, "total": 5}


def test_escaped_dot_is_a_literal_dot_in_the_name():
    assert apply({"version\\.major": "body.v"}, {"v": 2}) == {"version.major": 2}


def test_fields_build_a_nested_object():
    out = apply({"customer": {"fields": {"email": "body.email", "tier": {"value": "gold"},
                                         "address.city": "body.city"}}},
                {"email": "a@b.c", "city": "Oslo"})
    assert out == {"customer": {"email": "a@b.c", "tier": "gold", "address": {"city": "Oslo"}}}


def test_error_inside_a_nested_object_names_the_full_target():
    err = mapping_error({"out": {"fields": {"qty": {"path": "body.q", "type": "int"}}}}, {"q": "x"})
    assert err.field == "out.qty"
    assert str(err).startswith("field 'out.qty': cannot cast str value 'x' from body.q to int")
    err = mapping_error({"out": "body.a", "customer.email": {"path": "body.e", "required": True}}, {})
    assert str(err) == "field 'customer.email': required value missing at body.e"


# ---------------------------------------------------------------- lists: each and fixed lists

ORDER = {
    "id": "ord-1",
    "line_items": [
        {"sku": "A-1", "quantity": "2", "price": "9.50"},
        {"sku": "B-2", "quantity": 1, "price": 20},
        {"sku": "C-3", "quantity": 3.0, "price": "1"},
    ],
}


def test_each_maps_every_element_with_relative_paths():
    out = apply({"items": {"each": "body.line_items",
                           "fields": {"sku": "sku", "qty": {"path": "quantity", "type": "int"},
                                      "price": {"path": "price", "type": "float"}}}}, ORDER)
    assert out == {"items": [
        {"sku": "A-1", "qty": 2, "price": 9.5},
        {"sku": "B-2", "qty": 1, "price": 20.0},
        {"sku": "C-3", "qty": 3, "price": 1.0},
    ]}


def test_each_reaches_the_envelope_root_with_dollar():
    out = apply({"items": {"each": "body.line_items",
                           "fields": {"sku": "sku", "order": "$.body.id", "event": "$.id",
                                      "whole": {"path": "$", "type": "string"}, "me": "@.sku",
                                      "label": {"template": "{$.body.id}/{sku}"}}}},
                {"id": "ord-1", "line_items": [{"sku": "A"}]})
    item = out["items"][0]
    assert (item["sku"], item["order"], item["event"], item["me"], item["label"]) == (
        "A", "ord-1", "evt-1", "A", "ord-1/A")
    assert json.loads(item["whole"])["source"] == "github"


def test_dollar_paths_also_work_at_the_top_level():
    assert apply({"a": "$.body.x", "b": "body.x"}, {"x": 1}) == {"a": 1, "b": 1}


def test_each_error_names_index_target_and_element_path():
    body = {"line_items": [{"quantity": 1}, {"quantity": 2}, {"quantity": "lots"}]}
    err = mapping_error({"items": {"each": "body.line_items", "fields": {"qty": {"path": "quantity", "type": "int"}}}},
                        body)
    assert err.field == "items[2].qty"
    assert err.path == "body.line_items[2].quantity"
    assert str(err) == ("field 'items[2].qty': cannot cast str value 'lots' from body.line_items[2].quantity "
                        "to int (not a number)")


def test_each_required_element_field():
    err = mapping_error({"items": {"each": "body.l", "fields": {"sku": {"path": "sku", "required": True}}}},
                        {"l": [{"sku": "a"}, {}]})
    assert str(err) == "field 'items[1].sku': required value missing at body.l[1].sku"


def test_each_over_a_single_object_is_a_one_element_list():
    # xmltodict gives a dict for one <item> and a list for several.
    spec = {"each": "body.item", "fields": {"sku": "sku"}}
    assert one(spec, {"item": {"sku": "only"}}) == [{"sku": "only"}]
    assert one(spec, {"item": [{"sku": "a"}, {"sku": "b"}]}) == [{"sku": "a"}, {"sku": "b"}]


def test_each_missing_list():
    spec = {"each": "body.l", "fields": {"a": "a"}}
    assert one(spec, {}) is None
    assert one({**spec, "default": []}, {}) == []
    assert one(spec, {"l": []}) == []
    err = field_error({**spec, "required": True}, {})
    assert str(err) == "field 'out': required list missing at body.l"


def test_nested_each():
    body = {"orders": [{"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]}, {"id": 2, "lines": [{"sku": "x"}]}]}
    out = one({"each": "body.orders",
               "fields": {"id": "id", "skus": {"each": "lines", "fields": {"sku": "sku", "n": {"path": "n",
                                                                                                "required": True}}}}},
              {"orders": [{"id": 1, "lines": [{"sku": "a", "n": 1}]}]})
    assert out == [{"id": 1, "skus": [{"sku": "a", "n": 1}]}]
    err = field_error({"each": "body.orders",
                         "fields": {"skus": {"each": "lines", "fields": {"n": {"path": "n", "required": True}}}}},
                        body)
    assert err.field == "out[0].skus[0].n"
    assert err.path == "body.orders[0].lines[0].n"


def test_fixed_list_of_specs():
    out = one(["body.a", {"value": "const"}, {"path": "body.n", "type": "int"}, {"template": "#{body.n}"},
               ["body.a"]], {"a": "x", "n": "5"})
    assert out == ["x", "const", 5, "#5", ["x"]]


def test_fixed_list_error_names_the_index():
    err = mapping_error({"tags": ["body.a", {"path": "body.n", "type": "int"}]}, {"a": 1, "n": "z"})
    assert err.field == "tags[1]"


# ---------------------------------------------------------------- runtime JMESPath failures


def test_jmespath_runtime_type_error_is_a_mapping_error():
    err = mapping_error({"out": "length(body.n)"}, {"n": 5})
    assert err.field == "out"
    assert "JMESPath expression 'length(body.n)' failed" in str(err)


def test_body_that_is_text_maps_to_nulls():
    assert apply({"a": "body.x", "raw": "body"}, "plain text") == {"a": None, "raw": "plain text"}


# ---------------------------------------------------------------- compile-time validation


def test_all_problems_are_collected_at_once():
    problems = spec_problems({
        "a": "body.[",
        "b": {"path": "body.b", "type": "integer"},
        "c": {"template": "Hello {body.name"},
        "d": {"each": "body.items"},
        "e": {"path": "body.e", "tpye": "int"},
    })
    locations = [loc for loc, _ in problems]
    assert locations == ["a", "b.type", "c.template", "d", "e.tpye"]


def test_invalid_jmespath_names_the_expression():
    [(loc, msg)] = spec_problems({"customer.email": {"path": "body.customer[?email"}})
    assert loc == "customer.email.path"
    assert "invalid JMESPath expression 'body.customer[?email'" in msg


def test_invalid_jmespath_in_a_plain_string_and_in_each():
    problems = spec_problems({"a": "foo bar", "items": {"each": "body.]", "fields": {"x": "a..b"}}})
    assert [loc for loc, _ in problems] == ["a", "items.each", "items.fields.x"]
    assert all("invalid JMESPath expression" in msg for _, msg in problems)


def test_dollar_in_the_middle_of_a_path_is_explained():
    [(loc, msg)] = spec_problems({"a": "body.$x"})
    assert loc == "a"
    assert "'$' is recognised only at the start of a path" in msg


@pytest.mark.parametrize(("type_name", "hint"), [
    ("integer", "did you mean 'int'?"),
    ("boolean", "did you mean 'bool'?"),
    ("str", "did you mean 'string'?"),
    ("datetme", "did you mean 'datetime'?"),
    ("money", "known types: string, int, float, bool, datetime"),
])
def test_unknown_type(type_name, hint):
    [(loc, msg)] = spec_problems({"x": {"path": "body.x", "type": type_name}})
    assert loc == "x.type"
    assert f"unknown type {type_name!r}" in msg
    assert hint in msg


def test_reserved_key_typo_is_reported_not_taken_as_a_nested_field():
    [(loc, msg)] = spec_problems({"amount": {"path": "body.total", "tpye": "int"}})
    assert loc == "amount.tpye"
    assert "unknown key 'tpye'" in msg
    assert "did you mean 'type'?" in msg


def test_mapping_of_target_names_is_not_a_nested_object_shorthand():
    problems = spec_problems({"customer": {"email": "body.email", "name": "body.name"}})
    assert ("customer.email" in [loc for loc, _ in problems]) and ("customer.name" in [loc for loc, _ in problems])
    assert any("use dotted target names such as 'customer.email'" in msg and "fields:" in msg
               for _, msg in problems)


@pytest.mark.parametrize(("spec", "loc", "fragment"), [
    ({"path": "a", "value": 1}, "x", "path and value cannot be combined"),
    ({"template": "t", "fields": {"a": "a"}}, "x", "template and fields cannot be combined"),
    ({"type": "int"}, "x", "needs one of path, jsonata, value, template, each or fields"),
    ({}, "x", "an empty mapping"),
    ({"value": 1, "type": "int"}, "x.type", "'type' does not apply to a value spec"),
    ({"template": "t", "default": "d"}, "x.default", "'default' does not apply to a template spec"),
    ({"fields": {"a": "a"}, "required": True}, "x.required", "'required' does not apply to a fields spec"),
    ({"path": "a", "required": "yes"}, "x.required", "must be true or false"),
    ({"path": "a", "format": "%Y"}, "x.format", "format applies only to type: datetime"),
    ({"path": "a", "type": "datetime", "format": "YYYY-MM-DD"}, "x.format", "strptime pattern"),
    ({"path": "a", "type": "int", "default": "abc"}, "x.default", "default 'abc' cannot be cast to int"),
    ({"path": "a", "type": "bool", "default": "maybe"}, "x.default", "cannot be cast to bool"),
    ({"path": ""}, "x.path", "a path must be a non-empty JMESPath string"),
    ({"path": 5}, "x.path", "a path must be a non-empty JMESPath string"),
    ({"template": 5}, "x.template", "a template must be a string"),
    ({"template": "a } b"}, "x.template", "unbalanced '}' at position 2"),
    ({"template": "a {b"}, "x.template", "unbalanced '{' at position 2"),
    ({"template": "a {} b"}, "x.template", "empty placeholder"),
    ({"template": "{body.[}"}, "x.template", "invalid JMESPath expression 'body.['"),
    ({"each": "body.l"}, "x", "each needs fields"),
    ({"each": "body.l", "fields": "sku"}, "x.fields", "expected a mapping of target field -> spec"),
    ({"each": "body.l", "fields": {}}, "x.fields", "no target fields"),
    ({"each": "body.l", "fields": {"a": "a"}, "default": "none"}, "x.default", "must be a list"),
    ({"each": "body.l", "fields": {"a": "a"}, "type": "int"}, "x.type", "'type' does not apply to an each spec"),
    ({"fields": []}, "x.fields", "expected a mapping"),
    ({"value": dt.date(2026, 1, 1)}, "x.value", "is not a JSON value (quote it in YAML)"),
    ({"value": float("nan")}, "x.value", "is not a JSON number"),
    ({"path": "a", "default": {1, 2}}, "x.default", "a default must be JSON"),
    (5, "x", "for a constant write {value: 5}"),
    (True, "x", "for a constant write {value: true}"),
    (None, "x", "no spec given"),
    (dt.date(2026, 11, 27), "x", "got date datetime.date(2026, 11, 27) (quote it in YAML)"),
    ([], "x", "an empty list"),
])
def test_bad_spec_shapes(spec, loc, fragment):
    problems = spec_problems({"x": spec})
    assert any(p_loc == loc and fragment in msg for p_loc, msg in problems), problems


def test_fixed_list_problems_name_the_index():
    problems = spec_problems({"items": ["body.a", {"path": "body.["}, 7]})
    assert [loc for loc, _ in problems] == ["items[1].path", "items[2]"]


def test_nested_problems_carry_the_full_location():
    problems = spec_problems({"order": {"fields": {"lines": {"each": "body.l",
                                                             "fields": {"qty": {"path": "q", "type": "nope"}}}}}})
    assert [loc for loc, _ in problems] == ["order.fields.lines.fields.qty.type"]


def test_target_name_problems():
    problems = spec_problems({True: "body.a", "a.": "body.a", "b..c": "body.a", "x": "body.a", "x.y": "body.b",
                              "m.n": "body.a", "m": "body.b"})
    by_loc = dict(problems)
    assert "target names must be strings" in by_loc["True"]
    assert "empty part" in by_loc["a."]
    assert "empty part" in by_loc["b..c"]
    assert "conflicts with 'x', which is already a value" in by_loc["x.y"]
    assert "conflicts with 'm', which is already an object of dotted fields" in by_loc["m"]


def test_transform_must_be_a_non_empty_mapping():
    assert spec_problems(["body.a"])[0][0] == ""
    assert "a transform must be a mapping" in spec_problems("body.a")[0][1]
    assert "no target fields" in spec_problems({})[0][1]


def test_self_referencing_spec_is_refused_not_a_crash():
    spec: dict = {}
    spec["loop"] = {"fields": spec}
    problems = spec_problems(spec)
    assert any("nested more than" in msg for _, msg in problems)


def test_spec_error_message_lists_every_problem():
    with pytest.raises(MappingSpecError) as info:
        compile_transform({"a": {"path": "x", "type": "integr"}, "b": 3})
    text = str(info.value)
    assert text.startswith("2 problem(s) in transform:")
    assert "a.type: unknown type 'integr'" in text
    assert "b: expected a JMESPath string" in text


def test_compiled_transform_is_reusable_and_reports_its_targets():
    transform = compile_transform({"a": "body.a", "b.c": "body.b"})
    assert transform.targets == ["a", "b"]
    assert [transform.apply(envelope({"a": i, "b": -i})) for i in range(3)] == [
        {"a": i, "b": {"c": -i}} for i in range(3)]


# ---------------------------------------------------------------- render helper


def test_render_without_transform_returns_the_original_body():
    env = envelope({"keep": ["me"]})
    assert render(None, env) == {"keep": ["me"]}


def test_render_with_a_spec_or_a_compiled_transform():
    env = envelope(GITHUB_ISSUES)
    spec = {"number": {"path": "body.issue.number", "type": "string"}}
    assert render(spec, env) == {"number": "42"}
    assert render(spec, env) == {"number": "42"}  # cached compile
    assert render(compile_transform(spec), env) == {"number": "42"}
    assert isinstance(compile_transform(spec), Transform)
    with pytest.raises(MappingSpecError):
        render({"x": {"path": "a", "type": "nope"}}, env)


# ---------------------------------------------------------------- legacy bodies map like JSON

LEGACY_SPEC = {
    "order_id": "body.order.id",
    "amount": {"path": "body.order.amount", "type": "float"},
    "paid": {"path": "body.order.paid", "type": "bool"},
    "placed_at": {"path": "body.order.placed", "type": "datetime"},
    "lines": {"each": "body.order.line", "fields": {"sku": "sku", "qty": {"path": "qty", "type": "int"}}},
}
LEGACY_EXPECTED = {
    "order_id": "A100",
    "amount": 12.5,
    "paid": True,
    "placed_at": "2026-11-27T12:00:00Z",
    "lines": [{"sku": "X", "qty": 2}, {"sku": "Y", "qty": 1}],
}


def _env_from(raw: bytes, content_type: str, fmt: str) -> dict:
    return build_envelope(event_id="e", source="legacy", type=None, received_at=0,
                          headers={"Content-Type": content_type}, body=parse_body(raw, content_type, fmt))


def test_json_body_maps():
    raw = json.dumps({"order": {"id": "A100", "amount": 12.5, "paid": True, "placed": 1795780800,
                                "line": [{"sku": "X", "qty": 2}, {"sku": "Y", "qty": 1}]}}).encode()
    assert compile_transform(LEGACY_SPEC).apply(_env_from(raw, "application/json", "json")) == LEGACY_EXPECTED


@pytest.mark.parametrize("fmt", ["xml", "auto"])
def test_xml_body_maps_like_json(fmt):
    raw = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<order><id>A100</id><amount>12.50</amount><paid>yes</paid><placed>2026-11-27T12:00:00Z</placed>'
           b'<line><sku>X</sku><qty>2</qty></line><line><sku>Y</sku><qty>1</qty></line></order>')
    assert compile_transform(LEGACY_SPEC).apply(_env_from(raw, "application/xml", fmt)) == LEGACY_EXPECTED


def test_xml_attributes_and_single_child_map():
    raw = b'<order id="A100" currency="EUR"><line sku="X"><qty>2</qty></line></order>'
    spec = {"id": "body.order.\"@id\"", "currency": "body.order.\"@currency\"",
            "lines": {"each": "body.order.line", "fields": {"sku": "\"@sku\"", "qty": {"path": "qty", "type": "int"}}}}
    out = compile_transform(spec).apply(_env_from(raw, "text/xml", "xml"))
    assert out == {"id": "A100", "currency": "EUR", "lines": [{"sku": "X", "qty": 2}]}


@pytest.mark.parametrize("fmt", ["form", "auto"])
def test_form_body_maps_like_json(fmt):
    raw = (b"order_id=A100&amount=12.50&paid=on&placed=1795780800000"
           b"&sku=X&sku=Y&note=&email=ann%40example.com&name=Ann+Lee")
    spec = {
        "order_id": "body.order_id",
        "amount": {"path": "body.amount", "type": "float"},
        "paid": {"path": "body.paid", "type": "bool"},
        "placed_at": {"path": "body.placed", "type": "datetime"},
        "skus": "body.sku",
        "note": {"path": "body.note", "default": "none"},
        "customer.email": "body.email",
        "customer.name": "body.name",
    }
    out = compile_transform(spec).apply(_env_from(raw, "application/x-www-form-urlencoded", fmt))
    assert out == {
        "order_id": "A100", "amount": 12.5, "paid": True, "placed_at": "2026-11-27T12:00:00Z",
        "skus": ["X", "Y"], "note": "", "customer": {"email": "ann@example.com", "name": "Ann Lee"},
    }
