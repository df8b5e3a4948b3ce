"""CloudFormation-aware template reading and local provisioning.

One reader of template.yaml for `hookline dev` and the integration tests, so neither can
drift from what `sam deploy` creates:

- `load_template(path)` parses YAML with every CloudFormation short-form tag (`!Ref`,
  `!GetAtt`, `!Sub`, ...) turned into its long form (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`).
- `Provisioner(template, ...).provision()` creates every DynamoDB table, SQS queue, S3
  bucket and SNS topic from the template's own properties (intrinsics resolved locally)
  and returns `Resources`: logical id -> `LocalResource` (physical id, ARN, URL, GetAtt
  attributes). Other resource types (functions, roles, alarms, dashboards) are skipped.
- `functions(template)` describes each `AWS::Serverless::Function` (handler, timeout,
  events...) and `function_environment(...)` gives its environment with Globals merged
  and references resolved to the local resources.

Physical names are `{stack_name}-{LogicalId}` (made valid for the service) unless the
template names the resource itself, resolved with `AWS::StackName` = the provisioner's
stack name, so two provisioners with different stack names never collide.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "NO_VALUE",
    "PROVISIONED_TYPES",
    "CfnError",
    "CfnLoader",
    "Evaluator",
    "EventSpec",
    "FunctionSpec",
    "LocalResource",
    "Provisioner",
    "Resources",
    "StackContext",
    "UnresolvableError",
    "function_environment",
    "functions",
    "load_template",
    "loads_template",
    "parameter_values",
    "physical_name",
    "stack_outputs",
]

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_REGION = "us-east-1"

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
TOPIC = "AWS::SNS::Topic"
PROVISIONED_TYPES = (TABLE, QUEUE, BUCKET, TOPIC)
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class CfnError(Exception):
    """The template (or a parameter override) cannot be used locally."""


class UnresolvableError(CfnError):
    """An intrinsic function that has no local value (e.g. GetAtt of a resource not provisioned)."""


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


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form tags.

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


def _as_template(template: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    return template if isinstance(template, Mapping) else load_template(template)


# --------------------------------------------------------------------------- evaluation


class _NoValue:
    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()
"""What `Ref: AWS::NoValue` evaluates to; dropped from the dicts and lists that hold it."""


@dataclass(frozen=True)
class StackContext:
    """The pseudo parameters of a local stack."""

    stack_name: str
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def stack_id(self) -> str:
        return (f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
                f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000")


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each parameter's value as `Ref` returns it: override, else Default (strings; lists for list types).

    Overrides are checked like CloudFormation does (unknown names, AllowedValues,
    AllowedPattern, MinValue/MaxValue). A parameter with neither is left out; referencing
    it raises `UnresolvableError`.
    """
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise CfnError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            continue
        values[name] = _parameter_value(name, spec, raw)
    return values


