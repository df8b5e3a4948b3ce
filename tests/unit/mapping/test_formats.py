"""Destination body formats: json | form | xml | csv | ndjson, each with its Content-Type."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qsl

import pytest
from defusedxml import ElementTree

from hookline.core.errors import ConfigError
from hookline.mapping.compiler import compile_transform
from hookline.mapping.formats import FormatError, serialize
from hookline.validation import parse_config

ORDER = {"order_id": 1001, "customer": {"email": "ada@example.com", "name": "Ada, \"the\" first"},
         "paid": True, "note": None, "total": 25.0,
         "lines": [{"@sku": "A-1", "qty": 2}, {"@sku": "B-2", "qty": 1}], "tags": ["vip", "eu"]}


def test_json_is_compact_and_recorded_as_is() -> None:
    body, ctype, record = serialize({"a": "é", "n": 1})
    assert (body, ctype, record) == ('{"a":"é","n":1}'.encode(), "application/json", '{"a":"é","n":1}')
    with pytest.raises(FormatError, match="not JSON"):
        serialize({"x": float("nan")})


def test_form_brackets_nested_objects_repeats_scalar_lists_indexes_object_lists() -> None:
    body, ctype, record = serialize(ORDER, "form")
    assert ctype == "application/x-www-form-urlencoded"
    assert parse_qsl(body.decode(), keep_blank_values=True) == [
        ("order_id", "1001"), ("customer[email]", "ada@example.com"), ("customer[name]", 'Ada, "the" first'),
        ("paid", "true"), ("note", ""), ("total", "25"),
        ("lines[0][@sku]", "A-1"), ("lines[0][qty]", "2"), ("lines[1][@sku]", "B-2"), ("lines[1][qty]", "1"),
        ("tags", "vip"), ("tags", "eu")]
    assert json.loads(record) == ORDER  # the DLQ keeps the mapped JSON
    with pytest.raises(FormatError, match="a form body must be an object of fields, got list"):
        serialize([1], "form")


def test_xml_root_repeated_elements_and_attributes() -> None:
    body, ctype, _ = serialize(ORDER, "xml", xml_root="Order")
    assert ctype == "application/xml"
    text = body.decode()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<Order>')
    root = ElementTree.fromstring(body)
    assert root.tag == "Order"
    assert root.findtext("customer/email") == "ada@example.com"
    assert root.findtext("customer/name") == 'Ada, "the" first'
    assert root.findtext("paid") == "true" and root.findtext("note") == "" and root.findtext("total") == "25"
    lines = root.findall("lines")
    assert [(el.get("sku"), el.findtext("qty")) for el in lines] == [("A-1", "2"), ("B-2", "1")]
    assert [el.text for el in root.findall("tags")] == ["vip", "eu"]


def test_xml_escapes_text_and_refuses_names_it_cannot_write() -> None:
    body, _, _ = serialize({"note": "<b>&</b>"}, "xml")
    assert ElementTree.fromstring(body).findtext("note") == "<b>&</b>"
    with pytest.raises(FormatError, match=r"field lines\[0\].1st: '1st' is not a valid XML name"):
        serialize({"lines": [{"1st": 1}]}, "xml")
    with pytest.raises(FormatError, match="a list inside a list has no XML form"):
        serialize({"m": [[1]]}, "xml")
    with pytest.raises(FormatError, match=r"XML attribute a\.@b must be a scalar"):
        serialize({"a": {"@b": {"c": 1}}}, "xml")
    with pytest.raises(FormatError, match="xml_root: 'bad root' is not a valid XML name"):
        serialize({}, "xml", xml_root="bad root")


def test_csv_columns_follow_the_transform_even_when_fields_are_omitted() -> None:
    transform = compile_transform({"omit_null": True, "id": "body.id", "customer.email": "body.email",
                                   "coupon": "body.coupon", "lines": "body.lines"})
    mapped = transform.apply({"body": {"id": 7, "email": "a@x", "lines": [1, 2]}})
    assert mapped == {"id": 7, "customer": {"email": "a@x"}, "lines": [1, 2]}
    body, ctype, _ = serialize(mapped, "csv", columns=transform.columns)
    assert ctype == "text/csv; charset=utf-8"
    assert body.decode() == "id,customer.email,coupon,lines\r\n7,a@x,,\"[1,2]\"\r\n"


def test_csv_quotes_per_rfc4180_and_can_drop_the_header() -> None:
    body, _, _ = serialize({"name": 'Ada, "the" first', "n": 1}, "csv", csv_header=False)
    assert list(csv.reader(io.StringIO(body.decode()))) == [['Ada, "the" first', "1"]]
    rows, _, _ = serialize([{"a": 1}, {"a": 2, "b": 3}], "csv")
    assert rows.decode() == "a,b\r\n1,\r\n2,3\r\n"
    with pytest.raises(FormatError, match=r"a csv row must be an object, got int at \[1\]"):
        serialize([{"a": 1}, 2], "csv")


FORMULA = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize("cell", [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+9)*cmd|x!A0",
                                  "\t=1+1", "\r=1+1"])
def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_are_neutralised(cell: str) -> None:
    # OWASP CSV injection: a leading ' makes Excel, LibreOffice and Sheets show the text, not run it
    body, _, record = serialize({"order": 1, "note": cell}, "csv")
    assert list(csv.reader(io.StringIO(body.decode()))) == [["order", "note"], ["1", "'" + cell]]
    assert json.loads(record) == {"order": 1, "note": cell}  # the DLQ keeps the value the event had


def test_csv_neutralises_header_cells_and_nested_values_too_but_leaves_numbers() -> None:
    # A python transform's keys come from the event: a header cell is no safer than a value
    rows = [{"=HYPERLINK(\"http://x\")": "a", "n": -5, "s": "-12.50", "c": {"d": "=1+1"}, "l": ["=1"]}]
    body, _, _ = serialize(rows, "csv")
    assert list(csv.reader(io.StringIO(body.decode()))) == [
        ["'=HYPERLINK(\"http://x\")", "n", "s", "c.d", "l"],
        ["a", "-5", "-12.50", "'=1+1", '["=1"]']]


def test_ndjson_one_document_per_line() -> None:
    body, ctype, _ = serialize([{"a": 1}, {"a": 2}], "ndjson")
    assert (body, ctype) == (b'{"a":1}\n{"a":2}\n', "application/x-ndjson")
    assert serialize({"a": 1}, "ndjson")[0] == b'{"a":1}\n'


def test_format_is_a_destination_key_checked_by_validate() -> None:
    base = {"sources": {}, "routes": []}
    cfg = parse_config({**base, "destinations": {"erp": {"url": "http://x/", "format": "xml", "xml_root": "Order"}}})
    assert cfg.destinations["erp"].format == "xml"
    with pytest.raises(ConfigError) as e:
        parse_config({**base, "destinations": {"erp": {"url": "http://x/", "format": "yaml"}}})
    assert [p.path for p in e.value.problems] == ["destinations.erp.format"]
    with pytest.raises(ConfigError) as e:
        parse_config({**base, "destinations": {"erp": {"url": "http://x/", "format": "xml", "xml_root": "1x"}}})
    assert [(p.path, p.message) for p in e.value.problems] == [
        ("destinations.erp.xml_root", "'1x' is not a valid XML name (letters, digits, '_', '-', '.'; "
                                      "not starting with a digit)")]
