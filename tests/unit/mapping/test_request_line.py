"""A destination's url and method filled from the envelope (upserts), and the values that must not reach a path."""

from __future__ import annotations

import pytest

from hookline.core.config import DestinationConfig
from hookline.mapping.errors import MappingError, MappingSpecError
from hookline.mapping.urls import compile_request_line, compile_url_template, path_segment_problem

UPSERT = DestinationConfig.model_validate({
    "url": "https://crm.example/contacts/{enriched.contact.id}",
    "method": {"when": "enriched.contact.id", "then": "PATCH", "else": "POST"},
})
CREATE = DestinationConfig.model_validate({
    "url": "https://crm.example/contacts",
    "method": {"when": "enriched.contact.id", "then": "PATCH", "else": "POST"},
})


def test_found_contact_is_patched_at_its_url() -> None:
    rl = compile_request_line(UPSERT.url or "", UPSERT.method)
    assert rl.dynamic
    assert rl.resolve({"enriched": {"contact": {"id": "00Q5 x"}}}) == (
        "PATCH", "https://crm.example/contacts/00Q5%20x")


def test_no_contact_means_post_and_a_url_without_the_key() -> None:
    rl = compile_request_line(CREATE.url or "", CREATE.method)
    assert rl.resolve({"enriched": {"contact": None}}) == ("POST", "https://crm.example/contacts")
    # with the key in the url template there is no url to POST to: a mapping failure, no request
    with pytest.raises(MappingError, match=r"no value at enriched\.contact\.id"):
        compile_request_line(UPSERT.url or "", UPSERT.method).resolve({"enriched": {"contact": None}})


def test_fixed_url_and_method_pass_through() -> None:
    rl = compile_request_line("https://crm.example/hook", "PUT")
    assert not rl.dynamic
    assert rl.resolve({}) == ("PUT", "https://crm.example/hook")
    # in the query a value is only encoded: `..` or `/` there cannot move the request
    query = compile_request_line("https://crm.example/search?name={body.name}", "GET")
    assert query.resolve({"body": {"name": "../a/b"}}) == ("GET", "https://crm.example/search?name=..%2Fa%2Fb")


@pytest.mark.parametrize("value", ["..", ".", "", "a/b", "a\\b", "%2e%2e", "%2E.", "a%2Fb", "%252e%252e",
                                   "%25252F", "%2f"])
def test_values_that_would_change_the_path_are_mapping_failures(value: str) -> None:
    rl = compile_request_line(UPSERT.url or "", UPSERT.method)
    with pytest.raises(MappingError) as e:
        rl.resolve({"enriched": {"contact": {"id": value}}})
    assert "no request was made" in str(e.value) or "no value at" in str(e.value)


@pytest.mark.parametrize("value", ["abc", "a b", "100%", "a.b", "..a", "%zz"])
def test_ordinary_values_stay_in_their_segment(value: str) -> None:
    assert path_segment_problem(value) is None


def test_a_placeholder_in_the_host_is_refused_at_load() -> None:
    with pytest.raises(MappingSpecError, match="placeholders may fill the path only"):
        compile_url_template("https://{body.tenant}.crm.example/contacts", full_url=True)
    with pytest.raises(MappingSpecError, match="placeholders may fill the path only"):
        compile_url_template("{body.url}", full_url=True)


def test_method_expression_errors_are_mapping_failures() -> None:
    dest = DestinationConfig.model_validate({"url": "https://crm.example/c",
                                             "method": {"when": "abs(body.name)", "then": "PATCH",
                                                        "else": "POST"}})
    with pytest.raises(MappingError, match="the method's when"):
        compile_request_line(dest.url or "", dest.method).resolve({"body": {"name": "x"}})


def test_an_optional_segment_makes_one_destination_an_upsert() -> None:
    rl = compile_request_line("https://crm.example/contacts{/enriched.contact.id}", UPSERT.method)
    assert rl.resolve({"enriched": {"contact": {"id": "003X"}}}) == ("PATCH", "https://crm.example/contacts/003X")
    assert rl.resolve({"enriched": {"contact": None}}) == ("POST", "https://crm.example/contacts")
    assert rl.resolve({"enriched": {"contact": {"id": ""}}}) == ("POST", "https://crm.example/contacts")
    for bad in ("..", "a/b", "%2e%2e"):
        with pytest.raises(MappingError, match="no request was made"):
            rl.resolve({"enriched": {"contact": {"id": bad}}})
    # only in a destination's full url: an enrichment path keeps `{EXPR}` required
    with pytest.raises(MappingSpecError):
        compile_url_template("/contacts{/body.id}")
