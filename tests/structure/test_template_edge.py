"""The public edge is bounded: API throttling and ingress reserved concurrency come from template parameters."""

from __future__ import annotations

from pathlib import Path

from hookline.local.cfn import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
PARAMS = TEMPLATE["Parameters"]
RESOURCES = TEMPLATE["Resources"]


def test_the_http_apis_default_route_is_throttled_by_parameters() -> None:
    settings = RESOURCES["WebhookApi"]["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert 0 < PARAMS["ApiThrottlingRateLimit"]["Default"] <= PARAMS["ApiThrottlingBurstLimit"]["Default"]


def test_ingress_concurrency_is_reserved_by_a_parameter_that_can_be_turned_off() -> None:
    reserved = RESOURCES["IngressFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {"Fn::If": ["HasIngressReservedConcurrency", {"Ref": "IngressReservedConcurrency"},
                                   {"Ref": "AWS::NoValue"}]}
    assert PARAMS["IngressReservedConcurrency"]["Default"] > 0
    assert TEMPLATE["Conditions"]["HasIngressReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "IngressReservedConcurrency"}, "0"]}]}
