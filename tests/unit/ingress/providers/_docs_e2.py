"""Cases for entries no SDK verifies and whose docs print no complete example (secret, body and signature):
each request is signed here with the standard library exactly as the linked signing docs describe
(header, prefix, algorithm, encoding, signed content), never with hookline's sign(). Weaker than an SDK or a
published vector, so each says so in its `signer`."""

from __future__ import annotations

from tests.unit.ingress.providers._cases_e2 import Case


def docs_cases() -> list[Case]:
    return []