def _scalar_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parameter_value(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    ptype = str(spec.get("Type", "String"))
    is_list = ptype == "CommaDelimitedList" or ptype.startswith("List<")
    if is_list:
        items = raw if isinstance(raw, list) else [p.strip() for p in str(raw).split(",")] if str(raw) else []
        value: Any = [_scalar_str(i) for i in items]
        checked = value
    else:
        value = _scalar_str(raw)
        checked = [value]
    allowed = spec.get("AllowedValues")
    pattern = spec.get("AllowedPattern")
    for item in checked:
        if allowed is not None and item not in [_scalar_str(a) for a in allowed]:
            raise CfnError(f"parameter {name}: {item!r} is not one of {allowed}")
        if pattern is not None and not re.fullmatch(str(pattern), item):
            raise CfnError(f"parameter {name}: {item!r} does not match {pattern}")
        if ptype in ("Number", "List<Number>"):
            try:
                number = float(item)
            except ValueError:
                raise CfnError(f"parameter {name}: {item!r} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise CfnError(f"parameter {name}: {item} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise CfnError(f"parameter {name}: {item} is above MaxValue {spec['MaxValue']}")
    return value


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class Evaluator:
    """Resolves intrinsic functions against a local stack.

    `Ref` to a resource gives its local `ref` when provisioned; for resource types that
    are never provisioned locally it gives the stand-in name `{stack_name}-{LogicalId}`
    when `placeholders` is true and raises `UnresolvableError` otherwise. `Fn::GetAtt`
    only works for provisioned resources.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        context: StackContext,
        parameters: Mapping[str, Any] | None = None,
        resources: Mapping[str, LocalResource] | None = None,
        placeholders: bool = True,
    ) -> None:
        self.template = template
        self.context = context
        self.parameters = parameter_values(template, parameters)
        self.resources: Mapping[str, LocalResource] = resources if resources is not None else {}
        self.placeholders = placeholders
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- conditions
    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        declared = self.template.get("Conditions") or {}
        if name not in declared:
            raise CfnError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise CfnError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            result = self._condition_expr(declared[name])
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = result
        return result

    def resource_enabled(self, logical_id: str) -> bool:
        resource = (self.template.get("Resources") or {}).get(logical_id) or {}
        name = resource.get("Condition")
        return True if name is None else self.condition(name)

    def _condition_expr(self, expr: Any) -> bool:
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, Mapping) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return _comparable(left) == _comparable(right)
            if key == "Fn::Not":
                return not self._condition_expr(arg[0])
            if key == "Fn::And":
                return all(self._condition_expr(a) for a in arg)
            if key == "Fn::Or":
                return any(self._condition_expr(a) for a in arg)
            if key == "Fn::If":
                return self._condition_expr(self.resolve(expr))
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        raise CfnError(f"not a condition: {expr!r}")

    # -- values
    def resolve(self, value: Any) -> Any:
        """Evaluate every intrinsic inside `value` (dicts and lists are copied)."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref":
                    return self.ref(self.resolve(arg) if not isinstance(arg, str) else arg)
                if isinstance(key, str) and key.startswith("Fn::"):
                    return self._function(key, arg)
            out = {}
            for k, v in value.items():
                resolved = self.resolve(v)
                if resolved is not NO_VALUE:
                    out[k] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        return value

    def ref(self, name: str) -> Any:
        ctx = self.context
        pseudo = {
            "AWS::Region": ctx.region,
            "AWS::AccountId": ctx.account_id,
            "AWS::StackName": ctx.stack_name,
            "AWS::StackId": ctx.stack_id,
            "AWS::Partition": ctx.partition,
            "AWS::URLSuffix": ctx.url_suffix,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in (self.template.get("Parameters") or {}):
            raise UnresolvableError(f"parameter {name} has no Default and no override")
        if name in self.resources:
            return self.resources[name].ref
        declared = self.template.get("Resources") or {}
        if name in declared:
            if declared[name].get("Type") in PROVISIONED_TYPES or not self.placeholders:
                raise UnresolvableError(f"Ref {name}: resource is not provisioned")
            return physical_name(ctx.stack_name, name)
        raise CfnError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.resources.get(logical_id)
        if resource is None:
            if logical_id not in (self.template.get("Resources") or {}):
                raise CfnError(f"GetAtt of unknown resource {logical_id!r}")
            raise UnresolvableError(f"GetAtt {logical_id}.{attribute}: resource is not provisioned locally")
        try:
            return resource.attributes[attribute]
        except KeyError:
            raise UnresolvableError(
                f"GetAtt {logical_id}.{attribute}: no such attribute locally "
                f"(known: {', '.join(sorted(resource.attributes))})") from None

    def sub(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        variables = variables or {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name])
            elif "." in name and "::" not in name:
                resource, _, attribute = name.partition(".")
                value = self.get_att(resource, attribute)
            else:
                value = self.ref(name)
            if isinstance(value, (list, dict)) or value is NO_VALUE:
                raise CfnError(f"Fn::Sub: ${{{name}}} is not a string")
            return _scalar_str(value)

        return _SUB_VAR.sub(replace, text)

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            resource, attribute = arg[0], self.resolve(arg[1])
            return self.get_att(resource, str(attribute))
        if key == "Fn::Sub":
            if isinstance(arg, str):
                return self.sub(arg)
            text, variables = arg
            return self.sub(text, variables)
        if key == "Fn::Join":
            delimiter, items = arg
            items = self.resolve(items)
            return str(delimiter).join(_scalar_str(i) for i in items)
        if key == "Fn::Select":
            index, items = self.resolve(arg[0]), self.resolve(arg[1])
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, text = arg
            return str(self.resolve(text)).split(str(delimiter))
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self.condition(name) else when_false)
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self._condition_expr({key: arg})
        if key == "Fn::FindInMap":
            map_name, top, second = (self.resolve(a) for a in arg[:3])
            try:
                return self.resolve(self.template["Mappings"][map_name][top][second])
            except KeyError:
                if len(arg) > 3 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                    return self.resolve(arg[3]["DefaultValue"])
                raise CfnError(f"Fn::FindInMap: no {map_name}.{top}.{second}") from None
        if key == "Fn::GetAZs":
            region = self.resolve(arg) or self.context.region
            return [f"{region}{zone}" for zone in "abc"]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if key == "Fn::Length":
            return len(self.resolve(arg))
        raise UnresolvableError(f"{key} cannot be evaluated locally")


def _comparable(value: Any) -> Any:
    return _scalar_str(value) if isinstance(value, (str, int, float, bool)) else value


# --------------------------------------------------------------------------- local resources


@dataclass(frozen=True)
class LocalResource:
    """One provisioned resource. `ref` is what `Ref` returns, `attributes` what `GetAtt` does."""

    logical_id: str
    type: str
    physical_id: str  # the name: queue name, table name, bucket name, topic name
    ref: str  # queue URL, table name, bucket name, topic ARN
    arn: str
    url: str | None = None  # queues only
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.physical_id

    def to_dict(self) -> dict[str, Any]:
        return {"logical_id": self.logical_id, "type": self.type, "physical_id": self.physical_id,
                "ref": self.ref, "arn": self.arn, "url": self.url, "attributes": dict(self.attributes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalResource:
        return cls(logical_id=data["logical_id"], type=data["type"], physical_id=data["physical_id"],
                   ref=data["ref"], arn=data["arn"], url=data.get("url"),
                   attributes=dict(data.get("attributes") or {}))


class Resources(Mapping[str, LocalResource]):
    """Logical id -> `LocalResource`, plus the stack context and parameter values they came from."""

    def __init__(self, items: Mapping[str, LocalResource], *, context: StackContext,
                 parameters: Mapping[str, Any] | None = None) -> None:
        self._items = dict(items)
        self.context = context
        self.parameters: dict[str, Any] = dict(parameters or {})

    def __getitem__(self, logical_id: str) -> LocalResource:
        try:
            return self._items[logical_id]
        except KeyError:
            raise KeyError(f"{logical_id!r} was not provisioned (have: {', '.join(self._items)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Resources({self.context.stack_name!r}, {list(self._items)!r})"

    @property
    def stack_name(self) -> str:
        return self.context.stack_name

    @property
    def region(self) -> str:
        return self.context.region

    @property
    def account_id(self) -> str:
        return self.context.account_id

    def ref(self, logical_id: str) -> str:
        return self[logical_id].ref

    def get_att(self, logical_id: str, attribute: str) -> str:
        return self[logical_id].attributes[attribute]

    def of_type(self, resource_type: str) -> list[LocalResource]:
        return [r for r in self._items.values() if r.type == resource_type]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (e.g. the state file `hookline dev` writes for the CLI)."""
        ctx = self.context
        return {
            "context": {"stack_name": ctx.stack_name, "region": ctx.region, "account_id": ctx.account_id,
                        "partition": ctx.partition, "url_suffix": ctx.url_suffix},
            "parameters": self.parameters,
            "resources": {lid: r.to_dict() for lid, r in self._items.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resources:
        return cls({lid: LocalResource.from_dict(r) for lid, r in data["resources"].items()},
                   context=StackContext(**data["context"]), parameters=data.get("parameters"))


_NAME_PROPERTY = {TABLE: "TableName", QUEUE: "QueueName", BUCKET: "BucketName", TOPIC: "TopicName"}


def physical_name(stack_name: str, logical_id: str, resource_type: str | None = None, *,
                  fifo: bool = False) -> str:
    """The local name of an unnamed resource: `{stack_name}-{LogicalId}`, made valid for its service."""
    name = f"{stack_name}-{logical_id}"
    suffix = ".fifo" if fifo else ""
    if resource_type == BUCKET:
        name = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
        limit = 63
    elif resource_type in (QUEUE, TOPIC):
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", name)
        limit = (80 if resource_type == QUEUE else 256) - len(suffix)
    elif resource_type == TABLE:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        limit = 255
    else:
        limit = 255
    if len(name) > limit:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-.')}-{digest}"
    return name + suffix


# --------------------------------------------------------------------------- provisioning


def _references(value: Any) -> set[str]:
    """Names referenced by Ref / GetAtt / Sub anywhere inside `value`."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add((arg.split(".", 1) if isinstance(arg, str) else arg)[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for name in _SUB_VAR.findall(text):
                    if not name.startswith("!") and name not in variables:
                        found.add(name.split(".", 1)[0])
                found |= _references(variables)
                return found
        for v in value.values():
            found |= _references(v)
    elif isinstance(value, list):
        for v in value:
            found |= _references(v)
    return found


def _bool_str(value: Any) -> str:
    return "true" if str(value).lower() == "true" else "false"


class Provisioner:
    """Creates a template's tables, queues, buckets and topics against one AWS endpoint.

    Pass `clients` ({"sqs": ..., "dynamodb": ..., "s3": ..., "sns": ..., "sts": ...}) or a
    boto3 `session` and/or `endpoint_url` (e.g. a moto server); missing clients are made
    from the session (default: a new boto3 Session) with `region`.
    """

    def __init__(
        self,
        template: Mapping[str, Any] | str | Path,
        *,
        stack_name: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        session: Any | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
        clients: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = _as_template(template)
        self.stack_name = stack_name or f"hookline-{secrets.token_hex(4)}"
        self.overrides = dict(parameters or {})
        parameter_values(self.template, self.overrides)  # fail fast on bad overrides
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = dict(clients or {})
        self.region = region or (getattr(session, "region_name", None) if session else None) \
            or self._default_region()
        self._account_id = account_id
        self._created: dict[str, LocalResource] = {}

    # -- clients
    @staticmethod
    def _default_region() -> str:
        import boto3

        return boto3.session.Session().region_name or DEFAULT_REGION

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            session = self._session or boto3.session.Session()
            kwargs: dict[str, Any] = {"region_name": self.region}
            if self._endpoint_url:
                kwargs["endpoint_url"] = self._endpoint_url
            self._clients[service] = session.client(service, **kwargs)
        return self._clients[service]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    @property
    def context(self) -> StackContext:
        return StackContext(stack_name=self.stack_name, region=self.region, account_id=self.account_id)

    def evaluator(self, *, placeholders: bool = True) -> Evaluator:
        return Evaluator(self.template, context=self.context, parameters=self.overrides,
                         resources=self._created, placeholders=placeholders)

    # -- planning
    def plan(self) -> list[str]:
        """Logical ids that `provision()` creates, in creation order (dependencies first)."""
        declared: Mapping[str, Any] = self.template.get("Resources") or {}
        evaluator = Evaluator(self.template, context=StackContext(self.stack_name, self.region),
                              parameters=self.overrides)
        wanted = [lid for lid, res in declared.items()
                  if (res or {}).get("Type") in PROVISIONED_TYPES and evaluator.resource_enabled(lid)]
        wanted_set = set(wanted)
        deps: dict[str, set[str]] = {}
        for lid in wanted:
            res = declared[lid]
            depends_on = res.get("DependsOn") or []
            names = _references(res.get("Properties") or {}) | set(
                [depends_on] if isinstance(depends_on, str) else depends_on)
            deps[lid] = (names & wanted_set) - {lid}
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(wanted):
            ready = [lid for lid in wanted if lid not in done and deps[lid] <= done]
            if not ready:
                stuck = sorted(set(wanted) - done)
                raise CfnError(f"circular references between {', '.join(stuck)}")
            order.append(ready[0])
            done.add(ready[0])
        return order

    # -- provisioning
    def provision(self) -> Resources:
        """Create everything in `plan()` and return the local resources."""
        declared = self.template.get("Resources") or {}
        creators = {TABLE: self._create_table, QUEUE: self._create_queue,
                    BUCKET: self._create_bucket, TOPIC: self._create_topic}
        for lid in self.plan():
            if lid in self._created:
                continue
            res = declared[lid]
            props = self.evaluator(placeholders=True).resolve(res.get("Properties") or {})
            self._created[lid] = creators[res["Type"]](lid, props)
        return self.resources

    @property
    def resources(self) -> Resources:
        return Resources(self._created, context=self.context,
                         parameters=parameter_values(self.template, self.overrides))

    def _name(self, lid: str, rtype: str, props: Mapping[str, Any], fifo: bool = False) -> str:
        explicit = props.get(_NAME_PROPERTY[rtype])
        return str(explicit) if explicit else physical_name(self.stack_name, lid, rtype, fifo=fifo)

    def _create_table(self, lid: str, props: Mapping[str, Any]) -> LocalResource:
        ddb = self.client("dynamodb")
        name = self._name(lid, TABLE, props)
        billing = props.get("BillingMode", "PROVISIONED")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        gsis = []
        for index in props.get("GlobalSecondaryIndexes") or []:
            gsi = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
            if billing == "PROVISIONED":
                gsi["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
            gsis.append(gsi)
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        lsis = [{k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                for index in props.get("LocalSecondaryIndexes") or []]
        if lsis:
            kwargs["LocalSecondaryIndexes"] = lsis
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        sse = props.get("SSESpecification")
        if sse:
            spec: dict[str, Any] = {"Enabled": _bool_str(sse.get("SSEEnabled")) == "true"}
            if sse.get("SSEType"):
                spec["SSEType"] = sse["SSEType"]
            if sse.get("KMSMasterKeyId"):
                spec["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
            kwargs["SSESpecification"] = spec
        if props.get("Tags"):
            kwargs["Tags"] = props["Tags"]
        description = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _bool_str(ttl.get("Enabled")) == "true":
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and _bool_str(pitr.get("PointInTimeRecoveryEnabled")) == "true":
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
        arn = description["TableArn"]
        attributes = {"Arn": arn}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return LocalResource(lid, TABLE, physical_id=name, ref=name, arn=arn, attributes=attributes)

    _QUEUE_ATTRIBUTES = (
        "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope",
        "FifoThroughputLimit",
    )
    _QUEUE_FLAGS = ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled")

    def _create_queue(self, lid: str, props: Mapping[str, Any]) -> LocalResource:
        sqs = self.client("sqs")
        fifo = _bool_str(props.get("FifoQueue")) == "true"
        name = self._name(lid, QUEUE, props, fifo=fifo)
        attributes: dict[str, str] = {}
        for key in self._QUEUE_ATTRIBUTES:
            if key in props:
                attributes[key] = _scalar_str(props[key])
        for key in self._QUEUE_FLAGS:
            if key in props:
                attributes[key] = _bool_str(props[key])
        redrive = props.get("RedrivePolicy")
        if redrive:
            redrive = json.loads(redrive) if isinstance(redrive, str) else dict(redrive)
            if "maxReceiveCount" in redrive:
                redrive["maxReceiveCount"] = int(redrive["maxReceiveCount"])
            attributes["RedrivePolicy"] = json.dumps(redrive)
        allow = props.get("RedriveAllowPolicy")
        if allow:
            attributes["RedriveAllowPolicy"] = allow if isinstance(allow, str) else json.dumps(allow)
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: _scalar_str(t["Value"]) for t in props["Tags"]}
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return LocalResource(lid, QUEUE, physical_id=name, ref=url, arn=arn, url=url,
                             attributes={"Arn": arn, "QueueUrl": url, "QueueName": name})

    def _create_bucket(self, lid: str, props: Mapping[str, Any]) -> LocalResource:
        s3 = self.client("s3")
        name = self._name(lid, BUCKET, props)
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        if props.get("OwnershipControls"):
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        encryption = props.get("BucketEncryption")
        if encryption:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [_encryption_rule(rule) for rule in encryption["ServerSideEncryptionConfiguration"]]})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                k: _bool_str(v) == "true" for k, v in block.items()})
        versioning = props.get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        lifecycle = props.get("LifecycleConfiguration")
        if lifecycle and lifecycle.get("Rules"):
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]})
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
                {"Key": t["Key"], "Value": _scalar_str(t["Value"])} for t in props["Tags"]]})
        ctx = self.context
        arn = f"arn:{ctx.partition}:s3:::{name}"
        return LocalResource(lid, BUCKET, physical_id=name, ref=name, arn=arn, attributes={
            "Arn": arn,
            "DomainName": f"{name}.s3.{ctx.url_suffix}",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.{ctx.url_suffix}",
        })

    def _create_topic(self, lid: str, props: Mapping[str, Any]) -> LocalResource:
        sns = self.client("sns")
        fifo = _bool_str(props.get("FifoTopic")) == "true"
        name = self._name(lid, TOPIC, props, fifo=fifo)
        attributes: dict[str, str] = {}
        for key in ("DisplayName", "KmsMasterKeyId"):
            if props.get(key):
                attributes[key] = _scalar_str(props[key])
        for key in ("FifoTopic", "ContentBasedDeduplication"):
            if key in props:
                attributes[key] = _bool_str(props[key])
        kwargs: dict[str, Any] = {"Name": name, "Attributes": attributes}
        if props.get("Tags"):
            kwargs["Tags"] = [{"Key": t["Key"], "Value": _scalar_str(t["Value"])} for t in props["Tags"]]
        arn = sns.create_topic(**kwargs)["TopicArn"]
        return LocalResource(lid, TOPIC, physical_id=name, ref=arn, arn=arn,
                             attributes={"TopicArn": arn, "TopicName": name})

    # -- teardown
    def teardown(self) -> None:
        """Delete what `provision()` created (buckets are emptied first), newest first."""
        for lid in reversed(list(self._created)):
            res = self._created.pop(lid)
            try:
                if res.type == QUEUE:
                    self.client("sqs").delete_queue(QueueUrl=res.url)
                elif res.type == TABLE:
                    self.client("dynamodb").delete_table(TableName=res.physical_id)
                elif res.type == TOPIC:
                    self.client("sns").delete_topic(TopicArn=res.arn)
                elif res.type == BUCKET:
                    self._empty_bucket(res.physical_id)
                    self.client("s3").delete_bucket(Bucket=res.physical_id)
            except Exception as exc:  # already gone is fine; anything else is reported
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if "NotFound" not in code and "NonExistent" not in code and "NoSuch" not in code:
                    raise

    def _empty_bucket(self, bucket: str) -> None:
        s3 = self.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def _throughput(spec: Mapping[str, Any] | None) -> dict[str, int]:
    spec = spec or {}
    return {"ReadCapacityUnits": int(spec.get("ReadCapacityUnits", 1)),
            "WriteCapacityUnits": int(spec.get("WriteCapacityUnits", 1))}


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's ServerSideEncryptionRule -> the S3 API's (`Apply...` prefix)."""
    out: dict[str, Any] = {}
    if rule.get("ServerSideEncryptionByDefault"):
        out["ApplyServerSideEncryptionByDefault"] = dict(rule["ServerSideEncryptionByDefault"])
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = _bool_str(rule["BucketKeyEnabled"]) == "true"
    return out


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's (the parts that mean anything locally)."""
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if rule.get("Id"):
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    elif "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    return out


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class EventSpec:
    """One entry of a function's `Events`, with the fields the local runtime needs resolved."""

    name: str
    type: str  # HttpApi, Api, SQS, ScheduleV2, Schedule, ...
    properties: Mapping[str, Any]  # resolved where possible, else as written
    enabled: bool = True
    # HttpApi / Api
    api: str | None = None  # logical id of the API (ServerlessHttpApi / ServerlessRestApi when implicit)
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
    """An `AWS::Serverless::Function` with Globals applied."""

    logical_id: str
    code_uri: str
    handler: str  # "app.handler"
    runtime: str | None
    timeout: int
    memory_size: int
    architectures: tuple[str, ...]
    layers: tuple[str, ...]  # logical ids for !Ref'd layers, else the value as written
    events: tuple[EventSpec, ...]

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def code_path(self, template_dir: str | Path) -> Path:
        return Path(template_dir) / self.code_uri

    def events_of_type(self, *types: str) -> list[EventSpec]:
        return [e for e in self.events if e.type in types]


