"""Destination auth and upserts through `hookline dev` as a user runs it: signed webhooks in, real receivers out.

- an ERP behind Basic auth gets the order only with the right password (checked by the receiver);
- a CRM upsert: the contact search (bearer) finds the contact -> PATCH /contacts/<id>; none -> POST /contacts;
  an id of `..` -> dead-lettered as `mapping`, and the CRM sees no request for it;
- `hookline destinations --json` on the running stack names each destination's auth, never its secret.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from hookline.ingress.signatures import sign
from hookline.validation import load_config
from tests.e2e.helpers import GITHUB_SECRET, DevProcess, dev_env, free_port
from tests.e2e.test_dev_pipeline import post
from tests.support.receiver import Received, Receiver, Script

pytestmark = pytest.mark.e2e

ERP_PASSWORD = "erp-pass-0123456789"
CRM_TOKEN = "crm-token-abcdef0123"
CONTACTS = {"ada@example.com": "003Ada", "evil@example.com": ".."}


def crm_answer(request: Received) -> tuple[int, bytes]:
    if request.headers.get("authorization") != f"Bearer {CRM_TOKEN}":
        return 401, b'{"error": "unauthorized"}'
    url = urlparse(request.path)
    if request.method == "GET" and url.path == "/api/contacts/search":
        found = CONTACTS.get(parse_qs(url.query).get("email", [""])[0])
        return (200, json.dumps({"id": found}).encode()) if found else (404, b'{"error": "not found"}')
    return 200, b'{"ok": true}'


def erp_answer(request: Received) -> int:
    good = "Basic " + base64.b64encode(f"hookline:{ERP_PASSWORD}".encode()).decode()
    return 200 if request.headers.get("authorization") == good else 401


class Stack:
    def __init__(self, dev: DevProcess, config: Path, erp: Receiver, crm: Receiver) -> None:
        self.dev, self.config, self.erp, self.crm = dev, config, erp, crm

    def send(self, event: str, payload: dict[str, Any]) -> str:
        delivery = str(uuid.uuid4())
        body = json.dumps({**payload, "delivery": delivery}).encode()
        headers = sign(load_config(self.config).sources["github"].verify, GITHUB_SECRET, body, msg_id=delivery)
        headers.update({"X-GitHub-Event": event, "Content-Type": "application/json"})
        status, _ = post(f"{self.dev.url}/webhooks/github", body, headers)
        assert status == 202, status
        return delivery


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("auth")
    erp, crm = Receiver(Script(respond=erp_answer)), Receiver(Script(responder=crm_answer))
    for r in (erp, crm):
        r.__enter__()
    cfg = {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {
            "erp": {"url": f"{erp.url}/orders", "auth": {"basic": {"user": "hookline", "password": "env:ERP_PW"}}},
            "crm_search": {"url": f"{crm.url}/api", "auth": {"bearer": "env:CRM_TOKEN"}},
            "crm": {"url": f"{crm.url}/api/contacts{{/enriched.contact.id}}",
                    "method": {"when": "enriched.contact.id", "then": "PATCH", "else": "POST"},
                    "auth": {"bearer": "env:CRM_TOKEN"}},
        },
        "routes": [
            {"name": "orders", "source": "github", "destination": "erp",
             "when": "headers.\"x-github-event\" == 'order'"},
            {"name": "contacts", "source": "github", "destination": "crm",
             "when": "headers.\"x-github-event\" == 'customer'",
             "enrich": [{"name": "contact", "destination": "crm_search", "path": "/contacts/search?email={body.email}",
                         "on_missing": "skip"}],
             "transform": {"email": "body.email", "name": "body.name"}},
        ],
        "retry": {"schedule_seconds": [1, 1]},
    }
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    env_file = workdir / "secrets.env"
    env_file.write_text(f"ERP_PW={ERP_PASSWORD}\nCRM_TOKEN={CRM_TOKEN}\n")
    dev = DevProcess(workdir, config, free_port(), "--env-file", str(env_file))
    try:
        dev.wait_ready()
        yield Stack(dev, config, erp, crm)
    finally:
        dev.interrupt()
        for r in (erp, crm):
            r.__exit__(None, None, None)


def wait(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def requests_of(rx: Receiver, delivery: str, method: str | None = None) -> list[Received]:
    return [r for r in rx.requests if r.headers.get("idempotency-key", "").startswith(delivery)
            and (method is None or r.method == method)]


def test_basic_auth_reaches_the_erp(stack: Stack) -> None:
    delivery = stack.send("order", {"id": 1})
    [req] = wait(lambda: requests_of(stack.erp, delivery))
    assert req.path == "/orders" and req.status == 200


def test_a_found_contact_is_patched_and_a_new_one_posted(stack: Stack) -> None:
    found = stack.send("customer", {"email": "ada@example.com", "name": "Ada"})
    [patch] = wait(lambda: requests_of(stack.crm, found, "PATCH"))
    assert patch.path == "/api/contacts/003Ada" and patch.json() == {"email": "ada@example.com", "name": "Ada"}
    new = stack.send("customer", {"email": "new@example.com", "name": "New"})
    [post_] = wait(lambda: requests_of(stack.crm, new, "POST"))
    assert post_.path == "/api/contacts"


def test_an_id_that_would_leave_its_segment_is_dead_lettered_as_mapping(stack: Stack) -> None:
    evil = stack.send("customer", {"email": "evil@example.com", "name": "Eve"})
    wait(lambda: f'"event_id":"{evil}"' in stack.dev.log().replace(" ", "") and "dead-lettered" in stack.dev.log())
    line = next(json.loads(x) for x in stack.dev.log().splitlines()
                if evil in x and "dead-lettered" in x and x.startswith("{"))
    assert line["reason"] == "mapping" and "no request was made" in line["error"]
    searches = [r for r in stack.crm.requests if "evil%40example.com" in r.path]
    assert len(searches) == 1  # looked up once...
    assert [r for r in requests_of(stack.crm, evil) if r.method != "GET"] == []  # ...and never PATCHed nor POSTed


def test_hookline_destinations_names_the_auth_never_the_secret(stack: Stack) -> None:
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "destinations", "--json"], cwd=stack.dev.cwd,
                         env=dev_env(), capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {r["name"]: r for r in json.loads(out)}
    assert {n: (r["target"], r["auth"], r["egress"]) for n, r in rows.items()} == {
        "crm": ("http", "bearer", "direct"), "crm_search": ("http", "bearer", "direct"),
        "erp": ("http", "basic", "direct")}
    assert ERP_PASSWORD not in out and CRM_TOKEN not in out
