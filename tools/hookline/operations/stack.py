"""Where the CLI finds the stack's resources: a running `hookline dev`, or a deployed stack's outputs.

`hookline dev` writes `.hookline/dev.json` (endpoint + outputs) in its working directory;
the other commands read it when present, unless --stack is given. Otherwise the outputs of
the CloudFormation stack (default name from samconfig.toml: "hookline") are used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

DEV_STATE = Path(".hookline") / "dev.json"
DEFAULT_STACK = "hookline"


class StackNotFound(Exception):
    pass


@dataclass
class StackInfo:
    outputs: dict[str, str]
    endpoint_url: str | None = None
    region: str | None = None
    origin: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    local: bool = False

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"endpoint_url": self.endpoint_url, "region_name": self.region}
        if self.local:
            # The emulator accepts any credentials; a second shell should not need an AWS profile.
            kwargs |= {"aws_access_key_id": "hookline-dev", "aws_secret_access_key": "hookline-dev"}  # nosec B105
        return kwargs

    def client(self, service: str) -> Any:
        return boto3.client(service, **self._kwargs())

    def resource(self, service: str) -> Any:
        return boto3.resource(service, **self._kwargs())

    def config_file(self, explicit: str | Path | None = None) -> Path:
        """The hookline.yaml an operator command reads: --config, else (on the local stack) the one the running
        `hookline dev` runs, else $HOOKLINE_CONFIG, else ./hookline.yaml. Every command reads it in this order."""
        running = self.extra.get("config") if self.local else None
        return Path(explicit or running or os.environ.get("HOOKLINE_CONFIG") or "hookline.yaml")

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackNotFound(f"the stack ({self.origin}) has no output {key!r}; redeploy with the current "
                                "template.yaml") from None


def dev_state_path() -> Path:
    """Where `hookline dev` keeps its state: HOOKLINE_DEV_STATE, else .hookline/dev.json here."""
    return Path(os.environ.get("HOOKLINE_DEV_STATE", DEV_STATE))


def read_dev_state(path: Path | None = None) -> dict[str, Any]:
    """The running `hookline dev`'s state, or {} when there is none (or it cannot be read)."""
    try:
        return dict(json.loads((path or dev_state_path()).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def write_dev_state(outputs: dict[str, str], endpoint_url: str, region: str, **extra: Any) -> Path:
    path = dev_state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"outputs": outputs, "endpoint_url": endpoint_url, "region": region,
                                **extra}, indent=2))
    return path


def resolve_stack(stack_name: str | None = None, state_file: Path | None = None) -> StackInfo:
    state = state_file or dev_state_path()
    if stack_name is None and state.exists():
        data = json.loads(state.read_text())
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or data["endpoint_url"]
        return StackInfo(outputs=data["outputs"], endpoint_url=endpoint, region=data.get("region"),
                         origin=f"hookline dev, {state}", extra=data, local=True)
    name = stack_name or os.environ.get("HOOKLINE_STACK", DEFAULT_STACK)
    cfn = boto3.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception as e:
        raise StackNotFound(
            f"no running `hookline dev` ({state} not found) and stack {name!r} could not be read: {e}. "
            "Start `hookline dev`, or pass --stack NAME with AWS credentials for the account") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return StackInfo(outputs=outputs, origin=f"stack {name}")
