"""template.yaml -> what `sam deploy` creates, deployed into moto.

The libraries do the work: the SAM translator (`samtranslator`, the library `sam` itself
runs) expands the template into plain CloudFormation, and moto's CloudFormation
`create_stack` builds it: tables, queues, bucket, topic, IAM roles with the expanded
policies, Lambda functions and layer, with every reference resolved by moto. What is left
here is what no library does:

- reading the template's YAML with CloudFormation's short-form tags (`load_template`);
- giving the translator S3 URIs for the local CodeUri / ContentUri folders (`transform`);
  the S3 key *is* the folder, so the deployed function still says where its code is;
- leaving out what moto cannot or must not run (`deployable`): API Gateway v2, Scheduler
  schedules, alarms and the bucket policy are not supported by moto's CloudFormation, and
  an event source mapping makes moto try to invoke the function in Docker on every
  message (bumping the receive count). The local gateway, clock and poller play their
  part, reading them from the transformed template;
- attaching the roles' AWS managed policies, which moto's CloudFormation ignores (vendored
  documents: local/iam_policies.py), so an IAM-enforced stack grants what AWS would;
- `LocalStack`: the deployed stack's resources, outputs and parameters (from the
  CloudFormation API) joined with the transformed template, as the functions, routes,
  queues and schedules `hookline dev` and the tests wire up.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

from hookline.local import iam_policies, moto_fixes

__all__ = [
    "CODE_BUCKET",
    "CfnError",
    "CfnLoader",
    "EventSpec",
    "FunctionSpec",
    "LocalResource",
    "LocalStack",
    "Resources",
    "check_parameters",
    "deploy",
    "deployable",
    "load_template",
    "loads_template",
    "read_deployed",
    "transform",
]

CODE_BUCKET = "hookline-local-artifacts"  # what `sam package` would upload to; the key is the local folder
# moto's CloudFormation cannot create these (skips them with a warning) or must not (event source mappings).
NOT_DEPLOYED = frozenset({
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::Scheduler::Schedule",
    "AWS::CloudWatch::Alarm", "AWS::S3::BucketPolicy", "AWS::Lambda::EventSourceMapping",
    # The event archive's stream, catalog and workgroup: `hookline dev` makes the stream itself
    # (local/archive.py) and searches with DuckDB instead of Athena.
    "AWS::KinesisFirehose::DeliveryStream", "AWS::Glue::Database", "AWS::Glue::Table", "AWS::Athena::WorkGroup",
})
Client = Callable[[str], Any]  # service name -> boto3 client


class CfnError(Exception):
    """The template (or a parameter override) cannot be deployed locally."""


# --------------------------------------------------------------------------- loading

_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{name: f"Fn::{name}" for name in (
        "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
        "FindInMap", "GetAZs", "Base64", "ImportValue", "Cidr", "Transform", "Length",
        "ToJsonString",
    )},
}


class CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when installed: many times faster) that understands CloudFormation's
    short-form tags.

    Dates stay strings (CloudFormation has no timestamp type: `Version: 2012-10-17`
    must not become a `datetime.date`).
    """


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _TAGS.get(suffix)
    if key is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown CloudFormation tag !{suffix}", node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text (YAML or JSON) into plain dicts with long-form intrinsics."""
    data = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader # nosec B506
    if not isinstance(data, dict):
        raise CfnError("a template must be a mapping at the top level")
    return data


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a CloudFormation / SAM template file."""
    return loads_template(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- SAM -> CloudFormation

_LOCAL_URIS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def transform(template: Mapping[str, Any], *, region: str, iam: Any = None,
              parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The template as `sam deploy` hands it to CloudFormation, expanded by the SAM translator.

    Local CodeUri / ContentUri folders become `s3://CODE_BUCKET/<folder>` (as `sam validate`
    does; the translator accepts nothing else). `iam` (a boto3 IAM client) resolves managed
    policy names missing from the translator's bundled list.
    """
    # lazy: the SAM translator (~1.1 s) loads only when a template is transformed.
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(dict(template))
    globals_function = (sam.get("Globals") or {}).get("Function") or {}
    for resource in (sam.get("Resources") or {}).values():
        key = _LOCAL_URIS.get((resource or {}).get("Type", ""))
        props = (resource or {}).get("Properties") or {}
        uri = props.get(key) if key else None
        if key == "CodeUri" and uri is None:
            uri = globals_function.get("CodeUri", ".")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            props[key] = f"s3://{CODE_BUCKET}/{Path(uri).as_posix().strip('/') or '.'}"
            resource["Properties"] = props
    ArnGenerator.BOTO_SESSION_REGION_NAME = region
    # As `sam validate` drives it (samcli SamTemplateValidator): the session only gives the region.
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    loader = ManagedPolicyLoader(iam)
    try:
        return translator.translate(sam, parameter_values=dict(parameters or {}), get_managed_policy_map=loader.load)
    except InvalidDocumentException as e:
        causes = "; ".join(str(c) for c in e.causes) or str(e)
        raise CfnError(f"the SAM translator rejects the template: {causes}") from None


