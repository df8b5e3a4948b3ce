"""Body parsing (json / form / xml / text / auto) and the event envelope."""

from __future__ import annotations

import json

import pytest

from hookline.core.envelope import BodyParseError, build_envelope, format_timestamp, parse_body

# ---------------------------------------------------------------- json


def test_json_body():
    assert parse_body(b'{"a": [1, 2.5, "x", null, true]}', "application/json", "json") == {
        "a": [1, 2.5, "x", None, True]}


def test_json_is_parsed_whatever_the_content_type_says():
    assert parse_body(b"[1]", "text/plain", "json") == [1]
    assert parse_body(b'"s"', None, "json") == "s"


def test_json_utf8_bom_and_utf16_are_accepted():
    assert parse_body('\ufeff{"name": "Zoë"}'.encode(), None, "json") == {"name": "Zoë"}
    assert parse_body('{"name": "Zoë"}'.encode("utf-16"), None, "json") == {"name": "Zoë"}


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "body is not valid JSON: the body is empty"),
    (b"  \n", "body is not valid JSON: the body is empty"),
    (b"not json", "body is not valid JSON: Expecting value at line 1 column 1"),
    (b'{"a": 1,}', "body is not valid JSON: Illegal trailing comma before end of object at line 1 column 8"),
    (b'{"a": 1}\n{"b": 2}', "body is not valid JSON: Extra data at line 2 column 1"),
    (b'{"a": NaN}', "body is not valid JSON: NaN is not valid JSON"),
    (b"[Infinity]", "body is not valid JSON: Infinity is not valid JSON"),
])
def test_json_errors_say_what_is_wrong(raw, message):
    with pytest.raises(BodyParseError) as info:
        parse_body(raw, "application/json", "json")
    assert str(info.value) == message


def test_json_invalid_utf8_is_a_parse_error():
    with pytest.raises(BodyParseError, match="body is not valid JSON"):
        parse_body(b'{"a": "\xff"}', "application/json", "json")


def test_json_form_body_is_refused_when_json_is_required():
    with pytest.raises(BodyParseError, match="not valid JSON"):
        parse_body(b"a=1&b=2", "application/x-www-form-urlencoded", "json")


# ---------------------------------------------------------------- form


def test_form_body():
    raw = b"name=Ann+Lee&email=ann%40example.com&tag=a&tag=b&tag=c&blank=&flag"
    assert parse_body(raw, "application/x-www-form-urlencoded", "form") == {
        "name": "Ann Lee", "email": "ann@example.com", "tag": ["a", "b", "c"], "blank": "", "flag": ""}


def test_form_keeps_blank_repeated_values_in_order():
    assert parse_body(b"k=&k=2&k=", None, "form") == {"k": ["", "2", ""]}


def test_form_empty_body_is_an_empty_dict():
    assert parse_body(b"", "application/x-www-form-urlencoded", "form") == {}


def test_form_decodes_with_the_declared_charset():
    raw = "city=Zürich".encode("latin-1").replace("ü".encode("latin-1"), b"%FC")
    assert parse_body(raw, "application/x-www-form-urlencoded; charset=ISO-8859-1", "form") == {"city": "Zürich"}
    assert parse_body(b"city=Z%C3%BCrich", "application/x-www-form-urlencoded", "form") == {"city": "Zürich"}


def test_form_with_too_many_fields_is_refused():
    raw = "&".join(f"k{i}=v" for i in range(10_001)).encode()
    with pytest.raises(BodyParseError, match="body is not a valid form"):
        parse_body(raw, "application/x-www-form-urlencoded", "form")


# ---------------------------------------------------------------- xml


def test_xml_body_keeps_the_root_element_as_the_top_key():
    raw = (b'<?xml version="1.0" encoding="UTF-8"?>'
           b'<order id="7"><item>a</item><item>b</item><note/><total currency="EUR">9.50</total></order>')
    assert parse_body(raw, "application/xml", "xml") == {
        "order": {"@id": "7", "item": ["a", "b"], "note": None, "total": {"@currency": "EUR", "#text": "9.50"}}}


