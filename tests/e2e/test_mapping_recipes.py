"""The mapping recipes (docs/recipes.md) through `hookline dev` (examples/recipes/hookline.yaml, URLs pointed at
real local receivers):

- Stripe payment_intent.succeeded -> CRM deal: amount in dollars (JSONata), stage by lookup file,
  close date as %d/%m/%Y, no null fields, contact id enriched from a local search endpoint;
- a Shopify order -> an ERP receiving XML;
- the same order -> a CSV line.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from defusedxml import ElementTree

from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import DevProcess, free_port, report
from tests.e2e.test_dev_pipeline import post
from tests.support.receiver import Received, Receiver, Script

pytestmark = pytest.mark.e2e

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "recipes"
SECRETS = {"STRIPE_WEBHOOK_SECRET": "whsec_e2e_recipes", "SHOPIFY_WEBHOOK_SECRET": "shpss_e2e_recipes",
           "CRM_TOKEN": "crm-e2e-token"}


def crm_answer(request: Received) -> tuple[int, bytes]:
    """The CRM: a contact search by e-mail, and deal creation."""
    url = urlparse(request.path)
    if request.method == "GET" and url.path == "/api/contacts/search":
        email = parse_qs(url.query).get("email", [""])[0]
        if email == "jane@example.com":
            return 200, json.dumps({"id": "c-1024", "email": email}).encode()
        return 404, b'{"error": "not found"}'
    return 201, b'{"id": "deal-1"}'


class Recipes:
    def __init__(self, dev: DevProcess, config: Path, crm: Receiver, erp: Receiver, ledger: Receiver) -> None:
        self.dev, self.config, self.crm, self.erp, self.ledger = dev, config, crm, erp, ledger

    def send(self, source: str, payload: dict[str, Any], msg_id: str) -> int:
        body = json.dumps(payload).encode()
        verify = load_config(self.config).sources[source].verify
        secret = SECRETS["STRIPE_WEBHOOK_SECRET" if source == "stripe" else "SHOPIFY_WEBHOOK_SECRET"]
        headers = sign(verify, secret, body, msg_id=msg_id)
        headers["Content-Type"] = "application/json"
        if source == "shopify":
            headers["X-Shopify-Topic"] = "orders/create"
        status, _ = post(f"{self.dev.url}/webhooks/{source}", body, headers)
        return status


@pytest.fixture(scope="module")
def recipes(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Recipes]:
    workdir = tmp_path_factory.mktemp("recipes")
    receivers = [Receiver(Script(responder=crm_answer)), Receiver(), Receiver()]
    for r in receivers:
        r.__enter__()
    crm, erp, ledger = receivers
    cfg = yaml.safe_load((RECIPES / "hookline.yaml").read_text())
    cfg["destinations"]["crm_search"]["url"] = f"{crm.url}/api"
    cfg["destinations"]["crm_deals"]["url"] = f"{crm.url}/api/deals"
    cfg["destinations"]["erp"]["url"] = f"{erp.url}/orders"
    cfg["destinations"]["ledger"]["url"] = f"{ledger.url}/orders.csv"
    cfg["retry"] = {"schedule_seconds": [1, 1]}
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copy(RECIPES / "stages.csv", workdir / "stages.csv")
    (workdir / "demo.env").write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    dev = DevProcess(workdir, config, free_port())
    try:
        seconds = dev.wait_ready(60)
        report(request, f"\nhookline dev (recipes): ready in {seconds:.2f} s")
        yield Recipes(dev, config, crm, erp, ledger)
    finally:
        dev.interrupt()
        for r in receivers:
            r.__exit__(None, None, None)


def wait_for(receiver: Receiver, predicate: Any, timeout: float = 30.0) -> list[Received]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [r for r in list(receiver.requests) if predicate(r)]
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"no matching request within {timeout}s; got {[r.path for r in receiver.requests]}")


def test_stripe_payment_becomes_a_crm_deal_with_the_enriched_contact(recipes: Recipes) -> None:
    # Given a payment_intent.succeeded with no coupon, for a customer the CRM knows
    payment = json.loads((RECIPES / "payloads" / "stripe-payment-intent-succeeded.json").read_text())
    payment["id"] = f"evt_{uuid.uuid4().hex[:16]}"
    # When Stripe sends it
    assert recipes.send("stripe", payment, payment["id"]) == 202
    # Then the CRM was searched by e-mail, with the destination's token, before the deal was created
    [deal] = wait_for(recipes.crm, lambda r: r.path == "/api/deals" and
                      r.headers.get("idempotency-key") == f"{payment['id']}:stripe-to-crm")
    [search] = [r for r in recipes.crm.requests if r.path.startswith("/api/contacts/search")
                and r.headers.get("idempotency-key", "").startswith(payment["id"])]
    assert search.path == "/api/contacts/search?email=jane%40example.com"
    assert search.headers["authorization"] == "Bearer crm-e2e-token"
    assert search.at <= deal.at
    # And the deal: dollars, the looked-up stage, a dd/mm/yyyy close date, the contact id, no nulls
    assert deal.headers["content-type"] == "application/json"
    assert deal.json() == {"name": "Stripe payment pi_3QrecipeIntent", "amount": 1299, "currency": "USD",
                           "stage": "closed_won", "close_date": "27/11/2026", "contact_id": "c-1024",
                           "big_deal": True}
    assert None not in deal.json().values() and "coupon" not in deal.json()


def test_shopify_order_reaches_the_erp_as_xml_and_the_ledger_as_a_csv_line(recipes: Recipes) -> None:
    order = json.loads((RECIPES / "payloads" / "shopify-order.json").read_text())
    webhook_id = f"wh-{uuid.uuid4().hex[:12]}"
    assert recipes.send("shopify", order, webhook_id) == 202
    # The ERP: XML with the configured root, attributes, repeated <Line> elements, escaped text
    [erp] = wait_for(recipes.erp, lambda r: r.headers.get("idempotency-key") == f"{webhook_id}:shopify-to-erp")
    assert erp.headers["content-type"] == "application/xml"
    root = ElementTree.fromstring(erp.body)
    assert root.tag == "SalesOrder" and root.get("number") == "1001"
    assert root.findtext("OrderDate") == "2026-11-28"  # 23:30 in New York is the 28th in Paris
    assert root.findtext("Customer/Name") == "Jane Doe"
    assert [(el.get("sku"), el.findtext("Quantity"), el.findtext("Description")) for el in root.findall("Line")] \
        == [("TSHIRT-M", "2", 'T-shirt, "organic" M'), ("MUG-01", "1", "Mug <ceramic>")]
    assert root.find("Note") is None
    # The ledger: a header and one CSV line, columns in the transform's order
    [ledger] = wait_for(recipes.ledger,
                        lambda r: r.headers.get("idempotency-key") == f"{webhook_id}:shopify-to-ledger")
    assert ledger.headers["content-type"] == "text/csv; charset=utf-8"
    assert ledger.body.decode() == ("order,date,email,items,total,currency,discount_code\r\n"
                                    "1001,2026-11-28,jane@example.com,3,74.5,EUR,WELCOME10\r\n")
