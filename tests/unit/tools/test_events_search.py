"""`hookline events search` on Athena (botocore's Stubber holds the requests to Athena's API shapes) and its
command line: a malformed --where is one line and no AWS call."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from hookline.cli import main
from hookline.operations.archive_query import Search
from hookline.operations.archive_search import AthenaArchive, SearchFailed
from tests.support.aging import Clock


@pytest.fixture
def athena():
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub


def _archive(client, clock: Clock, timeout: float = 300) -> AthenaArchive:
    return AthenaArchive(client, database="hookline_archive", table="events", workgroup="hookline-archive",
                         timeout=timeout, poll=1.0, sleep=clock.sleep, clock=clock)


def _state(state: str, reason: str = "") -> dict:
    status = {"State": state, **({"StateChangeReason": reason} if reason else {})}
    return {"QueryExecution": {"QueryExecutionId": "q1", "Status": status}}


def test_values_travel_as_execution_parameters_and_results_come_back_per_event(athena) -> None:
    client, stub = athena
    clock = Clock()
    archive = _archive(client, clock)
    search = Search(where="body.x = \"1' OR '1'='1\"", sources=("stripe",))
    request = archive.request(search)
    assert "1' OR" not in request["QueryString"] and '"hookline_archive"."events"' in request["QueryString"]
    assert request["ExecutionParameters"] == ["'stripe'", "'1'' OR ''1''=''1'"]
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"}, request)
    stub.add_response("get_query_execution", _state("RUNNING"), {"QueryExecutionId": "q1"})
    stub.add_response("get_query_execution", _state("SUCCEEDED"), {"QueryExecutionId": "q1"})
    names = ["id", "source", "type", "received_at", "route", "status", "attempts", "status_code"]

    def row(values: list) -> dict:
        return {"Data": [{"VarCharValue": str(v)} if v is not None else {} for v in values]}

    stub.add_response("get_query_results", {"ResultSet": {"Rows": [
        row(names), row(["e8", "stripe", "test", "1700000000.5", "crm", "delivered", "1", "200"]),
        row(["e8", "stripe", "test", "1700000000.5", "erp", "received", "0", None])]}},
        {"QueryExecutionId": "q1"})
    [hit] = archive.search(search)
    assert clock.sleeps == [1.0]  # polled once while RUNNING
    assert hit.to_dict() == {"id": "e8", "source": "stripe", "type": "test", "received_at": 1700000000.5, "routes": {
        "crm": {"status": "delivered", "attempts": 1, "status_code": 200},
        "erp": {"status": "received", "attempts": 0, "status_code": None}}}
    stub.assert_no_pending_responses()


def test_a_failed_query_says_athena_s_reason(athena) -> None:
    client, stub = athena
    archive = _archive(client, Clock())
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"}, archive.request(Search()))
    stub.add_response("get_query_execution", _state("FAILED", "TABLE_NOT_FOUND: events"), {"QueryExecutionId": "q1"})
    with pytest.raises(SearchFailed, match="Athena query q1 failed: TABLE_NOT_FOUND: events"):
        archive.search(Search())


def test_a_query_still_running_at_the_timeout_is_reported_not_waited_for(athena) -> None:
    client, stub = athena
    clock = Clock()
    archive = _archive(client, clock, timeout=3)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"}, archive.request(Search()))
    for _ in range(4):
        stub.add_response("get_query_execution", _state("RUNNING"), {"QueryExecutionId": "q1"})
    with pytest.raises(SearchFailed, match=r"still RUNNING after 3 s; narrow it with --since"):
        archive.search(Search())
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_a_malformed_where_is_one_line_and_reaches_no_stack(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_STACK", "a-stack-that-does-not-exist")
    assert main(["events", "search", "--where", 'source = "github" and body.x = ']) == 1
    err = capsys.readouterr().err
    assert err == "error: --where: expected a value at column 32\n"


def test_a_stack_without_an_archive_is_told_how_to_get_one(capsys, monkeypatch) -> None:
    from hookline.commands import events_search
    from hookline.operations.stack import StackInfo

    stack = StackInfo(outputs={"EventsTableName": "t"}, origin="stack hookline")
    monkeypatch.setattr(events_search, "stack_for", lambda args: stack)
    assert main(["events", "search", "--where", 'type = "x"']) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the stack (stack hookline) keeps no event archive: it was deployed with "
                          "ArchiveRetentionDays=0") and err.count("\n") == 1