def test_xml_keeps_namespace_prefixes_as_written():
    raw = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
           b"<soap:Body><ping>1</ping></soap:Body></soap:Envelope>")
    body = parse_body(raw, "text/xml", "xml")
    assert body["soap:Envelope"]["soap:Body"] == {"ping": "1"}


def test_xml_honours_its_declared_encoding():
    raw = '<?xml version="1.0" encoding="ISO-8859-1"?><city>Zürich</city>'.encode("latin-1")
    assert parse_body(raw, "application/xml", "xml") == {"city": "Zürich"}


def test_xml_bare_doctype_is_allowed():
    assert parse_body(b"<!DOCTYPE note><note>hi</note>", "application/xml", "xml") == {"note": "hi"}


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "body is not valid XML: the body is empty"),
    (b"<a><b></a>", "body is not valid XML: mismatched tag at line 1 column 9"),
    (b"<a>", "body is not valid XML: no element found"),
    (b"just text", "body is not valid XML: syntax error at line 1 column 1"),
    (b"<a/><b/>", "body is not valid XML: junk after document element"),
])
def test_xml_errors_say_what_is_wrong(raw, message):
    with pytest.raises(BodyParseError) as info:
        parse_body(raw, "application/xml", "xml")
    assert str(info.value).startswith(message)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<foo>x</foo>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:1/evil.dtd">