def deployable(transformed: Mapping[str, Any], stand_ins: Mapping[str, str]) -> dict[str, Any]:
    """`transformed` minus the NOT_DEPLOYED resources, ready for moto's `create_stack`.

    A `Ref` to a left-out resource (the API id in the dashboard and the invoke permission)
    resolves to its stand-in: each left-out resource becomes a parameter of that name whose
    default is `stand_ins[logical id]`, else the logical id. `GetAtt` of one has no local value.
    """
    out = copy.deepcopy(dict(transformed))
    resources = out.get("Resources") or {}
    dropped = {lid for lid, r in resources.items() if r.get("Type") in NOT_DEPLOYED}
    for lid in dropped:
        del resources[lid]
    for lid, resource in resources.items():
        for name in _get_att_targets(resource) & dropped:
            raise CfnError(f"{lid} uses an attribute of {name} ({transformed['Resources'][name]['Type']}), "
                           "which moto cannot create")
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
            resource["DependsOn"] = kept
            if not kept:
                del resource["DependsOn"]
    parameters = out.setdefault("Parameters", {})
    for lid in sorted(dropped):
        parameters[lid] = {"Type": "String", "Default": stand_ins.get(lid, lid),
                           "Description": f"local stand-in for {transformed['Resources'][lid]['Type']} {lid}"}
    return out


def _get_att_targets(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Fn::GetAtt":
                found.add((arg.split(".", 1) if isinstance(arg, str) else arg)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+\.[^}]+)\}", text)}
                found |= _get_att_targets(arg if isinstance(arg, str) else arg[1])
            else:
                found |= _get_att_targets(arg)
    elif isinstance(value, list):
        for item in value:
            found |= _get_att_targets(item)
    return found


@functools.lru_cache(maxsize=32)
def _zip(folder: Path, _newest: float) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            if "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _upload_code(s3: Any, transformed: Mapping[str, Any], base: Path) -> None:
    """Zip each function / layer folder into CODE_BUCKET, as `sam package` would (moto reads the object)."""
    s3.create_bucket(Bucket=CODE_BUCKET)
    keys = set()
    for resource in (transformed.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        location = props.get("Code") or props.get("Content")
        if isinstance(location, Mapping) and location.get("S3Bucket") == CODE_BUCKET:
            keys.add(location["S3Key"])
    for key in sorted(keys):
        folder = base / key
        newest = max((p.stat().st_mtime for p in folder.rglob("*.py")), default=0.0) if folder.is_dir() else 0.0
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=_zip(folder, newest))


