"""What `hookline sync run` and `hookline reconcile run` share: the configuration they run, the run state
store, the progress bar, and the services of the running `hookline dev` for a run in this process."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hookline.commands._ops import CommandError
from hookline.operations.stack import StackInfo


def job_config(args: argparse.Namespace, stack: StackInfo | None) -> tuple[Any, Path]:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.errors import ConfigError
    from hookline.validation import load_config

    path = stack.config_file(args.config) if stack else Path(args.config or os.environ.get("HOOKLINE_CONFIG")
                                                             or "hookline.yaml")
    try:
        return load_config(path), Path(path)
    except ConfigError as e:
        raise CommandError(f"{path}: {len(e.problems)} problem(s); run `hookline validate --config {path}`") from None


def sync_store(stack: StackInfo) -> Any:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.adapters.aws.sync_state import SyncStore

    return SyncStore(stack.resource("dynamodb").Table(stack.output("EventsTableName")))


def progress() -> Any:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def services_beside_dev(stack: StackInfo, cfg: Any, path: Path) -> Any:
    """The services a run in this process uses, on the running `hookline dev`'s emulator, with its env file
    (what the dev scheduler's tick would run)."""
    env_file = stack.extra.get("env_file")
    if env_file:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.envfile import load_env_file

        load_env_file(Path(env_file))
    log_beside_dev(stack)
    os.environ["AWS_ENDPOINT_URL"] = stack.endpoint_url or ""
    os.environ.setdefault("AWS_DEFAULT_REGION", stack.region or "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "hookline-dev")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "hookline-dev")
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.settings import Settings
    from hookline.wiring import Services

    settings = Settings(hookline_config=path, events_table=stack.output("EventsTableName"),
                        delivery_queue_url=stack.output("DeliveryQueueUrl"),
                        ordered_queue_url=stack.output("OrderedDeliveryQueueUrl"),
                        payload_bucket=stack.output("PayloadBucketName"))
    return Services(settings, config=cfg)


def log_beside_dev(stack: StackInfo) -> None:
    """The run's JSON log lines (Powertools, as the sync function writes them) join the dev's log file, so
    stdout carries only the summary (or the --json document); without one they go to stderr."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.local.devlog import open_log, powertools_to

    log_file = stack.extra.get("log_file")
    try:
        powertools_to(open_log(Path(log_file), fresh=False) if log_file else sys.stderr)
    except OSError:
        powertools_to(sys.stderr)
