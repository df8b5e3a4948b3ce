"""Helper E2's catalog entries, each checked against a request signed by something that is not hookline:
accepted with the event id and type where the provider's docs put them, and refused (SignatureError) when
one byte of the body, one character of the signature or the timestamp changes, when the secret is wrong,
and when the timestamp is older (or newer) than the tolerance."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from hookline.ingress.providers import Request, load, verify
from hookline.ingress.signatures import SignatureError
from tests.unit.ingress.providers._cases_e2 import PUBLISHED_EXAMPLES, Case, all_cases, published_examples

CASES = all_cases()
STAMPED = [c for c in CASES if c.timestamp is not None]
# Helper E2's entries, each named here so a new one without a case (or a case without its entry) fails below.
ENTRIES = [load("mux"), load("webflow"), load("workos"), load("pusher"), load("coinbase-commerce"), load("box"),
           load("onfido"), load("brex"), load("pagerduty"), load("sentry"), load("teams"), load("nylas"),
           load("docusign"), load("buildkite"), load("woocommerce"), load("circleci"),
           # helper E3 replaced these entries' docs-computed cases with the provider's own code
           load("cal-com"), load("segment"), load("lemonsqueezy"), load("webex"),
           # proof = "signing docs" (see _docs_e2.py)
           load("bitbucket"), load("gitea"), load("terraform-cloud"), load("vercel"),
           load("heroku"), load("launchdarkly"), load("attio"),
           load("maxio"), load("trello"), load("frameio"), load("customerio"), load("persona"), load("close")]


def test_every_entry_has_exactly_one_case() -> None:
    assert sorted(c.provider for c in CASES) == sorted(e.name for e in ENTRIES)


def request(case: Case, **changes) -> Request:
    c = dataclasses.replace(case, **changes)
    return Request(method=c.method, headers=dict(c.headers), body=c.body, query=dict(c.query), url=c.url)


def run(case: Case, secrets: list[str] | None = None, *, now: float | None = None, **changes):
    return verify(load(case.provider), secrets if secrets is not None else [case.secret], request(case, **changes),
                  now=case.now if now is None else now)


@pytest.mark.parametrize("name", PUBLISHED_EXAMPLES)
def test_every_published_example_verifies(name: str) -> None:
    # Each printed (secret, body, signature) triple, not only the one the other tests take.
    data, cases = published_examples(name)
    assert data["source_url"].startswith("https://") and data["quoted_from"]
    assert len(cases) == len(data["examples"]) > 0
    for case in cases:
        run(case)
        with pytest.raises(SignatureError):
            run(case, body=case.body + b" ")


def ids(cases: list[Case]) -> list[str]:
    return [c.provider for c in cases]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_accepts_the_independently_signed_request(case: Case) -> None:
    result = run(case)
    assert (result.event_id, result.event_type) == (case.event_id, case.event_type), case.signer
    assert result.timestamped == (case.timestamp is not None)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_accepts_with_any_of_several_secrets(case: Case) -> None:
    run(case, ["", "not-the-secret-" + case.secret[::-1], case.secret])


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_refuses_a_flipped_body_byte(case: Case) -> None:
    body = bytearray(case.body)
    body[len(body) // 2] ^= 0x01
    with pytest.raises(SignatureError):
        run(case, body=bytes(body))


def _flip(sig: str) -> str:
    # '0' and '1' are valid in hex and base64 alike; changing the first character changes the decoded bytes.
    return ("1" if sig[0] == "0" else "0") + sig[1:]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_refuses_a_flipped_signature_character(case: Case) -> None:
    value = case.headers[case.signature_in]
    assert case.signature in value, "the case names the signature as it is sent"
    headers = case.headers | {case.signature_in: value.replace(case.signature, _flip(case.signature), 1)}
    with pytest.raises(SignatureError):
        run(case, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_refuses_a_wrong_secret_and_a_missing_signature(case: Case) -> None:
    # A middle character, flipped within hex and base64 alike: a changed trailing byte could be HMAC's own
    # zero padding (a key one 0x00 longer is the same HMAC key).
    mid = len(case.secret) // 2
    wrong = case.secret[:mid] + _flip(case.secret[mid:])
    with pytest.raises(SignatureError):
        run(case, [wrong])
    headers = {k: v for k, v in case.headers.items() if k != case.signature_in}
    with pytest.raises(SignatureError, match=r"(?i)missing"):
        run(case, headers=headers)


def _seconds(case: Case) -> float:
    assert case.timestamp is not None
    if case.timestamp_format == "unix-ms":
        return int(case.timestamp) / 1000
    if case.timestamp_format == "iso8601":
        return datetime.fromisoformat(case.timestamp).timestamp()
    return float(case.timestamp)


def _changed(case: Case) -> str:
    assert case.timestamp is not None
    if case.timestamp_format == "iso8601":
        assert case.timestamp_changed and case.timestamp_changed != case.timestamp
        return case.timestamp_changed
    return str(int(case.timestamp) + 1)


@pytest.mark.parametrize("case", STAMPED, ids=ids(STAMPED))
def test_refuses_a_changed_timestamp(case: Case) -> None:
    new = _changed(case)
    if case.timestamp_in == "body":
        changes = {"body": case.body.replace(case.timestamp.encode(), new.encode(), 1)}
    else:
        assert case.timestamp_in is not None
        changes = {"headers": case.headers | {case.timestamp_in: case.headers[case.timestamp_in].replace(
            case.timestamp, new, 1)}}
    with pytest.raises(SignatureError):
        run(case, **changes)


@pytest.mark.parametrize("case", STAMPED, ids=ids(STAMPED))
def test_refuses_a_stale_or_future_timestamp(case: Case) -> None:
    entry = load(case.provider)
    tolerance = entry.tolerance_seconds
    assert tolerance == case.tolerance_seconds, "the entry's tolerance is the one the provider documents"
    sent = _seconds(case)
    run(case, now=sent + tolerance - 1)  # still fresh at the edge
    with pytest.raises(SignatureError, match="tolerance"):
        run(case, now=sent + tolerance + 1)
    with pytest.raises(SignatureError, match="tolerance"):
        run(case, now=sent - tolerance - 1)
