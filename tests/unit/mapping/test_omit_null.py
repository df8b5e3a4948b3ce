"""`omit_null` leaves no empty parent behind: an object whose fields it all left out is left out too."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.mapping.compiler import compile_transform
from hookline.mapping.formats import serialize


def mapped(spec: dict[str, Any], body: dict[str, Any]) -> Any:
    return compile_transform(spec).apply({"body": body})


def test_a_top_level_omit_null_drops_a_dotted_parent_it_emptied() -> None:
    spec = {"omit_null": True, "id": "body.id", "customer.email": "body.email", "customer.name": "body.name"}
    assert mapped(spec, {"id": 1}) == {"id": 1}
    assert mapped(spec, {"id": 1, "email": "a@x"}) == {"id": 1, "customer": {"email": "a@x"}}


def test_emptied_parents_drop_at_every_level_and_fields_objects_too() -> None:
    spec = {"omit_null": True, "id": "body.id", "a.b.c": "body.c",
            "billing": {"fields": {"city": "body.city", "zip.code": "body.zip"}}}
    assert mapped(spec, {"id": 1}) == {"id": 1}
    assert mapped(spec, {"id": 1, "zip": "75001"}) == {"id": 1, "billing": {"zip": {"code": "75001"}}}


def test_a_field_level_omit_null_empties_and_drops_its_parent_too() -> None:
    spec = {"id": "body.id", "customer.coupon": {"path": "body.coupon", "omit_null": True}}
    assert mapped(spec, {"id": 1}) == {"id": 1}


@pytest.mark.parametrize(("spec", "expected"), [
    # without omit_null a null stays a null: the parent is not empty
    ({"id": "body.id", "customer.email": "body.email"}, {"id": 1, "customer": {"email": None}}),
    # a parent emptied by `when` alone is kept, as before
    ({"id": "body.id", "customer.email": {"path": "body.email", "when": "body.email"}}, {"id": 1, "customer": {}}),
    # an explicit empty constant is a value, not an emptied parent
    ({"omit_null": True, "id": "body.id", "meta": {"value": {}}}, {"id": 1, "meta": {}}),
    # a field opting out of the transform-wide option keeps its null, so its parent stays
    ({"omit_null": True, "id": "body.id", "c.email": {"path": "body.email", "omit_null": False}},
     {"id": 1, "c": {"email": None}}),
])
def test_what_is_not_an_emptied_parent_stays(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    assert mapped(spec, {"id": 1}) == expected


def test_list_elements_emptied_by_omit_null_stay_in_place_and_a_whole_empty_transform_is_an_object() -> None:
    spec = {"omit_null": True, "lines": {"each": "body.lines", "fields": {"sku": "sku", "meta.note": "note"}}}
    assert mapped(spec, {"lines": [{"sku": "A"}, {}, {"note": "n"}]}) == \
        {"lines": [{"sku": "A"}, {}, {"meta": {"note": "n"}}]}
    assert mapped({"omit_null": True, "a.b": "body.x"}, {}) == {}


def test_csv_columns_do_not_shift_when_a_parent_is_dropped() -> None:
    transform = compile_transform({"omit_null": True, "id": "body.id", "customer.email": "body.email"})
    out = transform.apply({"body": {"id": 7}})
    assert out == {"id": 7}
    assert serialize(out, "csv", columns=transform.columns)[0] == b"id,customer.email\r\n7,\r\n"
