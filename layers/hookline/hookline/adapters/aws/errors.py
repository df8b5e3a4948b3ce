"""AWS's errors as core's: the capabilities catch core/errors.py's, so they import no botocore.

The translated error's text is AWS's code, operation and message: for an AccessDenied that message
names the action and the resource, which is the fix (the role lacks that permission on that resource).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

# What an adapter catches around a request: AWS refused it, or it never got an answer (a timeout,
# no endpoint, no credentials).
AWS_ERRORS = (ClientError, BotoCoreError)

P = ParamSpec("P")
R = TypeVar("R")


def describe(e: Exception) -> str:
    """`Code: Operation: Message` of a refusal; `Type: cause` of a request that got no answer."""
    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        return f"{error.get('Code')}: {e.operation_name}: {error.get('Message') or ''}".rstrip(": ")
    cause = e.__cause__ or (e.args[1] if len(e.args) > 1 and isinstance(e.args[1], Exception) else None)
    return f"{type(e).__name__}: {cause or e}"


def error_code(e: Exception) -> str:
    """AWS's error code ('' when the request got no answer)."""
    return str(e.response.get("Error", {}).get("Code", "")) if isinstance(e, ClientError) else ""


def translated(error: Callable[[str], Exception]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The adapter method raises `error(describe(e))` for an AWS error `e` (chained, for the traceback)."""
    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except AWS_ERRORS as e:
                raise error(describe(e)) from e
        return call
    return wrap
