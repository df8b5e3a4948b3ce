"""XML bombs by depth and by size are refused at parse time with a clear message (ingress: 400)."""

from __future__ import annotations

import time

import pytest

from hookline.core.envelope import MAX_XML_DEPTH, MAX_XML_ELEMENTS, BodyParseError, parse_body


def nested(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


@pytest.mark.parametrize("depth", [MAX_XML_DEPTH + 1, 20_000, 100_000])
def test_xml_nested_deeper_than_the_cap_is_refused_quickly(depth: int) -> None:
    t0 = time.perf_counter()
    with pytest.raises(BodyParseError, match=f"nested deeper than {MAX_XML_DEPTH}"):
        parse_body(nested(depth), "application/xml", "xml")
    assert time.perf_counter() - t0 < 1.0


def test_xml_at_the_depth_cap_is_parsed() -> None:
    value = parse_body(nested(MAX_XML_DEPTH), "application/xml", "auto")
    for _ in range(MAX_XML_DEPTH - 1):
        value = value["a"]
    assert value == {"a": "x"}


def test_xml_with_more_elements_than_the_cap_is_refused() -> None:
    body = b"<r>" + b"<i/>" * MAX_XML_ELEMENTS + b"</r>"
    with pytest.raises(BodyParseError, match=f"more than {MAX_XML_ELEMENTS} elements"):
        parse_body(body, "text/xml", "xml")
    ok = b"<r>" + b"<i/>" * (MAX_XML_ELEMENTS - 1) + b"</r>"
    assert len(parse_body(ok, "text/xml", "xml")["r"]["i"]) == MAX_XML_ELEMENTS - 1
