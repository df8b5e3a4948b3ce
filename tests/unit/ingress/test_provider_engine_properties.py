"""Hostile input: for every entry in the catalog, verify() answers anything with a result or a SignatureError.

The headers mix each entry's own names (signature, timestamp, id) with arbitrary ones, and values that look
almost right (prefixes, list syntax, base64, hex); bodies are arbitrary bytes or JSON-ish text. Entries added
to the catalog join automatically.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.ingress.providers import Request, load, names, verify
from hookline.ingress.signatures import SignatureError

NOW = 1_760_000_000.0


def _own_headers(name: str) -> list[str]:
    e = load(name)
    found = [e.header, e.timestamp.header if e.timestamp else None, e.id.header if e.id else None,
             e.type.header if e.type else None, "content-type"]
    found += [arg for kind, arg in e.content.parts if kind == "header"]
    return [h for h in found if h]


values = (st.text(max_size=120)
          | st.sampled_from(["v0=" + "a" * 64, "sha256=" + "0" * 64, "t=1,v1=" + "a" * 64, "v1,AAAA",
                             "v1," + "A" * 44, "=" * 44, str(int(NOW)), str(int(NOW * 1000)), "2025-10-09T08:53:20Z",
                             "t=,v1=", ",,,", " ", "\x00", "9" * 40])
          | st.from_regex(r"[A-Za-z0-9+/=,;: -]{0,90}", fullmatch=True))
bodies = (st.binary(max_size=300)
          | st.sampled_from([b"{}", b"[]", b'{"signature":{"timestamp":1,"token":"t","signature":"00"}}', b"a=1&b=2"])
          | st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                         lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                         max_leaves=8).map(lambda v: repr(v).encode()))


@st.composite
def requests(draw: Any) -> tuple[str, Request, list[str]]:
    name = draw(st.sampled_from(names()))
    own = _own_headers(name)
    header_names = st.sampled_from(own) | st.from_regex(r"[a-z-]{1,20}", fullmatch=True)
    headers = draw(st.dictionaries(header_names, values, max_size=6))
    query = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=3))
    secrets = draw(st.lists(st.text(max_size=40) | st.sampled_from(["whsec_AAAA", "-----BEGIN PUBLIC KEY-----",
                                                                    "00" * 32]), max_size=3))
    method = draw(st.sampled_from(["POST", "GET", "PUT"]))
    url = draw(st.none() | st.just("https://h.example/webhooks/x?a=1"))
    return name, Request(method=method, headers=headers, body=draw(bodies), query=query, url=url), secrets


@given(case=requests(), now=st.floats(min_value=0, max_value=4e9, allow_nan=False),
       tolerance=st.none() | st.integers(min_value=1, max_value=86400))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_entry_answers_any_request_with_a_result_or_a_signature_error(
        case: tuple[str, Request, list[str]], now: float, tolerance: int | None) -> None:
    name, request, secrets = case
    try:
        got = verify(load(name), secrets, request, now=now, tolerance_seconds=tolerance)
    except SignatureError as e:
        for secret in secrets:
            if len(secret) >= 8:
                assert secret not in str(e), "a rejection must never carry a secret"
        return
    assert got.event_id is None or (0 < len(got.event_id) <= 200)
