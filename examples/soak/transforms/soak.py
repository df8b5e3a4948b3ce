"""The soak run's Python transform: a Shopify order as the ERP takes it."""

from __future__ import annotations

from typing import Any


def order_to_erp(envelope: dict[str, Any]) -> dict[str, Any]:
    order = envelope["body"]
    lines = order.get("line_items") or []
    return {
        "order": str(order["id"]),
        "email": order.get("email"),
        # Cents as integers: a float sum of prices would drift by a cent on some orders.
        "total_cents": sum(round(float(line["price"]) * 100) * int(line["quantity"]) for line in lines),
        "skus": [line["sku"] for line in lines],
    }