def _globals_function(template: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((template.get("Globals") or {}).get("Function")) or {}


def _logical_id(value: Any) -> str | None:
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return (arg.split(".", 1) if isinstance(arg, str) else arg)[0]
    return None


def _best_effort(evaluator: Evaluator, value: Any) -> Any:
    if isinstance(value, Mapping) and not (len(value) == 1 and _is_intrinsic_key(next(iter(value)))):
        out = {}
        for k, v in value.items():
            resolved = _best_effort(evaluator, v)
            if resolved is not NO_VALUE:
                out[k] = resolved
        return out
    if isinstance(value, list):
        return [r for r in (_best_effort(evaluator, v) for v in value) if r is not NO_VALUE]
    try:
        return evaluator.resolve(value)
    except CfnError:
        return value


def _is_intrinsic_key(key: Any) -> bool:
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def _event_spec(name: str, event: Mapping[str, Any], evaluator: Evaluator) -> EventSpec:
    etype = str(event.get("Type"))
    raw = event.get("Properties") or {}
    props = _best_effort(evaluator, raw)
    fields: dict[str, Any] = {}
    enabled = True
    if etype in ("HttpApi", "Api"):
        implicit = "ServerlessHttpApi" if etype == "HttpApi" else "ServerlessRestApi"
        fields["api"] = _logical_id(raw.get("ApiId" if etype == "HttpApi" else "RestApiId")) or implicit
        fields["path"] = props.get("Path")
        method = props.get("Method")
        fields["method"] = None if method is None else ("ANY" if str(method).lower() == "any" else
                                                        str(method).upper())
    elif etype == "SQS":
        fields["queue"] = _logical_id(raw.get("Queue"))
        fields["batch_size"] = int(props.get("BatchSize", 10))
        fields["maximum_batching_window_seconds"] = int(props.get("MaximumBatchingWindowInSeconds", 0))
        fields["function_response_types"] = tuple(props.get("FunctionResponseTypes") or ())
        enabled = _bool_str(props.get("Enabled", True)) == "true"
    elif etype in ("Schedule", "ScheduleV2"):
        fields["schedule_expression"] = props.get("ScheduleExpression" if etype == "ScheduleV2" else "Schedule")
        fields["input"] = props.get("Input")
        if "State" in props:
            enabled = str(props["State"]).upper() == "ENABLED"
        elif "Enabled" in props:
            enabled = _bool_str(props["Enabled"]) == "true"
    return EventSpec(name=name, type=etype, properties=props, enabled=enabled, **fields)


def functions(template: Mapping[str, Any] | str | Path, parameters: Mapping[str, Any] | None = None, *,
              stack_name: str = "hookline-local") -> list[FunctionSpec]:
    """Every `AWS::Serverless::Function` whose Condition holds, in template order."""
    template = _as_template(template)
    # No placeholders: a reference to another resource stays as written (e.g. {"Ref": "WebhookApi"}).
    evaluator = Evaluator(template, context=StackContext(stack_name), parameters=parameters,
                          placeholders=False)
    glob = _globals_function(template)
    specs = []
    for lid, res in (template.get("Resources") or {}).items():
        if (res or {}).get("Type") != SERVERLESS_FUNCTION or not evaluator.resource_enabled(lid):
            continue
        props = res.get("Properties") or {}

        def pick(key: str, default: Any, props: Mapping[str, Any] = props) -> Any:
            return evaluator.resolve(props[key] if key in props else glob.get(key, default))

        layers = [*(glob.get("Layers") or []), *(props.get("Layers") or [])]
        events = props.get("Events") or {}
        specs.append(FunctionSpec(
            logical_id=lid,
            code_uri=str(pick("CodeUri", ".")),
            handler=str(pick("Handler", "app.handler")),
            runtime=pick("Runtime", None),
            timeout=int(pick("Timeout", 3)),
            memory_size=int(pick("MemorySize", 128)),
            architectures=tuple(pick("Architectures", ["x86_64"])),
            layers=tuple(_logical_id(layer) or str(layer) for layer in layers),
            events=tuple(_event_spec(name, ev, evaluator) for name, ev in events.items()),
        ))
    return specs


def function_environment(
    template: Mapping[str, Any] | str | Path,
    logical_id: str,
    resources: Resources,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Globals.Function.Environment.Variables merged with the function's own, resolved locally.

    `parameters` defaults to the overrides the resources were provisioned with.
    """
    template = _as_template(template)
    declared = template.get("Resources") or {}
    if (declared.get(logical_id) or {}).get("Type") != SERVERLESS_FUNCTION:
        raise CfnError(f"{logical_id!r} is not an AWS::Serverless::Function in the template")
    props = declared[logical_id].get("Properties") or {}
    variables = {
        **(((_globals_function(template).get("Environment") or {}).get("Variables")) or {}),
        **(((props.get("Environment") or {}).get("Variables")) or {}),
    }
    evaluator = Evaluator(template, context=resources.context,
                          parameters=resources.parameters if parameters is None else parameters,
                          resources=resources)
    env = {}
    for name, value in variables.items():
        resolved = evaluator.resolve(value)
        if resolved is NO_VALUE:
            continue
        if isinstance(resolved, (list, dict)):
            raise CfnError(f"{logical_id}: environment variable {name} is not a string")
        env[name] = _scalar_str(resolved)
    return env


def stack_outputs(
    template: Mapping[str, Any] | str | Path,
    resources: Resources,
    parameters: Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The template's Outputs that have a local value (those naming only provisioned resources).

    Outputs about things that are not provisioned locally (the API URL, function names)
    are left out unless given in `overrides` (e.g. `hookline dev` supplies WebhookUrl).
    """
    template = _as_template(template)
    evaluator = Evaluator(template, context=resources.context,
                          parameters=resources.parameters if parameters is None else parameters,
                          resources=resources, placeholders=False)
    out: dict[str, str] = {}
    for key, output in (template.get("Outputs") or {}).items():
        condition = (output or {}).get("Condition")
        if condition is not None and not evaluator.condition(condition):
            continue
        try:
            value = evaluator.resolve(output.get("Value"))
        except UnresolvableError:
            continue
        out[key] = value if isinstance(value, str) else json.dumps(value)
    out.update(overrides or {})
    return out
