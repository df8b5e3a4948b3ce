"""What the handshakes and the alarm recipe need of template.yaml, read from the template as SAM expands it."""

from __future__ import annotations

from pathlib import Path

from hookline.local.cfn import load_template, transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
EXPANDED = transform(TEMPLATE, region="us-east-1")["Resources"]


def test_the_alarm_subscription_is_off_by_default_and_points_at_the_stacks_own_ingress() -> None:
    assert TEMPLATE["Parameters"]["AlarmSource"]["Default"] == ""
    assert TEMPLATE["Conditions"]["HasAlarmSource"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmSource"}, ""]}]}
    sub = EXPANDED["AlarmIngressSubscription"]
    assert sub["Condition"] == "HasAlarmSource"
    assert sub["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert sub["Properties"]["Protocol"] == "https"
    assert sub["Properties"]["Endpoint"] == {
        "Fn::Sub": "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/webhooks/${AlarmSource}"}
    # SNS confirms at once: the subscription waits for what answers it, resources SAM generates
    assert sub["DependsOn"] == ["WebhookApiApiGatewayDefaultStage", "IngressFunctionWebhookPermission"]
    assert {"WebhookApiApiGatewayDefaultStage", "IngressFunctionWebhookPermission"} <= set(EXPANDED)


def test_get_reaches_ingress_and_its_role_may_write_handshake_secrets_under_the_prefix_only() -> None:
    paths = EXPANDED["WebhookApi"]["Properties"]["Body"]["paths"]["/webhooks/{source}"]
    assert {"get", "post"} <= set(paths)
    statements = EXPANDED["IngressFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [put] = [s for s in statements if "ssm:PutParameter" in str(s["Action"])]
    assert put["Action"] == "ssm:PutParameter"
    assert put["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${SecretsPrefix}/*"}
