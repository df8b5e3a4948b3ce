"""Helper E4's catalog entries: each has a case signed or accepted by the provider's own code (_cases_e4.py)
and each case an entry. The cases go through the same checks as E1's, in test_catalog_e1.py: each verifies
and names the event where the provider's docs put it; one flipped byte of the body, one flipped character
of the signature, a wrong secret, a missing signature header, a changed timestamp and a timestamp outside
the entry's tolerance (either way) are each refused; a wrong secret beside the right one (rotation) does
not stop it."""

from __future__ import annotations

from hookline.ingress.providers import load
from tests.unit.ingress.providers._cases_e4 import all_cases

ALL = all_cases()
ENTRIES = ("openai", "replicate", "gocardless", "easypost", "sanity", "liveblocks", "stytch", "goody",
           "modern-treasury", "orb", "lithic", "cashfree", "finch", "increase")


def test_every_entry_has_a_case_and_every_case_an_entry() -> None:
    assert sorted({c.provider for c in ALL}) == sorted(ENTRIES)
    assert all(load(n).name == n for n in ENTRIES)
