"""hookline.local.cfn without an endpoint: the template loader, the SAM transform and what is left out of moto.

Deploying into moto is in tests/integration/test_template.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hookline.local import cfn
from hookline.local.cfn import CfnError

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict:
    return cfn.load_template(TEMPLATE_PATH)


# --------------------------------------------------------------------------- loader


def test_every_short_form_tag_becomes_its_long_form() -> None:
    # Given a template using every short-form tag
    text = """
    A: !Ref Param
    B: !GetAtt Queue.Arn
    C: !GetAtt [Queue, QueueName]
    D: !Sub "${AWS::StackName}-x"
    E: !Sub ["${a}-${b}", {a: !Ref P1, b: lit}]
    F: !If [Cond, yes-value, !Ref AWS::NoValue]
    G: !Equals [!Ref P, ""]
    H: !Not [!Condition Other]
    I: !And [!Condition X, !Condition Y]
    J: !Or [!Condition X, !Condition Y]
    K: !Join [",", [a, b]]
    L: !Select [1, !Split [",", "a,b,c"]]
    M: !FindInMap [Map, Top, Second]
    N: !GetAZs ""
    O: !Base64 hello
    P: !ImportValue exported-name
    Q: !GetAtt Db.Endpoint.Address
    """
    # When it is loaded
    loaded = cfn.loads_template(text)
    # Then each tag is the long form CloudFormation defines
    assert loaded["A"] == {"Ref": "Param"}
    assert loaded["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert loaded["C"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert loaded["D"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert loaded["E"] == {"Fn::Sub": ["${a}-${b}", {"a": {"Ref": "P1"}, "b": "lit"}]}
    assert loaded["F"] == {"Fn::If": ["Cond", "yes-value", {"Ref": "AWS::NoValue"}]}
    assert loaded["G"] == {"Fn::Equals": [{"Ref": "P"}, ""]}
    assert loaded["H"] == {"Fn::Not": [{"Condition": "Other"}]}
    assert loaded["I"] == {"Fn::And": [{"Condition": "X"}, {"Condition": "Y"}]}
    assert loaded["J"] == {"Fn::Or": [{"Condition": "X"}, {"Condition": "Y"}]}
    assert loaded["K"] == {"Fn::Join": [",", ["a", "b"]]}
    assert loaded["L"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}
    assert loaded["M"] == {"Fn::FindInMap": ["Map", "Top", "Second"]}
    assert loaded["N"] == {"Fn::GetAZs": ""}
    assert loaded["O"] == {"Fn::Base64": "hello"}
    assert loaded["P"] == {"Fn::ImportValue": "exported-name"}
    assert loaded["Q"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}


def test_dates_stay_strings_and_long_forms_pass_through() -> None:
    loaded = cfn.loads_template('Version: 2012-10-17\nX: {"Fn::GetAtt": [Q, Arn]}\n')
    assert loaded == {"Version": "2012-10-17", "X": {"Fn::GetAtt": ["Q", "Arn"]}}
    # the loader does not leak into yaml.SafeLoader
    assert not isinstance(yaml.safe_load("d: 2012-10-17")["d"], str)


def test_unknown_tags_and_non_mapping_templates_are_errors() -> None:
    with pytest.raises(yaml.YAMLError, match="unknown CloudFormation tag !Bogus"):
        cfn.loads_template("A: !Bogus x\n")
    with pytest.raises(CfnError):
        cfn.loads_template("- a\n- b\n")


# --------------------------------------------------------------------------- transform


def test_the_translator_expands_the_template_with_code_folders_as_s3_keys(template: dict,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # the region is an argument, not the environment's
    transformed = cfn.transform(template, region="eu-west-1")
    resources = transformed["Resources"]
    assert "Transform" not in transformed
    assert resources["IngressFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["IngressFunction"]["Properties"]["Code"] == {"S3Bucket": cfn.CODE_BUCKET,
                                                                  "S3Key": "functions/ingress"}
    layer = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::LayerVersion")
    assert layer["Properties"]["Content"]["S3Key"] == "layers/hookline"
    assert resources["SyncFunctionRole"]["Type"] == "AWS::IAM::Role"
    assert resources["DeliverFunctionDeliveryQueueEvent"]["Type"] == "AWS::Lambda::EventSourceMapping"
    assert template["Resources"]["IngressFunction"]["Properties"]["CodeUri"] == "functions/ingress"  # not mutated


def test_what_moto_cannot_run_is_left_out_and_refs_to_it_get_a_stand_in(template: dict) -> None:
    transformed = cfn.transform(template, region="us-east-1")
    deployable = cfn.deployable(transformed, {"WebhookApi": "local-api"})
    kept = {r["Type"] for r in deployable["Resources"].values()}
    assert kept.isdisjoint(cfn.NOT_DEPLOYED)
    assert "AWS::Lambda::Function" in kept and "AWS::IAM::Role" in kept
    # the dashboard and the invoke permission Ref the API: it becomes a parameter with the stand-in value
    assert deployable["Parameters"]["WebhookApi"]["Default"] == "local-api"
    assert deployable["Parameters"]["DlqDepthAlarm"]["Default"] == "DlqDepthAlarm"


def test_an_attribute_of_a_left_out_resource_is_a_clear_error() -> None:
    transformed = {"Resources": {
        "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
        "Fn": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Fn::Sub": "${Api.ApiEndpoint}"}}},
    }}
    with pytest.raises(CfnError, match="Fn uses an attribute of Api"):
        cfn.deployable(transformed, {})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"Bogus": "1"}, "unknown template parameter"),
    ({"MaxReceiveCount": "1"}, "below MinValue 2"),
    ({"MaxReceiveCount": "many"}, "not a number"),
    ({"Stage": "Has_Upper"}, "does not match"),
    ({"SyncEnabled": "maybe"}, "is not one of"),
])
def test_parameter_overrides_are_checked_like_cloudformation_does(template: dict, overrides: dict,
                                                                   message: str) -> None:
    with pytest.raises(CfnError, match=message):
        cfn.check_parameters(template["Parameters"], overrides)
    cfn.check_parameters(template["Parameters"], {"MaxReceiveCount": "3", "Stage": "prod"})