<foo>&xxe;</foo>"""


@pytest.mark.parametrize(("raw", "reason"), [
    (BILLION_LAUGHS, "entity declarations are not allowed"),
    (XXE_FILE, "entity declarations are not allowed"),
    (XXE_PARAMETER, "entity declarations are not allowed"),
    (EXTERNAL_DTD, "external DTDs are not allowed"),
])
@pytest.mark.parametrize("fmt", ["xml", "auto"])
def test_xml_entity_attacks_are_refused_not_expanded(raw, reason, fmt):
    with pytest.raises(BodyParseError) as info:
        parse_body(raw, "application/xml", fmt)
    assert str(info.value) == f"body is not accepted as XML: {reason}"


def test_undeclared_entity_reference_is_not_resolved():
    with pytest.raises(BodyParseError, match="undefined entity"):
        parse_body(b"<foo>&xxe;</foo>", "application/xml", "xml")


def test_predefined_and_character_entities_still_work():
    assert parse_body(b"<a>&lt;b&gt; &amp; &#169;</a>", "application/xml", "xml") == {"a": "<b> & \u00a9"}


# ---------------------------------------------------------------- text


def test_text_body():
    assert parse_body(b"hello\nworld", "text/plain", "text") == "hello\nworld"
    assert parse_body(b"", None, "text") == ""


def test_text_replaces_undecodable_bytes():
    assert parse_body(b"caf\xe9 ok", None, "text") == "caf\ufffd ok"


def test_text_uses_the_declared_charset_and_ignores_an_unknown_one():
    assert parse_body("café".encode("latin-1"), "text/plain; charset=iso-8859-1", "text") == "café"
    assert parse_body("café".encode(), "text/plain; charset=x-klingon", "text") == "café"


def test_text_keeps_json_as_a_string():
    assert parse_body(b'{"a": 1}', "application/json", "text") == '{"a": 1}'


# ---------------------------------------------------------------- auto


@pytest.mark.parametrize(("content_type", "raw", "expected"), [
    ("application/json", b'{"a": 1}', {"a": 1}),
    ("application/json; charset=utf-8", b'{"a": 1}', {"a": 1}),
    ("Application/JSON", b"[1]", [1]),
    ("application/vnd.api+json", b'{"data": null}', {"data": None}),
    ("application/x-www-form-urlencoded", b"a=1&a=2", {"a": ["1", "2"]}),
    ("application/xml", b"<a>1</a>", {"a": "1"}),
    ("text/xml; charset=utf-8", b"<a>1</a>", {"a": "1"}),
    ("application/atom+xml", b"<feed/>", {"feed": None}),
    ("text/plain", b"hello", "hello"),
    ("text/csv", b"a,b\n1,2", "a,b\n1,2"),
    ("multipart/form-data; boundary=x", b"--x--", "--x--"),
    (None, b'{"a": 1}', {"a": 1}),
    (None, b'  [1, 2]', [1, 2]),
    ("", b'{"a": 1}', {"a": 1}),
    ("text/plain", b'{"a": 1}', {"a": 1}),
    ("application/octet-stream", b'{"a": 1}', {"a": 1}),
    (None, b"{not json", "{not json"),
    (None, b"hello", "hello"),
    (None, b"a=1", "a=1"),
    ("text/html", b'{"a": 1}', '{"a": 1}'),
    ("application/json", b"", ""),
    (None, b"", ""),
])
def test_auto_chooses_by_content_type(content_type, raw, expected):
    assert parse_body(raw, content_type, "auto") == expected


@pytest.mark.parametrize(("content_type", "raw", "fragment"), [
    ("application/json", b"{oops", "body is not valid JSON"),
    ("application/xml", b"not xml", "body is not valid XML"),
])
def test_auto_refuses_a_body_that_contradicts_its_content_type(content_type, raw, fragment):
    with pytest.raises(BodyParseError, match=fragment):
        parse_body(raw, content_type, "auto")


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown body format 'yaml'"):
        parse_body(b"a: 1", None, "yaml")


# ---------------------------------------------------------------- envelope


def test_envelope_shape():
    env = build_envelope(event_id="d3b0", source="github", type="issues", received_at=1795780800.123,
                         headers={"X-GitHub-Event": "issues", "Content-Type": "application/json"},
                         body={"action": "opened"})
    assert env == {
        "id": "d3b0",
        "source": "github",
        "type": "issues",
        "received_at": "2026-11-27T12:00:00.123Z",
        "headers": {"x-github-event": "issues", "content-type": "application/json"},
        "body": {"action": "opened"},
    }
    assert list(env) == ["id", "source", "type", "received_at", "headers", "body"]
    assert json.loads(json.dumps(env)) == env


def test_envelope_type_may_be_none_and_body_text():
    env = build_envelope(event_id="x", source="legacy", type=None, received_at=0, headers={}, body="raw")
    assert env["type"] is None
    assert env["body"] == "raw"
    assert env["received_at"] == "1970-01-01T00:00:00.000Z"


def test_envelope_headers_differing_only_in_case_are_joined():
    env = build_envelope(event_id="x", source="s", type=None, received_at=0,
                         headers={"X-Tag": "a", "x-tag": "b"}, body=None)
    assert env["headers"] == {"x-tag": "a, b"}


def test_envelope_accepts_no_headers():
    assert build_envelope(event_id="x", source="s", type=None, received_at=0, headers=None, body=None)[
        "headers"] == {}


@pytest.mark.parametrize(("epoch", "expected"), [
    (1795780800, "2026-11-27T12:00:00.000Z"),
    (1795780800.123, "2026-11-27T12:00:00.123Z"),  # 0.123 is 0.12299999... as a float: rounded, not cut
    (1795780800.9996, "2026-11-27T12:00:01.000Z"),
    (1795780800.0004, "2026-11-27T12:00:00.000Z"),
])
def test_received_at_is_iso_utc_with_milliseconds(epoch, expected):
    assert format_timestamp(epoch) == expected


def test_a_parsed_envelope_is_what_when_expressions_see():
    import jmespath

    raw = b"event=order.paid&id=9"
    env = build_envelope(event_id="9", source="legacy", type="order.paid", received_at=0,
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=parse_body(raw, "application/x-www-form-urlencoded", "auto"))
    assert jmespath.search("headers.\"content-type\" == 'application/x-www-form-urlencoded' && body.id == '9'",
                           env) is True
