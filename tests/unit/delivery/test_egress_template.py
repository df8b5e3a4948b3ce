"""Static egress in template.yaml: VpcSubnetIds / VpcSecurityGroupIds put the deliver and sync functions in the
user's VPC (off by default), with the ENI managed policy only then; EgressProxy reaches the functions.

cfn-lint (`sam validate --lint`) and checkov run on the template in `make test`/`make scan`; this checks the
shape the translator hands CloudFormation, and that the condition is true exactly when subnets are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookline.local import cfn

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = cfn.load_template(ROOT / "template.yaml")
ENI = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"


def evaluate(node: Any, params: dict[str, list[str]]) -> Any:
    """The few intrinsics the InVpc condition uses, with CommaDelimitedList parameters as lists."""
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Join":
            return arg[0].join(evaluate(arg[1], params))
        if fn == "Fn::Equals":
            return evaluate(arg[0], params) == evaluate(arg[1], params)
        if fn == "Fn::Not":
            return not evaluate(arg[0], params)
    return node


@pytest.mark.parametrize(("subnets", "in_vpc"), [([""], False), (["subnet-0a1b"], True),
                                                  (["subnet-0a1b", "subnet-2c3d"], True)])
def test_in_vpc_holds_exactly_when_subnets_are_given(subnets: list[str], in_vpc: bool) -> None:
    # CloudFormation passes an empty CommaDelimitedList default as [""]
    assert evaluate(TEMPLATE["Conditions"]["InVpc"], {"VpcSubnetIds": subnets}) is in_vpc
    for name in ("VpcSubnetIds", "VpcSecurityGroupIds"):
        assert TEMPLATE["Parameters"][name] == {**TEMPLATE["Parameters"][name], "Type": "CommaDelimitedList",
                                                "Default": ""}


def test_deliver_and_sync_run_in_the_vpc_only_when_on_and_ingress_never() -> None:
    translated = cfn.transform(TEMPLATE, region="us-east-1",
                               parameters={"VpcSubnetIds": "subnet-0a1b", "VpcSecurityGroupIds": "sg-1"})
    functions = {lid: r["Properties"] for lid, r in translated["Resources"].items()
                 if r["Type"] == "AWS::Lambda::Function"}
    vpc = {"Fn::If": ["InVpc", {"SubnetIds": {"Ref": "VpcSubnetIds"},
                                "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"}}, {"Ref": "AWS::NoValue"}]}
    assert functions["DeliverFunction"]["VpcConfig"] == vpc
    assert functions["SyncFunction"]["VpcConfig"] == vpc
    assert "VpcConfig" not in functions["IngressFunction"]  # API Gateway's answer needs no static address
    roles = {lid: r["Properties"].get("ManagedPolicyArns", []) for lid, r in translated["Resources"].items()
             if r["Type"] == "AWS::IAM::Role"}
    eni = {"Fn::If": ["InVpc", {"Fn::Sub": ENI}, {"Ref": "AWS::NoValue"}]}
    assert eni in roles["DeliverFunctionRole"] and eni in roles["SyncFunctionRole"]
    assert not any(eni in arns for lid, arns in roles.items() if lid not in ("DeliverFunctionRole",
                                                                               "SyncFunctionRole"))


def test_the_stack_wide_proxy_reaches_the_functions_and_the_egress_output_says_which_path() -> None:
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["HOOKLINE_PROXY"] == {"Ref": "EgressProxy"}
    assert TEMPLATE["Parameters"]["EgressProxy"]["Default"] == ""
    assert TEMPLATE["Outputs"]["Egress"]["Value"] == {"Fn::If": ["InVpc", "vpc", "direct"]}
