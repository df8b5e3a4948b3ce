"""`sources.x.auth` in the configuration: what validation names (with its path and the fix), the secrets
`hookline validate` asks for, and the pre-validated form a Lambda rebuilds without validating."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from hookline.commands import sources
from hookline.commands.validate import unset_env_secrets
from hookline.core.config import HooklineConfig
from hookline.core.construct import construct
from hookline.core.errors import ConfigError
from hookline.validation import parse_config


def config(auth: Any, **source: Any) -> dict[str, Any]:
    return {"sources": {"s": {"auth": auth, **source}}, "destinations": {"d": {"url": "http://d.invalid/in"}},
            "routes": [{"name": "r", "source": "s", "destination": "d"}]}


def problems(auth: Any, **source: Any) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(config(auth, **source))
    return [f"{p.path}: {p.message} | {p.hint}" for p in e.value.problems]


def test_bad_cidrs_are_named_with_their_index_and_the_network_meant() -> None:
    found = problems({"ip_allowlist": ["10.0.0.5/24", "2001:db8::/32", "300.1.1.1", "::1"]})
    assert found == [
        "sources.s.auth.ip_allowlist[0]: not a network: '10.0.0.5/24': 10.0.0.5/24 has host bits set "
        "| did you mean 10.0.0.0/24?",
        "sources.s.auth.ip_allowlist[2]: not a network: '300.1.1.1': '300.1.1.1' does not appear to be an IPv4 or "
        "IPv6 network | a CIDR such as 203.0.113.0/24 or 2001:db8::/32, or one address",
    ]


def test_missing_and_conflicting_fields_are_named_with_their_path() -> None:
    assert any(p.startswith("sources.s.auth.api_key: ") and "exactly one of header: NAME or query: NAME" in p
               for p in problems({"api_key": {"value": "env:K"}}))
    assert any(p.startswith("sources.s.auth.basic.password: ") for p in problems({"basic": {"user": "env:U"}}))
    assert any("jwt.audience" in p for p in problems({"jwt": {"jwks_url": "https://x.example/certs", "issuer": "i"}}))
    assert any("got bearer, ip_allowlist" in p for p in problems({"bearer": "env:T", "ip_allowlist": ["::1"]}))
    assert any("got none" in p for p in problems({"all_of": []}))
    assert any("plain-text secrets are not accepted" in p for p in problems({"bearer": "s3cr3t"}))
    assert any("not for auth: sources" in p for p in problems({"bearer": "env:T"}, secrets=["env:X"]))
    assert any("exactly one of verify" in p for p in problems({"bearer": "env:T"}, provider="slack"))


def test_method_settings_that_cannot_work_are_named() -> None:
    assert problems({"jwt": {"jwks_url": "http://keys.example/certs", "issuer": "i", "audience": "a"}}) == [
        "sources.s.auth.jwt.jwks_url: the keys must be fetched over https | e.g. "
        "https://www.googleapis.com/oauth2/v3/certs (http only for localhost)"]
    assert problems({"all_of": [{"provider": {"name": "stirpe", "secrets": ["env:S"]}}, {"ip_allowlist": ["::1"]}]}) \
        == ["sources.s.auth.all_of[0].provider.name: unknown provider 'stirpe' | did you mean stripe? "
            "`hookline sources` lists them"]
    hmac = {"secrets": ["env:S"], "signature": {"header": "X-Sig", "content": "{timestamp}.{body}"}}
    assert problems({"hmac": hmac}) == [
        "sources.s.auth.hmac.signature.content: uses {timestamp} but the entry has no [timestamp] table "
        "| docs/providers.md lists an entry's keys"]
    assert any("signature.algorithm" in p and "'rsa-sha256' is not one of" in p
               for p in problems({"hmac": {**hmac, "signature": {"header": "X", "algorithm": "rsa-sha256"}}}))
    assert problems({"bearer": "env:T"}, id_path="a[") and "sources.s.id_path" in problems({"bearer": "env:T"},
                                                                                           id_path="a[")[0]


def test_validate_names_every_unset_secret_under_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config(config({"all_of": [
        {"basic": {"user": "env:SA_USER", "password": ["env:SA_OLD", "env:SA_NEW"]}},
        {"api_key": {"query": "key", "value": "env:SA_KEY"}},
        {"hmac": {"secrets": ["env:SA_SIG"], "signature": {"header": "X-Sig"}}},
        {"ip_allowlist": ["203.0.113.0/24"]}]}))
    monkeypatch.setenv("SA_OLD", "set")
    assert unset_env_secrets(cfg) == ["env:SA_KEY", "env:SA_NEW", "env:SA_SIG", "env:SA_USER"]


def test_the_prevalidated_form_rebuilds_to_the_same_configuration() -> None:
    cfg = parse_config(config({"all_of": [
        {"api_key": {"header": "X-Key", "value": ["env:A", "env:B"]}}, {"ip_allowlist": ["10.0.0.0/8", "::1"]},
        {"jwt": {"jwks_url": "https://www.googleapis.com/oauth2/v3/certs", "issuer": ["https://accounts.google.com"],
                 "audience": "https://h.example/webhooks/s", "claims": {"email_verified": True, "email": "a@b.c"}}},
        {"hmac": {"secrets": ["env:S"], "signature": {"header": "X-Sig"}, "timestamp": {"header": "X-T"}}}]},
        id_path="id"))
    # as prevalidated.dump writes it
    dumped = json.loads(json.dumps(cfg.model_dump(mode="json", by_alias=True, exclude_unset=True)))
    rebuilt = construct(HooklineConfig, dumped)
    assert rebuilt == cfg
    assert rebuilt.sources["s"].auth.all_of[2].jwt.claims == {"email_verified": True, "email": "a@b.c"}
    assert rebuilt.sources["s"].secret_refs == ["env:A", "env:B", "env:S"]


def test_hookline_sources_names_the_generic_methods(capsys: pytest.CaptureFixture[str]) -> None:
    assert sources.run(argparse.Namespace(name=None, json=False)) == 0
    footer = capsys.readouterr().out.strip().splitlines()[-1]
    assert footer.startswith("Senders that do not sign: sources: {x: {auth: {basic | api_key | bearer | jwt | hmac")
    assert "ip_allowlist | all_of" in footer
