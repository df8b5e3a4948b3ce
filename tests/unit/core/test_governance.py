"""Governance: one owner per entity, conflicting field writes, the data-flow map and review dates."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hookline.core.errors import ConfigError
from hookline.governance import flows, mermaid, overdue_reviews
from hookline.validation import load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]


def base(**extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "sources": {s: {"verify": {"scheme": "github", "secrets": ["env:X"]}} for s in ("stripe", "shopify", "crm")},
        "destinations": {"crm": {"url": "https://crm.example.com/contacts"}},
        "entities": {"customer": {"owner": "crm", "steward": "sales-ops", "fields": ["email", "name"]}},
        "routes": [],
    }
    cfg.update(extra)
    return cfg


def route(name: str, source: str, fields: list[str], **kw: Any) -> dict[str, Any]:
    return {"name": name, "source": source, "destination": "crm",
            "transform": {f: f"body.{f.replace('.', '_')}" for f in fields}, **kw}


def problems(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


def test_writing_an_entity_into_its_owner_from_another_system_is_rejected() -> None:
    found = problems(base(routes=[route("stripe-customers", "stripe", ["email"], writes="customer")]))
    assert len(found) == 1
    p = found[0]
    assert p.path == "routes[0]"
    assert "stripe-customers" in p.message and "customer" in p.message and "'crm'" in p.message
    assert "one_way_copy: true" in p.hint and "precedence" in p.hint


@pytest.mark.parametrize("allow", [{"one_way_copy": True}, {"precedence": 10}])
def test_a_one_way_copy_or_a_precedence_allows_it(allow: dict[str, Any]) -> None:
    parse_config(base(routes=[route("stripe-customers", "stripe", ["email"], writes="customer", **allow)]))


def test_two_sources_writing_one_field_without_precedence_are_rejected_naming_both() -> None:
    found = problems(base(routes=[route("stripe-contacts", "stripe", ["contact.email", "plan"]),
                                  route("shopify-contacts", "shopify", ["contact.email"])]))
    assert len(found) == 1
    p = found[0]
    assert "stripe-contacts" in p.message and "shopify-contacts" in p.message
    assert "crm.contact.email" in p.message and "no precedence" in p.message
    assert "precedence" in p.hint and p.path == "routes[1].transform.contact.email"


def test_a_field_conflict_without_entities_says_why_it_applies_and_how_to_declare_one() -> None:
    # Given two sources writing one CRM field, and no `entities:` at all (a new user's first config)
    data = base(routes=[route("stripe-contacts", "stripe", ["email"]), route("shopify-contacts", "shopify", ["email"])])
    del data["entities"]
    found = problems(data)
    assert len(found) == 1
    p = found[0]
    # Then the message says why the rule fires anyway: the two overwrite each other in arrival order
    assert "overwrite" in p.message and "no entities: are needed" in p.message, p.message
    # And the fix names both routes' precedence, or an entity with a precedence list the routes write
    assert "`precedence: N`" in p.hint
    assert "entities:" in p.hint and "precedence: [stripe, shopify]" in p.hint and "`writes: <entity>`" in p.hint
    # With an entity on the routes, the hint points at that entity's precedence list by name
    named = base(routes=[route("a", "stripe", ["email"], writes="customer", one_way_copy=True),
                         route("b", "shopify", ["email"], writes="customer", one_way_copy=True)])
    assert "entities.customer.precedence: [stripe, shopify]" in problems(named)[0].hint


def test_declared_precedence_resolves_a_field_conflict() -> None:
    routes = [route("stripe-contacts", "stripe", ["contact.email"], precedence=2),
              route("shopify-contacts", "shopify", ["contact.email"], precedence=1)]
    parse_config(base(routes=routes))
    same = [route("stripe-contacts", "stripe", ["contact.email"], precedence=1),
            route("shopify-contacts", "shopify", ["contact.email"], precedence=1)]
    assert "same precedence" in problems(base(routes=same))[0].message
    by_entity = base(routes=[route("a", "stripe", ["email"], writes="customer", one_way_copy=True),
                             route("b", "shopify", ["email"], writes="customer", one_way_copy=True)])
    by_entity["entities"]["customer"]["precedence"] = ["shopify", "stripe"]
    parse_config(by_entity)


def test_the_same_source_twice_is_no_conflict() -> None:
    parse_config(base(routes=[route("a", "stripe", ["email"]), route("b", "stripe", ["email"])]))


def test_unknown_entities_and_owners_are_named() -> None:
    data = base(routes=[route("a", "stripe", ["email"], writes="invoice")])
    data["entities"]["order"] = {"owner": "erp"}
    paths = {p.path: p.message for p in problems(data)}
    assert "unknown entity 'invoice'" in paths["routes[0].writes"]
    assert "unknown system 'erp'" in paths["entities.order.owner"]


def test_owner_and_review_by_on_sources_destinations_routes() -> None:
    data = base(routes=[route("a", "crm", ["email"], writes="customer", owner="growth", review_by="2026-01-31")])
    data["sources"]["stripe"]["review_by"] = "2026-06-30"
    data["destinations"]["crm"] |= {"owner": "sales-ops", "review_by": "2030-01-01"}
    cfg = parse_config(data)
    late = overdue_reviews(cfg, date(2026, 7, 1))
    assert [(r.kind, r.name, r.owner) for r in late] == [("route", "a", "growth"), ("source", "stripe", None)]
    assert overdue_reviews(cfg, date(2025, 1, 1)) == []
    assert "review_by" in str(problems({**data, "routes": [route("a", "crm", ["x"], review_by="soon")]})[0].path)


def test_the_example_map_table_and_mermaid() -> None:
    cfg = load_config(ROOT / "examples" / "hookline.yaml")
    table = {(f.entity, f.route): f for f in flows(cfg)}
    assert table[("order", "orders-to-warehouse")].owner == "shop"
    assert table[("order", "orders-to-warehouse")].destination == "warehouse"
    assert "updated_at" in table[("order", "orders-to-warehouse")].fields
    diagram = mermaid(cfg)
    assert diagram.startswith("flowchart LR\n")
    assert 'src_shop -- "orders-to-warehouse<br/>order:' in diagram
    assert 'dst_warehouse[("warehouse (firehose)")]' in diagram


def test_the_docs_embed_the_example_diagram() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    diagram = mermaid(load_config(ROOT / "examples" / "hookline.yaml"))
    assert f"```mermaid\n{diagram}```" in page, "regenerate: hookline map --config examples/hookline.yaml --mermaid"


def test_hookline_map_cli() -> None:
    example = str(ROOT / "examples" / "hookline.yaml")
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "map", "--config", example],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].split() == ["ENTITY", "OWNER", "(STEWARD)", "ROUTE", "FROM", "->", "TO", "FIELDS",
                                           "WRITTEN", "NOTE"]
    assert any(line.startswith("order") and "orders-to-warehouse" in line for line in out.splitlines())
