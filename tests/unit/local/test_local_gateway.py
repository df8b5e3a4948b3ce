"""The local API Gateway (HTTP API, payload 2.0): routing, events, limits, responses."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hookline.local.gateway import API_PAYLOAD_LIMIT, Exchange, Gateway, HttpApi, Route, lambda_response
from hookline.local.runtime import LAMBDA_PAYLOAD_LIMIT, LocalFunction

HANDLERS = '''
import base64, json, time

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"event": event, "remaining": context.get_remaining_time_in_millis(),
                                "function": context.function_name})}

def binary(event, context):
    return {"statusCode": 201, "isBase64Encoded": True, "body": base64.b64encode(b"\\x00\\x01").decode(),
            "headers": {"content-type": "application/octet-stream", "x-a": "1"}, "cookies": ["a=1", "b=2"]}

def plain(event, context):
    return {"hello": "world"}

def crash(event, context):
    raise RuntimeError("boom")

def slow(event, context):
    time.sleep(1.0)
    return {"statusCode": 200, "body": "late"}

def malformed(event, context):
    return {"statusCode": "nope"}
'''


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(HANDLERS))
    return tmp_path


def fn(code: Path, name: str, timeout: float = 5) -> LocalFunction:
    return LocalFunction(f"Fn{name}", code, f"app.{name}", function_name=f"local-{name}", timeout=timeout)


def call(api: HttpApi, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes, Exchange]:
    hdrs = list((headers or {"Content-Type": "application/json"}).items())
    resp, ex = api.handle(method, target, hdrs, body)
    return resp.status, {k.lower(): v for k, v in resp.headers}, resp.body, ex


def test_routes_by_method_and_path_and_builds_a_payload_v2_event(code: Path) -> None:
    api = HttpApi([Route("POST", "/webhooks/{source}", fn(code, "echo"))])
    status, headers, body, ex = call(api, "POST", "/webhooks/github?x=1&x=2", b'{"a": 1}',
                                     {"Content-Type": "application/json", "X-GitHub-Event": "issues"})
    assert status == 200 and "apigw-requestid" in headers
    out = json.loads(body)
    event = out["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "POST /webhooks/{source}"
    assert event["pathParameters"] == {"source": "github"}
    assert event["rawPath"] == "/webhooks/github" and event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["x-github-event"] == "issues" and "x-amzn-trace-id" in event["headers"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["requestId"] == headers["apigw-requestid"]
    assert 0 < out["remaining"] <= 5000 and out["function"] == "local-echo"
    assert ex.path_parameters == {"source": "github"} and ex.route is not None


def test_unmatched_method_or_path_is_api_gateways_404(code: Path) -> None:
    api = HttpApi([Route("POST", "/webhooks/{source}", fn(code, "echo"))])
    for method, target in (("GET", "/webhooks/github"), ("POST", "/webhooks"), ("POST", "/webhooks/a/b"),
                           ("POST", "/other")):
        status, _, body, ex = call(api, method, target)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, target)
        assert ex.route is None


def test_most_specific_route_wins(code: Path) -> None:
    echo = fn(code, "echo")
    api = HttpApi([Route("ANY", "$default", echo), Route("ANY", "/{proxy+}", echo),
                   Route("POST", "/webhooks/{source}", echo), Route("POST", "/webhooks/special", echo)])
    keys = {}
    for target in ("/webhooks/special", "/webhooks/github", "/a/b/c", "/"):
        keys[target] = json.loads(call(api, "POST", target)[2])["event"]["routeKey"]
    assert keys == {"/webhooks/special": "POST /webhooks/special", "/webhooks/github": "POST /webhooks/{source}",
                    "/a/b/c": "ANY /{proxy+}", "/": "$default"}


def test_binary_bodies_are_base64_in_the_event(code: Path) -> None:
    api = HttpApi([Route("POST", "/in", fn(code, "echo"))])
    event = json.loads(call(api, "POST", "/in", b"\xff\x00", {"Content-Type": "application/octet-stream"})[2])["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00"


def test_payload_over_the_http_api_limit_is_413(code: Path) -> None:
    api = HttpApi([Route("POST", "/in", fn(code, "echo"))])
    status, _, body, ex = call(api, "POST", "/in", b"x" * (API_PAYLOAD_LIMIT + 1), {"Content-Type": "text/plain"})
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
    assert "HTTP API limit" in ex.error


def test_event_over_the_lambda_invocation_limit_is_413(code: Path) -> None:
    # 5 MB of binary is under API Gateway's 10 MB but is ~6.7 MB once base64-encoded in the event.
    api = HttpApi([Route("POST", "/in", fn(code, "echo"))])
    status, _, body, ex = call(api, "POST", "/in", b"\xff" * (5 * 1024 * 1024),
                               {"Content-Type": "application/octet-stream"})
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
    assert "invocation limit" in ex.error and str(LAMBDA_PAYLOAD_LIMIT) in ex.error


def test_function_errors_and_timeouts(code: Path) -> None:
    api = HttpApi([Route("POST", "/crash", fn(code, "crash")), Route("POST", "/malformed", fn(code, "malformed")),
                   Route("POST", "/lambda-timeout", fn(code, "slow", timeout=0.2)),
                   Route("POST", "/api-timeout", fn(code, "slow", timeout=60))], integration_timeout=0.2)
    status, _, body, ex = call(api, "POST", "/crash")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert ex.error == "RuntimeError: boom"
    status, _, body, ex = call(api, "POST", "/malformed")
    assert status == 500 and "malformed" in ex.error
    # The function's own Timeout first: a Lambda error, 500.
    status, _, _, ex = call(api, "POST", "/lambda-timeout")
    assert status == 500 and "timed out" in ex.error
    # API Gateway's integration timeout first: HTTP APIs answer 503.
    status, _, body, ex = call(api, "POST", "/api-timeout")
    assert (status, json.loads(body)) == (503, {"message": "Service Unavailable"})
    assert "integration timeout" in ex.error


def test_responses_are_passed_back_faithfully(code: Path) -> None:
    api = HttpApi([Route("POST", "/bin", fn(code, "binary")), Route("POST", "/plain", fn(code, "plain"))])
    resp, _ = api.handle("POST", "/bin", [], b"")
    assert resp.status == 201 and resp.body == b"\x00\x01"
    assert ("Set-Cookie", "a=1") in resp.headers and ("Set-Cookie", "b=2") in resp.headers
    assert ("x-a", "1") in resp.headers
    # No statusCode: 200, application/json, the whole return value as the body.
    resp, _ = api.handle("POST", "/plain", [], b"")
    assert resp.status == 200 and json.loads(resp.body) == {"hello": "world"}


@pytest.mark.parametrize("result", [{"statusCode": 999}, {"statusCode": 200, "body": {"not": "a string"}},
                                    {"statusCode": 200, "isBase64Encoded": True, "body": "***"}])
def test_malformed_responses_are_refused(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        lambda_response(result)


# ---------------------------------------------------------------- over a real socket


@pytest.fixture
def server(code: Path) -> Any:
    seen: list[Exchange] = []
    gw = Gateway(HttpApi([Route("POST", "/webhooks/{source}", fn(code, "echo"))]), port=0,
                 listener=seen.append).start()
    gw.seen = seen  # type: ignore[attr-defined]
    yield gw
    gw.stop()


def test_over_http_with_a_chunked_body(server: Any) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("POST", "/webhooks/github", body=iter([b'{"a":', b' 1}']),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    resp = conn.getresponse()
    out = json.loads(resp.read())
    assert resp.status == 200 and out["event"]["body"] == '{"a": 1}'
    assert "transfer-encoding" not in out["event"]["headers"]
    assert server.seen[0].status == 200 and server.seen[0].path_parameters == {"source": "github"}


def test_over_http_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(server: Any) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(f"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: {API_PAYLOAD_LIMIT + 1}\r\n"
                  "Content-Type: application/json\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    answer = data.decode()
    assert answer.startswith("HTTP/1.1 413") and "Connection: close" in answer
    assert answer.endswith('{"message": "Request Entity Too Large"}')
    assert server.seen[0].status == 413


def _answers(host: str, port: int, raw: bytes, expect: int = 1, timeout: float = 5) -> list[tuple[int, bytes]]:
    """Send raw bytes; read (status, body) answers until `expect` arrive or the server closes."""
    answers: list[tuple[int, bytes]] = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(raw)
        f = s.makefile("rb")
        while len(answers) < expect:
            status_line = f.readline()
            if not status_line:
                break
            length = 0
            while (line := f.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answers.append((int(status_line.split()[1]), f.read(length)))
    return answers


def test_keep_alive_pipelines_get_one_answer_per_request_in_order(server: Any) -> None:
    one = b'POST /webhooks/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'
    unread = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"  # 404, body never used
    chunked = (b"POST /webhooks/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: text/plain\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n")
    answers = _answers(server.host, server.port, one + unread + chunked, expect=3)
    assert [a[0] for a in answers] == [200, 404, 200]
    assert json.loads(answers[2][1])["event"]["body"] == "abc"
    assert json.loads(answers[2][1])["event"]["pathParameters"] == {"source": "c"}


@pytest.mark.parametrize(("raw", "status"), [
    (b"POST /webhooks/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    (b"POST /webhooks/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431),
    (b"NOT A REQUEST\r\n\r\n", 400),
])
def test_malformed_requests_get_api_gateway_shaped_answers(server: Any, raw: bytes, status: int) -> None:
    [(got, body)] = _answers(server.host, server.port, raw)
    assert got == status and set(json.loads(body)) == {"message"}
    assert server.seen and server.seen[-1].status == status


def test_console_lines_cannot_be_forged_through_the_path() -> None:
    import io

    from hookline.local.console import Console

    out = io.StringIO()
    console = Console(out=out)
    forged = "/webhooks/x\r\n12:00:00 ← github evil 202 accepted\x1b[2K"
    console.request(Exchange("POST", forged, 404, b'{"message": "Not Found"}', 1.0))
    console.stamp("a\u2028b")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "\\r\\n12:00:00" in lines[0] and "\\x1b[2K" in lines[0] and "\x1b" not in lines[0]
    assert lines[1].endswith("a\\u2028b")


@pytest.mark.parametrize("length", [0, 2])
def test_expect_100_continue_gets_its_answer_with_or_without_a_body(server: Any, length: int) -> None:
    raw = (f"POST /webhooks/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n"
           f"Content-Length: {length}\r\n\r\n").encode() + b"{}"[:length]
    # With a body: "100 Continue", then the answer; without one there is nothing to continue to: just the answer.
    answers = _answers(server.host, server.port, raw, expect=2 if length else 1)
    assert [a[0] for a in answers] == ([100, 200] if length else [200])


def test_over_http_the_listener_has_the_exchange_before_the_client_has_the_answer(code: Path) -> None:
    # The console (and the tests above, asserting on `seen` right after the response) rely on this order:
    # with the answer written first, a loaded machine let the client read it before the listener ran.
    seen: list[Exchange] = []

    def slow_listener(exchange: Exchange) -> None:
        time.sleep(0.3)
        seen.append(exchange)

    gw = Gateway(HttpApi([Route("POST", "/webhooks/{source}", fn(code, "echo"))]), port=0,
                 listener=slow_listener).start()
    try:
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=5)
        conn.request("POST", "/webhooks/github", body=iter([b'{"a":', b' 1}']),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert [(e.status, e.path_parameters) for e in seen] == [(200, {"source": "github"})]
        with socket.create_connection((gw.host, gw.port), timeout=5) as s:
            s.sendall(b"NOT A REQUEST\r\n\r\n")
            while s.recv(4096):
                pass
        assert [e.status for e in seen] == [200, 400]
    finally:
        gw.stop()
