"""Errors that cross module boundaries. Messages are safe to show a user: never a secret."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration file: where, what, and how to fix it."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path or '<file>'}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class ConfigError(Exception):
    """The configuration file is invalid; `problems` lists every reason."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{len(problems)} problem(s){where}:\n" + "\n".join(f"  - {p}" for p in problems))


class SecretResolutionError(Exception):
    """A secret reference could not be resolved (names the reference, never the value).

    `permanent`: retrying cannot help (an environment variable is fixed for the process's life).
    """

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EventInFlight(Exception):
    """Another copy of this event is being recorded or released right now: the sender should come back
    (ports.EventLogEntries.claim raises it; ingress answers 503)."""


class QueueUnavailable(Exception):
    """A delivery queue refused or could not take a message: nothing may be reported as queued."""


class PayloadMissing(Exception):
    """The payload store holds no body under the key (expired or deleted): retrying cannot bring it back
    (ports.PayloadStore.get raises it; delivery dead-letters the task as payload_missing)."""


class StoreUnavailable(Exception):
    """An AWS store refused a request or could not be reached; the message names the request and AWS's
    error code (never a body or a secret). Retrying may help."""
