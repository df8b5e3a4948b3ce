"""The AWS managed policies a deployed template's roles name, attached in moto as AWS would.

moto's CloudFormation creates a role's inline policies and ignores its `ManagedPolicyArns`, so
an IAM-enforced local stack would deny what AWS grants through them (and a test could never see
a managed policy granting too much). `attach` gives each role the documents vendored in
managed_policies/ (see its README), as customer managed policies of the same name under the
path /aws-managed/.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

VENDORED = Path(__file__).with_name("managed_policies")
PATH = "/aws-managed/"


class UnknownManagedPolicy(Exception):
    pass


@cache
def document(name: str) -> dict[str, Any]:
    """The vendored document of the AWS managed policy `name` (e.g. AWSXrayWriteOnlyAccess)."""
    path = VENDORED / f"{name}.json"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in VENDORED.glob("*.json")))
        raise UnknownManagedPolicy(
            f"the template attaches the AWS managed policy {name}, which has no vendored document in {VENDORED} "
            f"(have: {have}): add its default version there, as its README says, so the local stack grants it")
    return dict(json.loads(path.read_text(encoding="utf-8"))["Document"])


def policy_name(arn: Any) -> str:
    """`arn:${AWS::Partition}:iam::aws:policy/service-role/X` (a string or its Fn::Sub) -> X."""
    text = arn.get("Fn::Sub") if isinstance(arn, Mapping) else arn
    if not isinstance(text, str) or ":iam::aws:policy/" not in text:
        raise UnknownManagedPolicy(f"cannot read the managed policy ARN {arn!r}: write it as a string or an "
                                   "Fn::Sub of arn:${AWS::Partition}:iam::aws:policy/NAME")
    return text.rsplit("/", 1)[-1]


def managed_policies(transformed: Mapping[str, Any]) -> dict[str, list[str]]:
    """Role logical id -> the AWS managed policy names it attaches."""
    out = {}
    for lid, resource in (transformed.get("Resources") or {}).items():
        if resource.get("Type") == "AWS::IAM::Role":
            arns = (resource.get("Properties") or {}).get("ManagedPolicyArns") or []
            # An `!If [Cond, ARN, !Ref AWS::NoValue]` entry (the VPC ENI policy, InVpc) is left out: the local
            # stack never runs its functions in a VPC, so the condition is false there.
            out[lid] = [policy_name(a) for a in arns if not (isinstance(a, Mapping) and "Fn::If" in a)]
    return out


def attach(iam: Any, transformed: Mapping[str, Any], roles: Mapping[str, str], account_id: str) -> None:
    """Attach each role's managed policies; `roles` maps role logical ids to deployed role names."""
    for lid, names in managed_policies(transformed).items():
        if lid not in roles:
            continue  # its Condition is false
        for name in names:
            arn = f"arn:aws:iam::{account_id}:policy{PATH}{name}"
            try:
                iam.create_policy(PolicyName=name, Path=PATH, PolicyDocument=json.dumps(document(name)),
                                  Description=f"vendored copy of the AWS managed policy {name}")
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "EntityAlreadyExists":  # another stack made it
                    raise
            iam.attach_role_policy(RoleName=roles[lid], PolicyArn=arn)
