"""What `hookline sync` and `hookline reconcile` share: their `list` / `run` parsers, the configuration they
run, the run state store, the progress bar, a run in this process on the running `hookline dev`'s
services, and a run in the deployed sync function followed from its checkpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hookline.commands._ops import CommandError, add_stack_arg, emit_json, note, shorten
from hookline.operations.stack import StackInfo


def add_list_run_parsers(sub: argparse._SubParsersAction, command: str, summary: str, description: str, *,
                         list_help: str, list_config_help: str, run_help: str, target: tuple[str, str],
                         run_list: Callable[[argparse.Namespace], int],
                         run_one: Callable[[argparse.Namespace], int]) -> None:
    """`hookline COMMAND list` and `hookline COMMAND run TARGET`; `target` is the run argument's (name, help)."""
    p = sub.add_parser(command, help=summary, description=description)
    inner = p.add_subparsers(dest=f"{command}_command", metavar="list|run", required=True)
    ls = inner.add_parser("list", help=list_help)
    ls.add_argument("--config", default=None, help=list_config_help)
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    add_stack_arg(ls)
    ls.set_defaults(func=run_list)
    rn = inner.add_parser("run", help=run_help)
    rn.add_argument(target[0], help=target[1])
    rn.add_argument("--config", default=None, help="configuration file (local runs; default as for list)")
    rn.add_argument("--json", action="store_true", help="print the run's figures as JSON")
    add_stack_arg(rn)
    rn.set_defaults(func=run_one)


def running(state: dict[str, Any]) -> bool:
    """A run holds the lock now (the state item's lease is in the future)."""
    return float(state.get("lease_until") or 0) > time.time()


def status_cell(row: dict[str, Any]) -> str:
    """A `list` row's STATUS: the last run's, and whether it resumes and is running now."""
    return ((row["status"] or "never") + (" (resumes)" if row["resumes"] else "")
            + (" running" if row["running"] else ""))


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


def report_run(args: argparse.Namespace, run: dict[str, Any], summary: Callable[[dict[str, Any]], str]) -> int:
    """The run's figures (--json) or `summary(run)` and why it stopped; exit status 0 when it completed."""
    if args.json:
        emit_json(run)
    else:
        print(summary(run))
        if run.get("stop_reason") and run.get("status") != "completed":
            print(f"  stopped    {run['stop_reason']}")
        if run.get("error"):
            print(f"  error      {run['error']}")
    return 0 if run.get("status") == "completed" else 1


def run_here(label: str, describe: Callable[[Any], str], go: Callable[[Callable[[Any], None]], list[Any]]) -> Any:
    """`go(on_page)` in this process under a progress bar that shows `label: describe(run)` after each page;
    the first run it returns."""
    with progress() as bars:
        bar = bars.add_task(f"{label}: starting", total=None)

        def on_page(run: Any) -> None:
            bars.update(bar, description=f"{label}: {describe(run)}")

        return go(on_page)[0]


def run_deployed(stack: StackInfo, kind: str, name: str, event: dict[str, Any], runs_key: str,
                 follow: Callable[[], str | None]) -> dict[str, Any]:
    """Invoke the deployed sync function with `event`; meanwhile the bar shows `follow()` (the checkpoint, read
    once a second) when it says something. The first run of the answer's `runs_key`."""
    function = stack.output("SyncFunctionName")
    lam = stack.client("lambda")
    result: dict[str, Any] = {}

    def invoke() -> None:
        try:
            resp = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
            result["payload"] = json.loads(resp["Payload"].read() or b"{}")
            result["error"] = resp.get("FunctionError")
        except Exception as e:  # reported below, in the main thread
            result["exception"] = e

    worker = threading.Thread(target=invoke, daemon=True)
    worker.start()
    with progress() as bars:
        bar = bars.add_task(f"{kind} {name}: invoking {function}", total=None)
        while worker.is_alive():
            worker.join(1.0)
            if seen := follow():
                bars.update(bar, description=f"{kind} {name}: {seen}")
    if "exception" in result:
        raise result["exception"]
    payload = result.get("payload") or {}
    if result.get("error"):
        raise CommandError(f"{function} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
    runs = payload.get(runs_key) or []
    if not runs:
        note(f"{function} returned no run: {shorten(json.dumps(payload), 200)}")
        raise CommandError(f"{kind} {name!r} did not run (is it in the deployed configuration?)")
    return dict(runs[0])
