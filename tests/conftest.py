"""Shared fixtures: a Lambda-like context and a clean, offline AWS environment."""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class FakeLambdaContext:
    function_name: str = "hookline-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:hookline-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the functions' Powertools logger writes during the test, as its JSON lines."""
    from hookline.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    # Whatever level an earlier test left the logger at (LOG_LEVEL, a handler's own setup), INFO lines
    # are what these tests read: without this, their outcome depended on which tests ran before.
    level = logger._logger.level
    if logger._logger.getEffectiveLevel() > logging.INFO:
        logger._logger.setLevel(logging.INFO)
    logger._logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger._logger.removeHandler(handler)
        logger._logger.setLevel(level)


@pytest.fixture
def taken() -> Iterator[list[int]]:
    """Two loopback ports another program listens on (another `make dev`, say)."""
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        socks.append(s)
    yield [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS endpoint or pick up the developer's profile."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "HOOKLINE_CONFIG", "HOOKLINE_DEV_STATE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
