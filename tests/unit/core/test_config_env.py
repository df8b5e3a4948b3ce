"""`${NAME}` / `${NAME:-default}` in destination and sync URLs (the demo's ports follow `make dev`'s)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hookline.core.errors import ConfigError
from hookline.validation import load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]

DATA: dict[str, Any] = {
    "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:GH"]}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:${T_CRM_PORT:-8081}/contacts"}},
    "routes": [{"name": "r", "source": "shop", "destination": "crm"}],
    "syncs": {"orders": {"source": "shop", "url": "http://${T_SHOP_HOST}/orders", "items_path": "data",
                         "id_path": "id", "every": "1m", "pagination": {"style": "page", "param": "page"}}},
}


def test_a_url_takes_the_variable_else_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SHOP_HOST", "127.0.0.1:9002")
    monkeypatch.delenv("T_CRM_PORT", raising=False)
    data = copy.deepcopy(DATA)
    cfg = parse_config(data)
    assert cfg.destinations["crm"].url == "http://127.0.0.1:8081/contacts"
    assert cfg.syncs["orders"].url == "http://127.0.0.1:9002/orders"
    assert data == DATA  # the caller's dict is not rewritten
    monkeypatch.setenv("T_CRM_PORT", "9001")
    assert parse_config(copy.deepcopy(DATA)).destinations["crm"].url == "http://127.0.0.1:9001/contacts"


def test_an_unset_variable_without_default_is_a_problem_naming_it_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_SHOP_HOST", raising=False)
    with pytest.raises(ConfigError) as exc:
        parse_config(copy.deepcopy(DATA))
    [problem] = exc.value.problems
    assert problem.path == "syncs.orders.url" and "${T_SHOP_HOST} is not set" in problem.message
    assert "export T_SHOP_HOST=" in problem.hint and "${T_SHOP_HOST:-VALUE}" in problem.hint


def test_the_demo_configuration_follows_the_demo_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CRM_PORT", "ORDERS_PORT"):
        monkeypatch.delenv(var, raising=False)
    cfg = load_config(ROOT / "examples" / "hookline.yaml")
    assert {d.url for d in cfg.destinations.values() if d.url} == {"http://127.0.0.1:8081/contacts",
                                                                   "http://127.0.0.1:8081/orders"}
    assert cfg.syncs["orders"].url == "http://127.0.0.1:8082/orders"
    monkeypatch.setenv("CRM_PORT", "18081")
    monkeypatch.setenv("ORDERS_PORT", "18082")
    cfg = load_config(ROOT / "examples" / "hookline.yaml")
    assert cfg.destinations["crm"].url == "http://127.0.0.1:18081/contacts"
    assert cfg.destinations["crm-orders"].url == "http://127.0.0.1:18081/orders"
    assert cfg.syncs["orders"].url == "http://127.0.0.1:18082/orders"
