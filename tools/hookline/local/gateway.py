"""API Gateway HTTP API (payload format 2.0) in front of local functions.

Routes come from the template's `HttpApi` events. Each request becomes the event API
Gateway would build (`hookline.local.apigw_events.http_api_event`), checked against
Powertools' `APIGatewayProxyEventV2Model`, and the handler's answer is turned back into
an HTTP response as API Gateway does. HTTP itself is served by waitress (keep-alive,
pipelining, chunked bodies, header and body limits); as a WSGI server it drops header names
containing `_` (WSGI cannot tell them from `-`) and joins repeated headers with ", " where
API Gateway uses ",". API Gateway's own answers are reproduced too:

| case | status, body |
|---|---|
| no route matches (method or path) | 404 `{"message":"Not Found"}` |
| request body over the HTTP API payload limit (10 MB) | 413 `{"message":"Request Entity Too Large"}` |
| malformed request (request line, chunking, Content-Length) | 400 `{"message":"Bad Request"}` |
| request line and headers over 256 KB (waitress's limit) | 431 `{"message":"Request Header Fields Too Large"}` |
| event over Lambda's synchronous invocation payload limit (6 MB) | 413 `{"message":"Request Entity Too Large"}` |
| no answer within the 30 s integration timeout | 503 `{"message":"Service Unavailable"}` (REST APIs: 504) |
| the function raised, timed out or returned a malformed response | 500 `{"message":"Internal Server Error"}` |
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import unquote

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from hookline.local.apigw_events import http_api_event
from hookline.local.runtime import LAMBDA_PAYLOAD_LIMIT
from hookline.local.shapes import shape_problem

API_PAYLOAD_LIMIT = 10 * 1024 * 1024  # HTTP API maximum request payload
INTEGRATION_TIMEOUT = 30.0  # HTTP API maximum integration timeout, seconds


class Invokable(Protocol):
    logical_id: str
    timeout: float

    def invoke(self, event: Any, *, wait_seconds: float | None = None) -> Any: ...


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    path: str  # "/webhooks/{source}", "/files/{proxy+}", or "$default"
    function: Invokable
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    params: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern, params = _compile(self.path)
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "params", params)

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key, most specific first: literal paths, then parameters, then greedy; exact methods before ANY."""
        if self.path == "$default":
            return (3, 0, 0, 1)
        greedy = int(any(p.endswith("+") for p in self.params))
        return (greedy, len(self.params), -self.path.count("/"), int(self.method == "ANY"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        m = self.pattern.fullmatch(path)
        if m is None:
            return None
        return {name.rstrip("+"): unquote(value) for name, value in zip(self.params, m.groups(), strict=True)}


def _compile(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    if path == "$default":
        return re.compile(r".*"), ()
    params: list[str] = []
    out = []
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            params.append(name)
            out.append("(.+)" if name.endswith("+") else "([^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out)), tuple(params)


@dataclass
class Exchange:
    """One request through the gateway: what came in, what went out (for the console)."""

    method: str
    path: str
    status: int
    body: bytes
    duration_ms: float
    route: Route | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    error: str = ""  # a function error, timeout or emulator problem


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _gateway_error(status: int, message: str, request_id: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return Response(status, [("Content-Type", "application/json"), ("apigw-requestid", request_id)], body)


def _request_id() -> str:
    return base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")[:16]


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class HttpApi:
    """The routing and translation half of the gateway, usable without a socket."""

    def __init__(self, routes: Iterable[Route], *, integration_timeout: float = INTEGRATION_TIMEOUT,
                 api_id: str = "local", validate: bool = True) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity)
        self.integration_timeout = integration_timeout
        self.api_id = api_id
        self.validate = validate

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def handle(self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, *,
               source_ip: str = "127.0.0.1", port: int = 0) -> tuple[Response, Exchange]:
        start = time.perf_counter()
        method = method.upper()
        path, _, query = target.partition("?")
        request_id = _request_id()

        def done(resp: Response, route: Route | None = None, params: dict[str, str] | None = None,
                 error: str = "") -> tuple[Response, Exchange]:
            ms = (time.perf_counter() - start) * 1000
            return resp, Exchange(method, path, resp.status, resp.body, ms, route, params or {}, error)

        found = self.find(method, path)
        if found is None:
            return done(_gateway_error(404, "Not Found", request_id))
        route, params = found
        if len(body) > API_PAYLOAD_LIMIT:
            return done(_gateway_error(413, "Request Entity Too Large", request_id), route, params,
                        f"body of {len(body)} bytes is over the HTTP API limit ({API_PAYLOAD_LIMIT})")
        all_headers = [
            *headers,
            ("X-Amzn-Trace-Id", _trace_id()), ("X-Forwarded-For", source_ip),
            ("X-Forwarded-Port", str(port)), ("X-Forwarded-Proto", "http"),
        ]
        merged: dict[str, str] = {}
        for k, v in all_headers:
            key = k.lower()
            merged[key] = f"{merged[key]},{v}" if key in merged else v
        event = http_api_event(method=method, path=path, headers=merged, body=body, query=query,
                               route_key=route.route_key, path_parameters=params or None, source_ip=source_ip,
                               api_id=self.api_id)
        event["requestContext"]["requestId"] = request_id
        payload_size = len(json.dumps(event))
        if payload_size > LAMBDA_PAYLOAD_LIMIT:
            return done(_gateway_error(413, "Request Entity Too Large", request_id), route, params,
                        f"event of {payload_size} bytes is over Lambda's invocation limit ({LAMBDA_PAYLOAD_LIMIT})")
        if self.validate:
            problem = validate_http_api_event(event)
            if problem:
                return done(_gateway_error(500, "Internal Server Error", request_id), route, params,
                            f"emulator built an invalid event: {problem}")
        fn = route.function
        wait = min(fn.timeout, self.integration_timeout)
        inv = fn.invoke(event, wait_seconds=wait)
        if inv.timed_out:
            if fn.timeout > self.integration_timeout:  # API Gateway gave up first
                return done(_gateway_error(503, "Service Unavailable", request_id), route, params,
                            f"integration timeout ({self.integration_timeout:g} s)")
            return done(_gateway_error(500, "Internal Server Error", request_id), route, params,
                        f"Task timed out after {fn.timeout:g} s")
        if inv.error is not None:
            return done(_gateway_error(500, "Internal Server Error", request_id), route, params,
                        inv.describe_error())
        try:
            resp = lambda_response(inv.result)
        except ValueError as e:
            return done(_gateway_error(500, "Internal Server Error", request_id), route, params,
                        f"malformed Lambda response: {e}")
        resp.headers.append(("apigw-requestid", request_id))
        return done(resp, route, params)


def validate_http_api_event(event: dict[str, Any]) -> str:
    """'' when Powertools' APIGatewayProxyEventV2Model accepts the event, else the reason."""
    # lazy: Powertools' parser models (~180 ms) load with the first event built.
    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

    return shape_problem(APIGatewayProxyEventV2Model, event)


def lambda_response(result: Any) -> Response:
    """A payload 2.0 Lambda response as API Gateway turns it into HTTP."""
    size = len(json.dumps(result, default=str))
    if size > LAMBDA_PAYLOAD_LIMIT:
        raise ValueError(f"response of {size} bytes is over Lambda's payload limit")
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway assumes 200, application/json, the response as the body.
        return Response(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for k, v in (result.get("headers") or {}).items():
        headers.append((str(k), v if isinstance(v, str) else json.dumps(v)))
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise ValueError("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as e:
            raise ValueError(f"isBase64Encoded but the body is not base64: {e}") from None
    else:
        raw = body.encode("utf-8")
    return Response(status, headers, raw)


def _environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request headers from a WSGI environ (names as API Gateway sees them: lower case, dashes)."""
    out: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        if name == "TRANSFER_ENCODING" or not isinstance(value, str):
            continue  # the body reaches the function de-chunked, as API Gateway passes it
        out.append((name.lower().replace("_", "-"), value))
    return out


class Gateway:
    """The HTTP server on host:port (port 0 picks a free one).

    HTTP itself (keep-alive, pipelining, chunked bodies, header and body limits, malformed
    requests) is waitress's job, a production WSGI server: every request gets an HTTP answer.
    The answers waitress gives on its own (400 malformed request, 413 over the payload limit,
    431 headers too large) are reshaped into API Gateway's JSON `{"message": ...}`.
    """

    def __init__(self, api: HttpApi, host: str = "127.0.0.1", port: int = 3000,
                 listener: Callable[[Exchange], None] | None = None, *, threads: int = 16) -> None:
        self.api = api
        self.listener = listener
        # waitress logs a warning per queued task burst; the console lines say what happened.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self.server: Any = create_server(
            self._app, host=host, port=port, threads=threads, ident="",
            max_request_body_size=API_PAYLOAD_LIMIT + 1,  # waitress refuses at >=; API Gateway over the limit
            asyncore_loop_timeout=0.2,
            # Bodies arrive whole before the function is invoked, as behind API Gateway.
            inbuf_overflow=1024 * 1024)
        self.server.channel_class = _Channel
        self.server.hookline_gateway = self
        self.host, self.port = str(self.server.effective_host), int(self.server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def _serve(self) -> None:
        # The loop owns the sockets: they are closed here, on its thread, never under a running poll.
        sockets = self.server._map
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.2, map=sockets, use_poll=True, count=1)
        wasyncore.close_all(sockets)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)
        else:
            wasyncore.close_all(self.server._map)
        self.server.task_dispatcher.shutdown(timeout=1)

    def notify(self, exchange: Exchange) -> None:
        if self.listener is not None:
            try:
                self.listener(exchange)
            except Exception as e:  # the console must never break a request
                print(f"(console error: {type(e).__name__})", flush=True)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD") or "GET")
        target = str(environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/")
        try:
            body = environ["wsgi.input"].read()
            resp, exchange = self.api.handle(method, target, _environ_headers(environ), body,
                                             source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
                                             port=self.port)
        except Exception as e:  # an emulator bug: API Gateway's 500, one line on the console, never a traceback
            resp = _gateway_error(500, "Internal Server Error", _request_id())
            exchange = Exchange(method, target.partition("?")[0], 500, resp.body, 0.0,
                                error=f"emulator error: {type(e).__name__}: {e}")
        headers = [(k, v) for k, v in resp.headers
                   if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        if resp.body and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(resp.body))))
        start_response(f"{resp.status} {_reason(resp.status)}", _latin1(headers))
        self.notify(exchange)
        return [] if method.upper() == "HEAD" else [resp.body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _latin1(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """WSGI header values are latin-1 strings without line breaks; a function's odd value is made safe."""
    out = []
    for k, v in headers:
        v = v.replace("\r", " ").replace("\n", " ")
        out.append((k, v.encode("latin-1", "replace").decode("latin-1")))
    return out


class _ErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's own refusals (malformed request, body or headers too large), in API Gateway's shape."""

    def execute(self) -> None:
        error = self.request.error
        body = json.dumps({"message": error.reason}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), ("apigw-requestid", _request_id())])
        self.set_close_on_finish()
        self.content_length = len(body)
        gateway = getattr(self.channel.server, "hookline_gateway", None)
        if gateway is not None:
            detail = " ".join(str(error.body).split())
            # A request line too broken to parse leaves no method or path.
            method, path = getattr(self.request, "command", "") or "?", getattr(self.request, "path", "") or "?"
            gateway.notify(Exchange(method, path, error.code, body, 0.0, error=detail))
        self.write(body)


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's request parser, with two cases that would otherwise leave a client without an answer."""

    def received(self, data: bytes) -> int:
        consumed = int(super().received(data))
        body = self.body_rcv
        if self.headers_finished and self.expect_continue and body is None:
            # `Expect: 100-continue` on a request without a body: waitress 3.0.2 sends "100 Continue" and then
            # never the response. There is nothing to continue to, so answer right away (RFC 9110 15.2.1 allows it).
            self.expect_continue = False
        # A chunk announcing more than the payload limit is refused at once, as a Content-Length over it is:
        # waiting for its data would leave the client without an answer.
        if (self.chunked and body is not None and not self.completed and not self.error
                and len(body) + body.chunk_remainder > API_PAYLOAD_LIMIT):
            self.error = RequestEntityTooLarge(f"a chunk goes past the payload limit of {API_PAYLOAD_LIMIT} bytes")
            self.completed = True
        return consumed


class _Channel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _ErrorTask
    parser_class = _Parser
