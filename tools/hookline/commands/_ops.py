"""Shared by the operations commands (dlq, events, report, map, validate): finding the stack and the
configuration, errors, tables, JSON."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from hookline.operations.stack import StackInfo, StackNotFound, read_dev_state, resolve_stack


def add_stack_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", metavar="NAME", default=None,
                   help="deployed stack to read (default: the running `hookline dev`, else $HOOKLINE_STACK "
                        "or 'hookline')")


def stack_for(args: argparse.Namespace) -> StackInfo:
    stack = resolve_stack(getattr(args, "stack", None))
    if stack.local:
        adopt_dev_environment(stack.extra)
    return stack


def adopt_dev_environment(state: dict[str, Any]) -> None:
    """The variables the running dev loaded its configuration with (the demo servers' ports, CRM_PORT and
    ORDERS_PORT), so that this command's copy of it names the same URLs (`${CRM_PORT:-8081}`)."""
    environment = state.get("environment")
    if isinstance(environment, dict):
        os.environ.update({str(k): str(v) for k, v in environment.items()})


CONFIG_RULE = "default: the running `hookline dev`'s, else $HOOKLINE_CONFIG, else ./hookline.yaml"


def config_path(explicit: str | Path | None, *, say: bool = True) -> Path:
    """The hookline.yaml a command reads, by the rule every command follows (as StackInfo.config_file for the
    stack-based ones): --config FILE, else the one the running `hookline dev` runs, else $HOOKLINE_CONFIG,
    else ./hookline.yaml. `say`: name the dev's file on stderr, since it is not the one in this directory."""
    if explicit:
        return Path(explicit)
    state = read_dev_state()
    running = state.get("config")
    if running:
        adopt_dev_environment(state)
        if say:
            note(f"config: {running} (the running `hookline dev`'s; --config FILE for another)")
        return Path(running)
    return Path(os.environ.get("HOOKLINE_CONFIG") or "hookline.yaml")


def header_line(text: str) -> tuple[str, str] | None:
    """A `Name: value` header from the command line, stripped; None when it has no name or no colon."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        return None
    return name.strip(), value.strip()


class CommandError(Exception):
    """An error the user can act on: printed to stderr, exit code 1."""


def friendly(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the expected failures (no stack, AWS unreachable or refusing) into one actionable line."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        try:
            return run(args)
        except (CommandError, StackNotFound) as e:
            return fail(str(e))
        except EndpointConnectionError as e:
            return fail(f"cannot reach {e.kwargs.get('endpoint_url', 'the AWS endpoint')}: is `hookline dev` "
                        "still running? (if not, delete .hookline/dev.json or pass --stack NAME)")
        except NoCredentialsError:
            return fail("no AWS credentials: set AWS_PROFILE (or run `aws configure`), or start `hookline dev`")
        except ClientError as e:
            err = e.response.get("Error", {})
            return fail(f"AWS refused {e.operation_name}: {err.get('Code')}: {err.get('Message')}")
        except BotoCoreError as e:
            return fail(f"AWS error: {e}")

    return wrapper


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def note(message: str) -> None:
    print(message, file=sys.stderr)


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """The only thing a --json command writes to stdout."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations.redaction import pretty_json

    # Depth-safe (json.dump recurses): `dlq show --json` prints bodies stored before ingress capped depth.
    (out or sys.stdout).write(pretty_json(value, ensure_ascii=True) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = (),
          out: TextIO | None = None) -> None:
    """Plain aligned columns (stable in pipes and logs); `right` = indexes of right-aligned columns."""
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for row in cells:
        parts = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        out.write("  ".join(parts).rstrip() + "\n")


def shorten(text: str | None, width: int = 60) -> str:
    if not text:
        return "-"
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"
