"""The catalog entries of helpers E1 and E4 against requests signed by someone else: E1's by independent
libraries and published examples (_cases_e1.py), E4's by the provider's own code (_cases_e4.py).

Every case: the request verifies and names the event where the provider's docs say; one flipped byte of
the signed body, one flipped character of the signature, a changed timestamp, and a timestamp outside the
entry's tolerance (either way) are each refused with SignatureError; a second, wrong secret (rotation)
does not stop the right one. test_catalog_e4.py checks E4's list of entries.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from hookline.ingress.providers import Request, load, verify
from hookline.ingress.signatures import SignatureError
from tests.unit.ingress.providers import _cases_e1, _cases_e4
from tests.unit.ingress.providers._cases_e1 import Case

E1, E4 = _cases_e1.all_cases(), _cases_e4.all_cases()
ALL = E1 + E4
IDS = [f"{c.provider}-{i}" if sum(x.provider == c.provider for x in E1) > 1 else c.provider
       for i, c in enumerate(E1)] + [f"{c.provider}-published" if c.signer.startswith("published") else c.provider
                                     for c in E4]
TIMED = [c for c in ALL if c.timestamp is not None]
TIMED_IDS = [i for c, i in zip(ALL, IDS, strict=True) if c.timestamp is not None]
SIGNED = [c for c in ALL if load(c.provider).algorithm != "token"]
SIGNED_IDS = [i for c, i in zip(ALL, IDS, strict=True) if load(c.provider).algorithm != "token"]


def test_the_paddle_case_is_accepted_by_paddles_own_sdk() -> None:
    # Paddle's SDK verifies but does not sign: its case is built from the docs, and proven here.
    from paddle_billing.Notifications.PaddleSignature import PaddleSignature
    from paddle_billing.Notifications.Secret import Secret

    case = next(c for c in E1 if c.provider == "paddle")
    header = {k.lower(): v for k, v in case.request.headers.items()}["paddle-signature"]
    assert PaddleSignature().verify(header, case.request.body.decode(), Secret(case.secret))
    assert not PaddleSignature().verify(header, case.request.body.decode() + " ", Secret(case.secret))


def _check(case: Case, request: Request | None = None, *, now: float | None = None, secrets: list[str] | None = None):
    return verify(load(case.provider), secrets or [case.secret], request or case.request,
                  now=case.now if now is None else now)


def _with_headers(request: Request, **changes: str) -> Request:
    return dataclasses.replace(request, headers={**request.headers, **changes})


def _flip_char(text: str) -> str:
    """The first character changed to another of the same alphabet (hex stays hex, base64 stays base64).
    The first, not the last: base64's last character may carry only padding bits."""
    first = text[0]
    other = ("1" if first == "0" else "0") if first in "0123456789abcdefABCDEF" else ("B" if first == "A" else "A")
    return other + text[1:]


def _flip_body(case: Case) -> Request:
    body = case.request.body.decode()
    if case.body_target:  # only this part of the body is signed: flip a byte of it
        at = body.index(case.body_target)
    else:  # the last letter of the body: inside a value or a key, the JSON stays JSON
        at = max(i for i, ch in enumerate(body) if ch.isascii() and ch.isalpha())
    flipped = body[:at] + body[at].swapcase() + body[at + 1:]
    assert flipped != body
    return dataclasses.replace(case.request, body=flipped.encode())


def _bump_last_digit(text: str) -> str:
    m = list(re.finditer(r"\d", text))[-1]
    return text[:m.start()] + str((int(m.group()) + 1) % 10) + text[m.end():]


def _change_timestamp(case: Case) -> Request:
    assert case.timestamp is not None and case.timestamp_in is not None
    changed = _bump_last_digit(case.timestamp)
    if case.timestamp_in == "body":
        body = case.request.body.decode()
        assert body.count(case.timestamp) >= 1
        return dataclasses.replace(case.request, body=body.replace(case.timestamp, changed, 1).encode())
    value = case.request.headers[case.timestamp_in]
    assert case.timestamp in value
    return _with_headers(case.request, **{case.timestamp_in: value.replace(case.timestamp, changed, 1)})


