"""Asana's handshake secret kept in SSM by the ingress function's own role (IAM enforced on moto)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from hookline.adapters.aws.hook_secrets import SsmHookSecrets
from hookline.secrets import SecretResolver
from tests.integration.conftest import Stack


def test_a_handshake_secret_is_written_once_under_the_prefix(stack: Stack) -> None:
    with stack.run_as("IngressFunction"):
        store = SsmHookSecrets()
        assert store.put_new("/hookline/asana/tasks", "first-secret") is None
        # A second handshake finds the first one's secret and cannot replace it
        assert store.put_new("/hookline/asana/tasks", "attacker-chosen") == "first-secret"
        # The source's `secrets: [ssm:/hookline/asana/tasks]` reads it back as any secret
        assert SecretResolver().resolve("ssm:/hookline/asana/tasks") == "first-secret"
        # Outside the stack's SecretsPrefix the role may not write
        with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
            store.put_new("/other-app/asana", "x")
    stored = stack.admin.client("ssm").get_parameter(Name="/hookline/asana/tasks", WithDecryption=True)["Parameter"]
    assert (stored["Type"], stored["Value"]) == ("SecureString", "first-secret")
