"""A Lambda-like invocation context for handlers run by `hookline dev`.

Carries what the Lambda runtime passes (function name and version, ARN, memory, request
id, log group and stream) and a deadline: `get_remaining_time_in_millis()` counts down
from the function's Timeout, as Powertools' batch processor and idempotency expect.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass
class LocalLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 3.0
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: object | None = None
    client_context: object | None = None
    tenant_id: str | None = None
    clock: object = time.monotonic
    started_at: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.started_at < 0:
            self.started_at = self.clock()  # type: ignore[operator]
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{day}/[{self.function_version}]{uuid.uuid4().hex}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def deadline(self) -> float:
        """The clock() value at which the invocation times out."""
        return self.started_at + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.deadline - self.clock()  # type: ignore[operator]
        return max(0, int(remaining * 1000))
