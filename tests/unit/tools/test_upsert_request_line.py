"""An upsert destination's request line as the tools show it: `hookline map try` and the DLQ replay's dry run
print the method and URL each event would get, and a value that would leave its path segment is the
`mapping` failure the delivery would meet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookline.cli import main
from hookline.core.dlq import DlqEntry
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult
from hookline.operations.dlq import preview_mapping
from hookline.validation import parse_config

CONFIG = {
    "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
    "destinations": {
        "search": {"url": "https://crm.example/api"},
        "contact": {"url": "https://crm.example/api/contacts{/enriched.contact.id}",
                    "method": {"when": "enriched.contact.id", "then": "PATCH", "else": "POST"}},
    },
    "routes": [{"name": "upsert", "source": "shop", "destination": "contact",
                "enrich": [{"name": "contact", "destination": "search", "path": "/contacts?email={body.email}",
                            "on_missing": "skip"}],
                "transform": {"email": "body.email"}}],
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "hookline.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    data = tmp_path / "customer.json"
    data.write_text(json.dumps({"email": "ada@example.com"}))
    return config, data


def try_json(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], mock: str) -> tuple[int, Any]:
    code = main(["map", "try", "upsert", "--config", str(files[0]), "--data", str(files[1]), "--mock", mock,
                 "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_map_try_shows_patch_to_the_found_contact_and_post_without_one(
        capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path) -> None:
    found = tmp_path / "found.json"
    found.write_text(json.dumps({"id": "003X"}))
    code, out = try_json(capsys, files, f"contact={found}")
    assert code == 0
    assert (out["deliveries"][0]["method"], out["deliveries"][0]["url"]) == (
        "PATCH", "https://crm.example/api/contacts/003X")
    code, out = try_json(capsys, files, "contact=404")
    assert (out["deliveries"][0]["method"], out["deliveries"][0]["url"]) == ("POST", "https://crm.example/api/contacts")


def test_map_try_names_a_value_that_would_leave_its_segment(
        capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path) -> None:
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps({"id": ".."}))
    code, out = try_json(capsys, files, f"contact={evil}")
    assert code == 1 and out["failure"]["stage"] == "mapping"
    assert out["failure"]["error"].startswith("url/method: ") and "'..'" in out["failure"]["error"]
    assert "no request was made" in out["failure"]["error"] and "DLQ reason mapping" in out["failure"]["error"]


def entry() -> DlqEntry:
    task = DeliveryTask(event_id="evt-1", source="shop", route="upsert", type=None, received_at=1_700_000_000.0,
                        headers={"content-type": "application/json"}, content_type="application/json",
                        body=json.dumps({"email": "ada@example.com"}), prior_attempts=1)
    return DlqEntry.from_sqs({"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": task.model_dump_json(),
                              "Attributes": {"SentTimestamp": "1700000100000"},
                              "MessageAttributes": {"reason": {"DataType": "String",
                                                               "StringValue": "retries_exhausted"}}})


def contact(answer: tuple[int, Any]) -> Any:
    def fetch(dest: Any, method: str, url: str, body: bytes, event_id: str, label: str, deadline: Any) -> HttpResult:
        status, payload = answer
        return HttpResult(0.0, 1.0, status_code=status, body=json.dumps(payload).encode(), requests_made=1,
                          error=None if status < 300 else f"HTTP {status}")
    return fetch


def test_the_dry_run_shows_the_request_line_a_replay_would_send() -> None:
    config = parse_config(CONFIG)
    found = preview_mapping(entry(), config, enrich=("mock", contact((200, {"id": "003X"}))))
    assert (found.method, found.url, found.templated) == ("PATCH", "https://crm.example/api/contacts/003X", True)
    assert found.to_dict()["url"] == "https://crm.example/api/contacts/003X"
    missing = preview_mapping(entry(), config, enrich=("mock", contact((404, {}))))
    assert (missing.method, missing.url) == ("POST", "https://crm.example/api/contacts")
    evil = preview_mapping(entry(), config, enrich=("mock", contact((200, {"id": "%2e%2e"}))))
    assert evil.status == "error" and "dead-lettered again (mapping)" in evil.detail
