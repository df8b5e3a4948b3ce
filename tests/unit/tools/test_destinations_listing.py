"""`hookline destinations`: each destination's target, auth type and egress path, and never a secret."""

from __future__ import annotations

import json

from hookline.operations.destinations import destination_rows
from hookline.validation import parse_config

CONFIG = {
    "destinations": {
        "crm": {"url": "https://crm.example/c", "auth": {
            "oauth2": {"grant": "jwt_bearer", "token_url": "https://login.example/token", "issuer": "key",
                       "private_key": "secretsmanager:crm-key"},
            "mtls": {"cert": "secretsmanager:c", "key": "secretsmanager:k"}}},
        "legacy": {"url": "https://old.example/h", "oauth2": {"token_url": "https://t.example/token",
                                                               "client_id": "id", "client_secret": "env:CS"}},
        "partner": {"url": "https://partner.example/h", "auth": {"api_key": {"query": "key", "value": "env:KEY"}},
                    "proxy": "http://user:{secret:env:PROXY_PW}@squid.internal:3128"},
        "lambda_url": {"url": "https://abc.lambda-url.eu-west-1.on.aws/",
                       "auth": {"aws_sigv4": {"service": "lambda"}}, "proxy": "direct"},
        "open": {"url": "https://open.example/h"},
        "lake": {"type": "firehose", "stream": "events"},
    },
}


def rows(**kw: object) -> dict[str, dict[str, object]]:
    config = parse_config(json.loads(json.dumps(CONFIG)))
    return {r.name: r.to_dict() for r in destination_rows(config, {}, [], 0.0, **kw)}  # type: ignore[arg-type]


def test_each_destination_shows_target_auth_and_egress() -> None:
    got = rows()
    assert {n: (r["target"], r["auth"], r["egress"]) for n, r in got.items()} == {
        "crm": ("http", "oauth2 (jwt_bearer) + mtls", "direct"),
        "legacy": ("http", "oauth2 (client_credentials)", "direct"),
        "partner": ("http", "api_key", "proxy squid.internal:3128"),
        "lambda_url": ("http", "aws_sigv4", "direct"),
        "open": ("http", "none", "direct"),
        "lake": ("firehose", "none", "aws"),
    }


def test_the_stack_proxy_and_vpc_apply_unless_a_destination_says_otherwise() -> None:
    got = rows(stack_proxy="http://egress.internal:8080", vpc=True)
    assert got["open"]["egress"] == "proxy egress.internal:8080"
    assert got["partner"]["egress"] == "proxy squid.internal:3128"  # its own proxy wins
    assert got["lambda_url"]["egress"] == "vpc (NAT)"  # proxy: direct, in the VPC


def test_no_secret_reference_or_proxy_credential_reaches_the_listing() -> None:
    text = json.dumps(rows())
    for leaked in ("user", "PROXY_PW", "env:KEY", "secretsmanager:", "env:CS"):
        assert leaked not in text


def test_validate_notes_every_unset_auth_secret(monkeypatch: object) -> None:
    from hookline.commands.validate import unset_env_secrets

    config = parse_config({"destinations": {
        "a": {"url": "https://a.example", "auth": {"basic": {"user": "u", "password": "env:A_PW"},
                                                   "mtls": {"cert": "env:A_CERT", "key": "env:A_KEY"}}},
        "b": {"url": "https://b.example", "auth": {"bearer": "env:B_TOKEN"}, "proxy": "http://p:{secret:env:P}@x:1"},
        "c": {"url": "https://c.example", "auth": {"oauth2": {"grant": "jwt_bearer", "token_url": "https://t",
                                                              "issuer": "i", "private_key": "env:C_PEM"}}},
        "d": {"url": "https://d.example", "auth": {"api_key": {"header": "X-Key", "value": "env:D_KEY"}},
              "headers": {"X-Other": "{secret:env:IN_HEADER}"}},
    }})
    assert unset_env_secrets(config, provided={"A_CERT"}) == [
        "env:A_KEY", "env:A_PW", "env:B_TOKEN", "env:C_PEM", "env:D_KEY", "env:P"]
