"""Helper E4's catalog entries against requests signed or accepted by the provider's own code (see
_cases_e4.py for whose): each verifies and names the event where the provider's docs put it; one flipped
byte of the body, one flipped character of the signature, a wrong secret, a missing signature header, a
changed timestamp and a timestamp outside the entry's tolerance (either way) are each refused; a wrong
secret beside the right one (rotation) does not stop it."""

from __future__ import annotations

import dataclasses
import re

import pytest

from hookline.ingress.providers import load
from hookline.ingress.signatures import SignatureError
from tests.unit.ingress.providers._cases_e1 import Case
from tests.unit.ingress.providers._cases_e4 import all_cases
from tests.unit.ingress.providers.test_catalog_e1 import (
    _change_timestamp,
    _check,
    _flip_body,
    _flip_char,
    _with_headers,
    _wrong_secret,
)

ALL = all_cases()
IDS = [f"{c.provider}-published" if c.signer.startswith("published") else c.provider for c in ALL]
TIMED = [c for c in ALL if c.timestamp is not None]
TIMED_IDS = [i for c, i in zip(ALL, IDS, strict=True) if c.timestamp is not None]
ENTRIES = ("openai", "replicate", "gocardless", "easypost", "sanity", "liveblocks", "stytch", "goody",
           "modern-treasury", "orb", "lithic", "cashfree", "finch", "increase")


def test_every_entry_has_a_case_and_every_case_an_entry() -> None:
    assert sorted({c.provider for c in ALL}) == sorted(ENTRIES)
    assert all(load(n).name == n for n in ENTRIES)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_the_providers_own_signature_verifies(case: Case) -> None:
    result = _check(case)
    assert (result.event_id, result.event_type) == (case.event_id, case.event_type), case.signer
    assert result.timestamped is (case.timestamp is not None)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_the_entry_names_what_proved_it(case: Case) -> None:
    entry = load(case.provider)
    assert entry.docs.startswith("https://") and entry.setup and entry.secret
    signers = " | ".join(c.signer.lower() for c in ALL if c.provider == case.provider)
    assert entry.proof.removesuffix(" (npm)").lower() in signers, (entry.proof, signers)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_one_flipped_byte_of_the_body_is_refused(case: Case) -> None:
    with pytest.raises(SignatureError):
        _check(case, _flip_body(case))


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_one_flipped_character_of_the_signature_is_refused(case: Case) -> None:
    value = case.request.headers[case.signature_in]
    assert case.signature in value
    flipped = value.replace(case.signature, _flip_char(case.signature), 1)
    with pytest.raises(SignatureError):
        _check(case, _with_headers(case.request, **{case.signature_in: flipped}))


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_a_wrong_secret_is_refused_and_rotation_keeps_the_right_one(case: Case) -> None:
    wrong = _wrong_secret(case)
    with pytest.raises(SignatureError):
        _check(case, secrets=[wrong])
    assert _check(case, secrets=[wrong, case.secret]).event_id == case.event_id


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_a_missing_signature_header_is_named(case: Case) -> None:
    request = dataclasses.replace(case.request, headers={
        k: v for k, v in case.request.headers.items() if k != case.signature_in})
    with pytest.raises(SignatureError, match=f"(?i){re.escape(case.signature_in)}") as caught:
        _check(case, request)
    assert case.secret not in str(caught.value)


@pytest.mark.parametrize("case", TIMED, ids=TIMED_IDS)
def test_a_changed_timestamp_is_refused(case: Case) -> None:
    with pytest.raises(SignatureError):
        _check(case, _change_timestamp(case))


@pytest.mark.parametrize("case", TIMED, ids=TIMED_IDS)
def test_the_tolerance_is_the_entrys_in_both_directions(case: Case) -> None:
    assert case.signed_at is not None and case.tolerance == load(case.provider).tolerance_seconds
    inside = case.tolerance - 1
    _check(case, now=case.signed_at + inside)
    _check(case, now=case.signed_at - inside)
    with pytest.raises(SignatureError, match=r"(?i)timestamp"):
        _check(case, now=case.signed_at + case.tolerance + 1)
    with pytest.raises(SignatureError, match=r"(?i)timestamp"):
        _check(case, now=case.signed_at - case.tolerance - 1)
