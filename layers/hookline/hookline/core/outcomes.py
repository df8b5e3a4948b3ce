"""What one delivery attempt means: delivered, retry later, or give up. Pure classification.

Per the delivery contract:

- 2xx: delivered.
- 408, 425, 429, 5xx, timeouts and connection errors: retried on the schedule.
- Any other 4xx: permanent, straight to the DLQ. 3xx is permanent too: redirects are not
  followed (a POST must not silently become a GET, nor credentials follow a redirect to
  another host), so a moved endpoint needs its URL updated in the configuration.
- Anything else a server might answer (1xx as a final status, 6xx and beyond): retried.

Dead-letter reasons (the `reason` DLQ message attribute, event-log field and the
`DeadLettered` metric's `reason` dimension) form a small closed vocabulary, `DLQ_REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# ---------------------------------------------------------------- dead-letter reasons

PERMANENT_HTTP = "permanent_http"        # the destination answered a status retrying cannot fix (4xx, 3xx)
RETRIES_EXHAUSTED = "retries_exhausted"  # the last scheduled retry failed too (5xx, 429, timeouts, ...)
MAPPING = "mapping"                      # the route's transform failed on this event (field, path, type named)
SCHEMA = "schema"                        # the body does not match the source's or route's JSON Schema
CONFIG = "config"                        # route/source/destination gone from the config, or request unbuildable
PAYLOAD_MISSING = "payload_missing"      # the S3 claim-check object is gone (expired or deleted)
PAYLOAD_INVALID = "payload_invalid"      # the stored body no longer parses with the source's format
INVALID_TASK = "invalid_task"            # the queue message is not a DeliveryTask (written by something else)
DESTINATION_DOWN = "destination_down"    # held by the circuit breaker longer than max_hold_seconds

DLQ_REASONS = (PERMANENT_HTTP, RETRIES_EXHAUSTED, MAPPING, SCHEMA, CONFIG, PAYLOAD_MISSING, PAYLOAD_INVALID,
               INVALID_TASK, DESTINATION_DOWN)

# ---------------------------------------------------------------- transport error kinds

TIMEOUT = "timeout"                  # connect or read timeout, or the invocation's time budget ran out
CONNECTION = "connection"            # refused, reset, DNS, TLS, broken response stream
INVALID_REQUEST = "invalid_request"  # the request cannot be built (bad URL, header value): a config problem
OAUTH = "oauth"                      # the OAuth2 token endpoint failed or answered without a token
SECRET = "secret"  # noqa: S105 -- an error kind: a secret reference could not be resolved # nosec B105

RETRYABLE_4XX = frozenset({408, 425, 429})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    # Why: for PERMANENT a DLQ reason (above); for RETRY a short category (`http_503`, `timeout`, ...).
    reason: str | None = None

    @property
    def delivered(self) -> bool:
        return self.verdict is Verdict.DELIVERED

    @property
    def retryable(self) -> bool:
        return self.verdict is Verdict.RETRY

    @property
    def permanent(self) -> bool:
        return self.verdict is Verdict.PERMANENT


DELIVERED = Outcome(Verdict.DELIVERED)


def classify_status(status_code: int) -> Outcome:
    """The meaning of an HTTP status answered by a destination."""
    if 200 <= status_code <= 299:
        return DELIVERED
    if status_code in RETRYABLE_4XX or 500 <= status_code <= 599:
        return Outcome(Verdict.RETRY, f"http_{status_code}")
    if 300 <= status_code <= 499:
        return Outcome(Verdict.PERMANENT, PERMANENT_HTTP)
    return Outcome(Verdict.RETRY, f"http_{status_code}")


def classify_error(kind: str) -> Outcome:
    """The meaning of an attempt that got no HTTP status (see the error kinds above)."""
    if kind == INVALID_REQUEST:
        return Outcome(Verdict.PERMANENT, CONFIG)
    return Outcome(Verdict.RETRY, kind)


def classify(status_code: int | None, error_kind: str | None = None) -> Outcome:
    """An attempt's outcome from its status code, or from its error kind when there was no response."""
    if status_code is not None:
        return classify_status(status_code)
    if error_kind is None:
        raise ValueError("an attempt has either a status code or an error kind")
    return classify_error(error_kind)


# ---------------------------------------------------------------- one attempt's result

MAX_ERROR_CHARS = 500


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())  # one line: DLQ attributes and log fields stay readable
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class HttpResult:
    """One delivery attempt (including an OAuth2 refresh-and-resend, which counts as one)."""

    started_at: float                 # wall clock, epoch seconds
    latency_ms: float                 # time spent in HTTP round trips to the destination
    status_code: int | None = None    # None: no response (see error_kind)
    error: str | None = None          # safe to log and store: no secrets, <= 500 chars
    error_kind: str | None = None     # TIMEOUT, CONNECTION, INVALID_REQUEST, OAUTH, SECRET
    retry_after: str | None = None    # the response's Retry-After header, verbatim
    requests_made: int = 0
    body: bytes | None = field(default=None, repr=False)  # the response, up to 64 KiB (enrichment reads it)

    @property
    def outcome(self) -> Outcome:
        return classify(self.status_code, self.error_kind)
