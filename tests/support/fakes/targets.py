"""ports.TargetSender: each message kept per destination name; answers from a script (200 by default), as
adapters.aws.targets.AwsTargets answers (its AWS errors are covered with botocore's Stubber,
tests/unit/adapters/test_aws_targets.py, and on moto, tests/integration/test_aws_targets.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hookline.core.outcomes import HttpResult
from hookline.core.targets import TargetMessage


class FakeTargets:
    def __init__(self, answers: list[HttpResult | int] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.sent: dict[str, list[TargetMessage]] = {}
        self.answers = list(answers or [])
        self.clock = clock
        self.lock = threading.Lock()

    def send(self, dest: Any, message: TargetMessage, *, name: str) -> HttpResult:
        with self.lock:
            self.sent.setdefault(name, []).append(message)
            answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, HttpResult):
            return answer
        return HttpResult(started_at=self.clock(), latency_ms=1.0, status_code=answer, requests_made=1)
