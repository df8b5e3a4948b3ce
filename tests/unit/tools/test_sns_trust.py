"""HOOKLINE_DEV_SNS_TRUST: `hookline dev`'s SNS is a local server, the URL rule stays AWS's."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hookline.ingress import sns
from hookline.local import sns_trust
from tests.support import sns_pki


@pytest.fixture()
def restore_default():
    saved = sns.default_fetcher
    yield
    sns.default_fetcher = saved


def test_unset_changes_nothing(restore_default):
    assert sns_trust.install_from_env({}) is None
    assert sns.default_fetcher is sns.HttpsGetter


@pytest.mark.parametrize("value", ["ca.pem", "ca.pem@127.0.0.1", "@127.0.0.1:8443", "ca.pem@:8443",
                                   "ca.pem@127.0.0.1:https"])
def test_a_malformed_value_says_the_expected_form(restore_default, value):
    with pytest.raises(ValueError, match="<CA file>@<host>:<port>"):
        sns_trust.install_from_env({sns_trust.ENV: value})


def test_an_unreadable_ca_file_is_named(restore_default, tmp_path):
    with pytest.raises(ValueError, match="cannot read the CA file"):
        sns_trust.install_from_env({sns_trust.ENV: f"{tmp_path}/missing.pem@127.0.0.1:8443"})


def test_verifiers_reach_the_local_sns_and_only_through_the_rule(restore_default, tmp_path):
    now = dt.datetime.now(dt.UTC)
    pki = sns_pki.make_pki(tmp_path, now)
    server = sns_pki.LocalSns(pki)
    try:
        assert sns_trust.install_from_env({sns_trust.ENV: f"{pki.ca_file}@127.0.0.1:{server.port}"})
        verifier = sns.SnsVerifier()  # no fetcher injected: the default one, now the local server's
        assert verifier.verify(json.dumps(sns_pki.message(pki, at=now)).encode()).type == "Notification"
        lookalike = sns_pki.message(pki, at=now, cert_url="https://sns.us-east-1.amazonaws.com.evil.com/c.pem")
        with pytest.raises(sns.SignatureError, match="SigningCertURL"):
            sns.SnsVerifier().verify(json.dumps(lookalike).encode())
        assert server.paths == [sns_pki.CERT_PATH]
    finally:
        server.close()
