"""The request a provider's signature may cover, as the edge builds it from API Gateway's event."""

from __future__ import annotations

from typing import Any

from hookline.ingress.providers import Request
from hookline.ingress.providers.request import from_http_api_event, public_url
from hookline.local.apigw_events import http_api_event


def test_the_edge_keeps_method_query_url_and_source_ip() -> None:
    event = http_api_event(method="post", path="/webhooks/twilio", query="a=1&b=x%20y",
                           headers={"Host": "hooks.example.com", "X-Twilio-Signature": "abc",
                                    "X-Forwarded-Proto": "https"},
                           body=b"Body=hi", path_parameters={"source": "twilio"}, source_ip="203.0.113.9")
    req = from_http_api_event(event, b"Body=hi")
    assert req.method == "POST"
    assert req.headers["x-twilio-signature"] == "abc"
    assert req.query == {"a": "1", "b": "x y"}
    assert req.url == "https://hooks.example.com/webhooks/twilio?a=1&b=x%20y"  # raw query, as the sender wrote it
    assert req.source_ip == "203.0.113.9"
    assert req.body == b"Body=hi"


def test_public_url_without_query_and_with_a_configured_base() -> None:
    event: dict[str, Any] = {"rawPath": "/webhooks/x", "rawQueryString": "",
                             "requestContext": {"domainName": "abc.execute-api.eu-west-1.amazonaws.com"}}
    assert public_url(event) == "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/x"
    event["rawQueryString"] = "q=1"
    # A custom domain with a base path rewrites rawPath: the source's public_url says what the sender used.
    assert public_url(event, "https://api.example.com/hooks/x") == "https://api.example.com/hooks/x?q=1"


def test_hookline_dev_reports_the_host_the_client_addressed() -> None:
    event = http_api_event(method="POST", path="/webhooks/s", headers={"Host": "127.0.0.1:8123",
                                                                       "X-Forwarded-Proto": "http"}, body=b"")
    assert event["requestContext"]["domainName"] == "127.0.0.1:8123"
    assert from_http_api_event(event, b"").url == "http://127.0.0.1:8123/webhooks/s"


def test_request_lowers_header_names() -> None:
    assert Request(headers={"X-A": "1"}).headers == {"x-a": "1"}


def test_the_handler_passes_the_whole_request_to_ingress(monkeypatch: Any, lambda_context: Any) -> None:
    from functions.ingress import app

    seen: dict[str, Any] = {}

    class Recorder:
        def accept(self, source: str, headers: Any, body: bytes, context: Any = None, *,
                   request: Request | None = None) -> Any:
            seen.update(source=source, request=request)
            from hookline.ingress.ingress import IngressResponse
            return IngressResponse(202, {"status": "accepted", "id": "x"})

    class Services:
        ingress = Recorder()

    monkeypatch.setattr(app, "services", lambda: Services())
    event = http_api_event(method="POST", path="/webhooks/s", query="z=9", headers={"Host": "h.example"},
                           body=b"{}", path_parameters={"source": "s"}, source_ip="198.51.100.7")
    assert app.handler(event, lambda_context)["statusCode"] == 202
    req = seen["request"]
    assert seen["source"] == "s" and req.url == "https://h.example/webhooks/s?z=9"
    assert req.query == {"z": "9"} and req.source_ip == "198.51.100.7" and req.body == b"{}"
