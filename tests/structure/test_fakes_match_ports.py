"""Each fake (tests/support/fakes/) offers every method of its port (hookline/core/ports.py) with the same parameters.

The ports are Protocols, checked by structure: a method added to a port, or a parameter renamed, fails here
until the fake follows (its behaviour is held to the adapter's by tests/integration/test_port_contracts.py).
"""

from __future__ import annotations

import inspect

import pytest

from hookline.core import ports
from tests.support import fakes

PAIRS = [
    (ports.TaskQueue, fakes.FakeQueue),
    (ports.OrderedTaskQueue, fakes.FakeQueue),
    (ports.DeliveryQueues, fakes.FakeQueue),
    (ports.PayloadStore, fakes.FakePayloadStore),
    (ports.EventLog, fakes.FakeEventLog),
    (ports.EventLogEntries, fakes.FakeEventLogEntries),
    (ports.ClaimStore, fakes.FakeClaimStore),
    (ports.GuardStore, fakes.FakeGuardStore),
    (ports.SyncStateStore, fakes.FakeSyncStateStore),
    (ports.Sender, fakes.FakeSender),
    (ports.Secrets, fakes.FakeSecrets),
    (ports.WarehouseSink, fakes.FakeWarehouse),
    (ports.HookSecretStore, fakes.FakeHookSecrets),
    (ports.HttpsFetcher, fakes.FakeFetcher),
    (ports.RequestSigner, fakes.FakeSigner),
    (ports.ArchiveSink, fakes.FakeArchive),
    (ports.TargetSender, fakes.FakeTargets),
]


def _methods(protocol: type) -> dict[str, inspect.Signature]:
    out = {}
    for klass in protocol.__mro__:
        if klass in (object,) or klass.__name__ in ("Protocol", "Generic"):
            continue
        for name, value in vars(klass).items():
            if callable(value) and not name.startswith("_"):
                out.setdefault(name, inspect.signature(value))
    return out


def _params(sig: inspect.Signature) -> list[tuple[str, inspect._ParameterKind]]:
    return [(p.name, p.kind) for p in sig.parameters.values() if p.name != "self"]


def test_every_port_has_a_fake() -> None:
    protocols = {v for v in vars(ports).values() if isinstance(v, type) and getattr(v, "_is_protocol", False)
                 and v.__module__ == ports.__name__}
    assert protocols == {p for p, _ in PAIRS}, "a port without a fake (or a fake of a port that is gone)"


@pytest.mark.parametrize(("port", "fake"), PAIRS, ids=lambda v: v.__name__)
def test_the_fake_offers_every_method_of_its_port_with_the_same_parameters(port: type, fake: type) -> None:
    for name, sig in _methods(port).items():
        assert hasattr(fake, name), f"{fake.__name__} lacks {port.__name__}.{name}"
        theirs = inspect.signature(getattr(fake, name))
        ours = _params(sig)
        if any(kind == inspect.Parameter.VAR_KEYWORD for _, kind in ours):
            assert any(p.kind == inspect.Parameter.VAR_KEYWORD for p in theirs.parameters.values()), \
                f"{fake.__name__}.{name} takes no **kwargs, as {port.__name__}.{name} does"
            continue
        assert _params(theirs) == ours, f"{fake.__name__}.{name}{theirs} differs from {port.__name__}.{name}{sig}"
