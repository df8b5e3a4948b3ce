"""`hookline map try ROUTE --data FILE`: envelope, enrichment answers and the body in the destination's
format, on the recipes of docs/recipes.md (examples/recipes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from defusedxml import ElementTree

from hookline.cli import main
from tests.support.receiver import Receiver, Script

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
CONFIG = RECIPES / "hookline.yaml"
STRIPE = RECIPES / "payloads" / "stripe-payment-intent-succeeded.json"
SHOPIFY = RECIPES / "payloads" / "shopify-order.json"
CONTACT = RECIPES / "mocks" / "contact.json"


def try_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["map", "try", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_stripe_to_crm_with_a_mocked_contact(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = try_json(capsys, "stripe-to-crm", "--config", str(CONFIG), "--data", str(STRIPE),
                         "--mock", f"contact={CONTACT}")
    assert code == 0
    assert out["when_matches"] is True
    assert out["envelope"]["enriched"] == {"contact": json.loads(CONTACT.read_text())}
    [step] = out["enrichment"]
    assert (step["path"], step["status_code"], step["result"]) == (
        "/contacts/search?email=jane%40example.com", 200, "ok")
    [delivery] = out["deliveries"]
    assert delivery["content_type"] == "application/json"
    assert json.loads(delivery["body"]) == {
        "name": "Stripe payment pi_3QrecipeIntent", "amount": 1299, "currency": "USD", "stage": "closed_won",
        "close_date": "27/11/2026", "contact_id": "c-1024", "big_deal": True}


def test_a_404_mock_is_skipped_and_the_field_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = try_json(capsys, "stripe-to-crm", "--config", str(CONFIG), "--data", str(STRIPE),
                         "--mock", "contact=404")
    assert code == 0
    assert out["enrichment"][0]["result"] == "skipped"
    assert "contact_id" not in json.loads(out["deliveries"][0]["body"])


def test_a_missing_mock_says_what_to_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["map", "try", "stripe-to-crm", "--config", str(CONFIG), "--data", str(STRIPE)])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED at enrichment: no --mock for enrichment step 'contact': pass --mock contact=FILE" in err


def test_text_output_shows_each_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "try", "shopify-to-erp", "--config", str(CONFIG), "--data", str(SHOPIFY)]) == 0
    out = capsys.readouterr().out
    assert "== envelope ==" in out
    assert "== erp: POST http://127.0.0.1:8082/orders (Content-Type: application/xml) ==" in out
    xml = out.split("(Content-Type: application/xml) ==\n", 1)[1].strip()
    root = ElementTree.fromstring(xml.encode())
    assert root.tag == "SalesOrder" and root.get("number") == "1001"
    assert [line.get("sku") for line in root.findall("Line")] == ["TSHIRT-M", "MUG-01"]
    assert root.find("Note") is None  # omit_null


def test_csv_body(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = try_json(capsys, "shopify-to-ledger", "--config", str(CONFIG), "--data", str(SHOPIFY))
    assert code == 0
    assert out["deliveries"][0]["body"] == ("order,date,email,items,total,currency,discount_code\r\n"
                                            "1001,2026-11-28,jane@example.com,3,74.5,EUR,WELCOME10\r\n")


def test_a_mapping_failure_is_reported_with_its_dlq_reason(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    payload = json.loads(STRIPE.read_text())
    payload["data"]["object"]["status"] = "requires_action"
    data = tmp_path / "p.json"
    data.write_text(json.dumps(payload))
    code, out = try_json(capsys, "stripe-to-crm", "--config", str(CONFIG), "--data", str(data),
                         "--mock", f"contact={CONTACT}")
    assert code == 1
    assert out["failure"]["stage"] == "mapping"
    assert out["failure"]["error"].startswith("field 'stage': value 'requires_action' from body.data.object.status "
                                              "is not in lookup file 'stages.csv'")
    assert out["failure"]["error"].endswith("(DLQ reason mapping)")


def test_unknown_route_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map", "try", "nope", "--config", str(CONFIG), "--data", str(STRIPE)]) == 2
    assert "no route named 'nope'" in capsys.readouterr().err


def test_live_calls_the_search_destination_with_its_auth(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", "live-token-123")
    with Receiver(Script(body=b'{"id": "c-live"}')) as crm:
        cfg = yaml.safe_load(CONFIG.read_text())
        cfg["destinations"]["crm_search"]["url"] = f"{crm.url}/api"
        (tmp_path / "hookline.yaml").write_text(yaml.safe_dump(cfg))
        (tmp_path / "stages.csv").write_text((RECIPES / "stages.csv").read_text())
        code, out = try_json(capsys, "stripe-to-crm", "--config", str(tmp_path / "hookline.yaml"),
                             "--data", str(STRIPE), "--live")
    assert code == 0
    [req] = crm.requests
    assert req.method == "GET" and req.path == "/api/contacts/search?email=jane%40example.com"
    assert req.headers["authorization"] == "Bearer live-token-123"
    assert json.loads(out["deliveries"][0]["body"])["contact_id"] == "c-live"
    assert out["enrichment"][0]["from"] == "live"