# ------------------------------------------------------------------ accepted, and where the event is named


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_the_independent_signature_verifies(case: Case) -> None:
    result = _check(case)
    assert result.event_id == case.event_id, case.signer
    assert result.event_type == case.event_type, case.signer
    assert result.timestamped is (case.timestamp is not None)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_the_entry_says_how_it_was_proved(case: Case) -> None:
    entry = load(case.provider)
    assert entry.proof and entry.docs.startswith("https://") and entry.setup and entry.secret
    if entry.proof in ("published example", "signing docs"):
        assert entry.proof_url
    # What `hookline sources` and the docs say proved the entry is what signed this provider's cases.
    signers = " | ".join(c.signer.lower() for c in ALL if c.provider == case.provider)
    assert entry.proof.removesuffix(" (npm)").lower() in signers, (entry.proof, signers)


# ------------------------------------------------------------------ refused


@pytest.mark.parametrize("case", SIGNED, ids=SIGNED_IDS)
def test_one_flipped_byte_of_the_signed_body_is_refused(case: Case) -> None:
    with pytest.raises(SignatureError):
        _check(case, _flip_body(case))


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_one_flipped_character_of_the_signature_is_refused(case: Case) -> None:
    flipped = _flip_char(case.signature)
    if case.signature_in == "body":
        body = case.request.body.decode()
        request = dataclasses.replace(case.request, body=body.replace(case.signature, flipped, 1).encode())
    else:
        value = case.request.headers[case.signature_in]
        assert case.signature in value
        request = _with_headers(case.request, **{case.signature_in: value.replace(case.signature, flipped, 1)})
    with pytest.raises(SignatureError):
        _check(case, request)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_a_wrong_secret_is_refused_and_rotation_keeps_the_right_one(case: Case) -> None:
    wrong = _wrong_secret(case)
    with pytest.raises(SignatureError):
        _check(case, secrets=[wrong])
    assert _check(case, secrets=[wrong, case.secret]).event_id == case.event_id


def _wrong_secret(case: Case) -> str:
    if case.wrong_secret is not None:
        return case.wrong_secret
    if load(case.provider).key == "whsec":
        return "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    return _flip_char(case.secret)


@pytest.mark.parametrize("case", TIMED, ids=TIMED_IDS)
def test_a_changed_timestamp_is_refused(case: Case) -> None:
    with pytest.raises(SignatureError):
        _check(case, _change_timestamp(case))


@pytest.mark.parametrize("case", TIMED, ids=TIMED_IDS)
def test_the_tolerance_is_the_entrys_in_both_directions(case: Case) -> None:
    assert case.signed_at is not None and case.tolerance is not None
    assert load(case.provider).tolerance_seconds == case.tolerance
    inside = case.tolerance - 1
    _check(case, now=case.signed_at + inside)
    _check(case, now=case.signed_at - inside)
    with pytest.raises(SignatureError, match=r"(?i)timestamp"):
        _check(case, now=case.signed_at + case.tolerance + 1)
    with pytest.raises(SignatureError, match=r"(?i)timestamp"):
        _check(case, now=case.signed_at - case.tolerance - 1)


@pytest.mark.parametrize("case", [c for c in ALL if load(c.provider).algorithm == "token"],
                         ids=[c.provider for c in ALL if load(c.provider).algorithm == "token"])
def test_a_token_sender_signs_nothing_so_its_body_is_not_covered(case: Case) -> None:
    # What the catalog can and cannot promise for GitLab and Okta: the token proves the sender knows the
    # secret, not that the body is what it sent. The docs page says so; this keeps that statement true.
    assert _check(case, _flip_body(case)).event_id == case.event_id
    with pytest.raises(SignatureError, match=f"(?i){re.escape(case.signature_in)}"):
        _check(case, dataclasses.replace(case.request, headers={
            k: v for k, v in case.request.headers.items() if k != case.signature_in}))


@pytest.mark.parametrize("case", SIGNED, ids=SIGNED_IDS)
def test_a_missing_signature_names_where_it_was_expected(case: Case) -> None:
    if case.signature_in == "body":
        body = json.loads(case.request.body)
        del body["signature"]["signature"]
        request = dataclasses.replace(case.request, body=json.dumps(body).encode())
        expected = "signature"
    else:
        request = dataclasses.replace(case.request, headers={
            k: v for k, v in case.request.headers.items() if k != case.signature_in})
        expected = case.signature_in
    with pytest.raises(SignatureError, match=f"(?i){re.escape(expected)}") as caught:
        _check(case, request)
    assert case.secret not in str(caught.value)