def check_parameters(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> None:
    """What CloudFormation checks before it creates a stack and moto does not: names, AllowedValues,
    AllowedPattern, MinValue / MaxValue."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise CfnError(f"unknown template parameter(s): {', '.join(unknown)}")
    for name, value in overrides.items():
        spec = declared[name] or {}
        allowed = [str(a) for a in spec.get("AllowedValues") or []]
        if allowed and value not in allowed:
            raise CfnError(f"parameter {name}: {value!r} is not one of {allowed}")
        if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
            raise CfnError(f"parameter {name}: {value!r} does not match {spec['AllowedPattern']}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise CfnError(f"parameter {name}: {value!r} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise CfnError(f"parameter {name}: {value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise CfnError(f"parameter {name}: {value} is above MaxValue {spec['MaxValue']}")


_transform_cache: dict[tuple[Any, ...], dict[str, Any]] = {}


def _transformed(path: Path, mtime: float, region: str, parameters: tuple[tuple[str, str], ...],
                 client: Client) -> dict[str, Any]:
    """transform(), remembered per template file version (the tests deploy the same template hundreds of times)."""
    key = (path, mtime, region, parameters)
    if key not in _transform_cache:
        _transform_cache[key] = transform(load_template(path), region=region, iam=client("iam"),
                                          parameters=dict(parameters))
    return copy.deepcopy(_transform_cache[key])


def deploy(client: Client, template_file: str | Path, *, stack_name: str, region: str,
           parameters: Mapping[str, Any] | None = None, stand_ins: Mapping[str, str] | None = None) -> LocalStack:
    """Transform template_file, upload its code folders and `create_stack` it through `client`'s endpoint."""
    moto_fixes.install()  # an in-process moto needs its CloudFormation fixes (AWS::NoValue) too; idempotent
    template_file = Path(template_file)
    parameters = {k: str(v) for k, v in (parameters or {}).items()}
    template = load_template(template_file)
    check_parameters(template.get("Parameters") or {}, parameters)
    transformed = _transformed(template_file.resolve(), template_file.stat().st_mtime, region,
                               tuple(sorted(parameters.items())), client)
    try:  # before anything is created: a managed policy without a vendored document is named now
        for names in iam_policies.managed_policies(transformed).values():
            for name in names:
                iam_policies.document(name)
    except iam_policies.UnknownManagedPolicy as e:
        raise CfnError(str(e)) from None
    _upload_code(client("s3"), transformed, template_file.parent)
    cloudformation = client("cloudformation")
    try:
        cloudformation.create_stack(
            StackName=stack_name, TemplateBody=json.dumps(deployable(transformed, stand_ins or {})),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    except ClientError as e:
        raise CfnError(f"create_stack {stack_name}: {e.response.get('Error', {}).get('Message', e)}") from None
    status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if status["StackStatus"] != "CREATE_COMPLETE":
        raise CfnError(f"stack {stack_name}: {status['StackStatus']} {status.get('StackStatusReason', '')}")
    stack = LocalStack.read(client, stack_name, transformed, template_file.parent, region=region)
    roles = {lid: r.physical_id for lid, r in stack.resources.items() if r.type == "AWS::IAM::Role"}
    iam_policies.attach(client("iam"), transformed, roles, stack.account_id)
    return stack


def read_deployed(client: Client, template_file: str | Path, *, stack_name: str, region: str) -> LocalStack:
    """The LocalStack of a stack `deploy` created earlier, transformed again with the parameters it was created with."""
    template_file = Path(template_file)
    described = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    declared = load_template(template_file).get("Parameters") or {}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters") or []
                  if p["ParameterKey"] in declared}
    transformed = transform(load_template(template_file), region=region, iam=client("iam"), parameters=parameters)
    return LocalStack.read(client, stack_name, transformed, template_file.parent, region=region)


# --------------------------------------------------------------------------- the deployed stack


@dataclass(frozen=True)
class LocalResource:
    """One deployed resource: `ref` is what `Ref` returns (CloudFormation's physical id)."""

    logical_id: str
    type: str
    physical_id: str  # the name: queue name, table name, bucket name, function name, ...
    ref: str  # queue URL, table name, bucket name, topic ARN, ...
    arn: str
    url: str | None = None  # queues only

    @property
    def name(self) -> str:
        return self.physical_id

    def to_dict(self) -> dict[str, Any]:
        return {"logical_id": self.logical_id, "type": self.type, "physical_id": self.physical_id,
                "ref": self.ref, "arn": self.arn, "url": self.url}


class Resources(Mapping[str, LocalResource]):
    """Logical id -> `LocalResource`, plus the stack name, region, account and parameter values."""

    def __init__(self, items: Mapping[str, LocalResource], *, stack_name: str, region: str, account_id: str,
                 parameters: Mapping[str, str]) -> None:
        self._items = dict(items)
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = dict(parameters)

    def __getitem__(self, logical_id: str) -> LocalResource:
        try:
            return self._items[logical_id]
        except KeyError:
            raise KeyError(f"{logical_id!r} is not in the stack (have: {', '.join(self._items)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the state file `hookline dev` writes for the CLI)."""
        return {"context": {"stack_name": self.stack_name, "region": self.region, "account_id": self.account_id},
                "parameters": self.parameters,
                "resources": {lid: r.to_dict() for lid, r in self._items.items()}}


def _arn(rtype: str, physical: str, region: str, account: str) -> tuple[str, str | None]:
    """(ARN, queue URL) from a physical id, for the types whose physical id is not an ARN."""
    if rtype == "AWS::SQS::Queue":
        return f"arn:aws:sqs:{region}:{account}:{physical.rsplit('/', 1)[-1]}", physical
    known = {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{physical}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{physical}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{physical}",
        "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{physical}",
    }
    return known.get(rtype, physical if physical.startswith("arn:") else ""), None


@dataclass(frozen=True)
class EventSpec:
    """One way a function is invoked, read from the transformed template's resources."""

    name: str  # the template's event name (SAM names the resource it generates <Function><Event>); routes: the API
    type: str  # HttpApi, SQS, ScheduleV2, Schedule
    properties: Mapping[str, Any] = field(default_factory=dict)  # as deployed, references resolved
    enabled: bool = True
    # HttpApi
    api: str | None = None
    path: str | None = None
    method: str | None = None  # upper case; "ANY" for any
    # SQS
    queue: str | None = None  # logical id of the queue (None for an external ARN)
    batch_size: int | None = None
    maximum_batching_window_seconds: int | None = None
    function_response_types: tuple[str, ...] = ()
    # Schedule / ScheduleV2
    schedule_expression: str | None = None
    input: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """A deployed `AWS::Lambda::Function` and the events that invoke it."""

    logical_id: str
    function_name: str
    code_uri: str  # the local folder (the code's S3 key)
    handler: str  # "app.handler"
    runtime: str | None
    timeout: int
    memory_size: int
    role_arn: str
    environment: Mapping[str, str]
    events: tuple[EventSpec, ...]

    def code_path(self, template_dir: str | Path) -> Path:
        return Path(template_dir) / self.code_uri


class LocalStack:
    """A deployed stack: its resources, outputs and parameters, and the transformed template."""

    def __init__(self, client: Client, stack_name: str, transformed: Mapping[str, Any], base: Path, *,
                 region: str, account_id: str, resources: Resources, outputs: Mapping[str, str]) -> None:
        self.client = client
        self.stack_name = stack_name
        self.transformed = transformed
        self.base = base
        self.region = region
        self.account_id = account_id
        self.resources = resources
        self.outputs = dict(outputs)

    @classmethod
    def read(cls, client: Client, stack_name: str, transformed: Mapping[str, Any], base: Path, *,
             region: str) -> LocalStack:
        """Read a stack created by `deploy` (or restored from a snapshot of the emulator)."""
        cloudformation = client("cloudformation")
        described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        account = described["StackId"].split(":")[4]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters") or []}
        declared = transformed.get("Parameters") or {}
        parameters = {k: v for k, v in parameters.items() if k in declared}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}
        items = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for summary in page["StackResourceSummaries"]:
                lid, rtype, physical = (summary["LogicalResourceId"], summary["ResourceType"],
                                        summary.get("PhysicalResourceId") or "")
                if not lid:
                    continue
                arn, url = _arn(rtype, physical, region, account)
                name = physical.rsplit("/", 1)[-1] if url else physical
                if rtype == "AWS::SNS::Topic":
                    name = physical.rsplit(":", 1)[-1]
                items[lid] = LocalResource(lid, rtype, name, physical, arn, url)
        resources = Resources(items, stack_name=stack_name, region=region, account_id=account, parameters=parameters)
        return cls(client, stack_name, transformed, base, region=region, account_id=account,
                   resources=resources, outputs=outputs)

    # -- values of the left-out resources' properties
    def _value(self, value: Any) -> Any:
        """Ref / GetAtt(Arn) / Sub of parameters, pseudo parameters and deployed resources."""
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                lid, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.resources[lid].arn if attribute == "Arn" and lid in self.resources else value
            if key == "Fn::Sub" and isinstance(arg, str):
                return re.sub(r"\$\{([^}!.]+)\}", lambda m: str(self._ref(m.group(1))), arg)
        return value

    def _ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account_id, "AWS::StackName": self.stack_name,
                  "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.resources.parameters:
            return self.resources.parameters[name]
        return self.resources[name].ref

    def _of_type(self, rtype: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for lid, resource in (self.transformed.get("Resources") or {}).items():
            if resource.get("Type") == rtype:
                yield lid, resource.get("Properties") or {}

    @staticmethod
    def _event_name(resource_id: str, function_id: str) -> str:
        rest = resource_id.removeprefix(function_id)
        return rest if rest and rest != resource_id else resource_id

    @staticmethod
    def _target(value: Any) -> str | None:
        """The logical id a GetAtt/Ref/Sub(`${Fn.Arn}`) names."""
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                return arg
            if key == "Fn::GetAtt":
                return (arg.split(".", 1) if isinstance(arg, str) else arg)[0]
            if key == "Fn::Sub":
                found = re.search(r"\$\{(\w+)\.Arn\}", arg if isinstance(arg, str) else arg[0])
                return found.group(1) if found else None
        return None

    # -- events, read from the transformed template
    def events(self) -> dict[str, list[EventSpec]]:
        """Function logical id -> the routes, queues and schedules that invoke it."""
        out: dict[str, list[EventSpec]] = {}
        for lid, props in self._of_type("AWS::ApiGatewayV2::Api"):
            for path, methods in ((props.get("Body") or {}).get("paths") or {}).items():
                for method, operation in methods.items():
                    integration = (operation or {}).get("x-amazon-apigateway-integration") or {}
                    fn = self._target(integration.get("uri"))
                    if fn:
                        verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                        out.setdefault(fn, []).append(EventSpec(
                            lid, "HttpApi", {"Path": path, "Method": verb}, api=lid, path=path, method=verb))
        for lid, props in self._of_type("AWS::Lambda::EventSourceMapping"):
            fn, source = self._target(props.get("FunctionName")), self._target(props.get("EventSourceArn"))
            if fn and source in self.resources and self.resources[source].type == "AWS::SQS::Queue":
                resolved = {k: self._value(v) for k, v in props.items()}
                enabled = str(resolved.get("Enabled", True)).lower() == "true"
                out.setdefault(fn, []).append(EventSpec(
                    self._event_name(lid, fn), "SQS", resolved, enabled=enabled,
                    queue=source, batch_size=int(resolved.get("BatchSize", 10)),
                    maximum_batching_window_seconds=int(resolved.get("MaximumBatchingWindowInSeconds", 0)),
                    function_response_types=tuple(resolved.get("FunctionResponseTypes") or ())))
        for lid, props in self._of_type("AWS::Scheduler::Schedule"):
            target = props.get("Target") or {}
            fn = self._target(target.get("Arn"))
            if fn:
                resolved = {k: self._value(v) for k, v in props.items() if k != "Target"}
                enabled = str(resolved.get("State", "ENABLED")).upper() == "ENABLED"
                out.setdefault(fn, []).append(EventSpec(
                    self._event_name(lid, fn), "ScheduleV2", resolved, enabled=enabled,
                    schedule_expression=resolved.get("ScheduleExpression"), input=self._value(target.get("Input"))))
        for lid, props in self._of_type("AWS::Events::Rule"):
            if "ScheduleExpression" not in props:
                continue
            resolved = {k: self._value(v) for k, v in props.items() if k != "Targets"}
            for target in props.get("Targets") or []:
                fn = self._target(target.get("Arn"))
                if fn:
                    out.setdefault(fn, []).append(EventSpec(
                        self._event_name(lid, fn), "Schedule", resolved,
                        enabled=str(resolved.get("State", "ENABLED")).upper() == "ENABLED",
                        schedule_expression=resolved["ScheduleExpression"], input=self._value(target.get("Input"))))
        return out

    def functions(self) -> list[FunctionSpec]:
        """Every deployed Lambda function, in template order, with its environment as deployed."""
        events = self.events()
        lambda_client = self.client("lambda")
        specs = []
        for lid, props in self._of_type("AWS::Lambda::Function"):
            if lid not in self.resources:
                continue  # its Condition is false
            config = lambda_client.get_function_configuration(FunctionName=self.resources[lid].physical_id)
            code = props.get("Code") or {}
            specs.append(FunctionSpec(
                logical_id=lid, function_name=config["FunctionName"],
                code_uri=code.get("S3Key", ".") if code.get("S3Bucket") == CODE_BUCKET else ".",
                handler=config.get("Handler", "app.handler"), runtime=config.get("Runtime"),
                timeout=int(config.get("Timeout", 3)), memory_size=int(config.get("MemorySize", 128)),
                role_arn=config["Role"],
                environment={k: str(v) for k, v in ((config.get("Environment") or {}).get("Variables") or {}).items()},
                events=tuple(events.get(lid, ())),
            ))
        return specs
