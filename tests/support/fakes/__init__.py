"""In-memory fakes of the ports (hookline/core/ports.py), for unit tests of the engine, ingress and sync without moto.

Each fake keeps its items in a `MemoryTable` (a dict under one lock: every write is one atomic
step, as a DynamoDB conditional write or transaction is) and evaluates, under that lock, the same
condition its adapter sends as a ConditionExpression, with the adapter's way of failing (False, core's
error, a Powertools exception). The fakes that share the event log table in AWS share one
`MemoryTable` here too: the engine's claims and its attempt log land on the same (event, route) item.

Every fake takes `clock` (epoch seconds) where its adapter reads the time. Powertools computes the
idempotency record's own expiry from the wall clock, so tests that move a clock start it at
`time.time()`. tests/integration/test_port_contracts.py runs the same behaviours on these fakes and
on the adapters on moto, so the two cannot drift apart.
"""

from tests.support.fakes.archive import FakeArchive
from tests.support.fakes.claims import FakeClaimStore
from tests.support.fakes.edges import FakePayloadStore, FakeQueue, FakeSecrets, FakeSender, FakeSigner, FakeWarehouse
from tests.support.fakes.handshakes import FakeFetcher, FakeHookSecrets
from tests.support.fakes.stores import FakeGuardStore, FakeSyncStateStore
from tests.support.fakes.tables import FakeEventLog, FakeEventLogEntries, MemoryTable, plain
from tests.support.fakes.targets import FakeTargets

__all__ = [
           "FakeArchive",
           "FakeClaimStore",
           "FakeEventLog",
           "FakeEventLogEntries",
           "FakeFetcher",
           "FakeGuardStore",
           "FakeHookSecrets",
           "FakePayloadStore",
           "FakeQueue",
           "FakeSecrets",
           "FakeSender",
           "FakeSigner",
           "FakeSyncStateStore",
           "FakeTargets",
           "FakeWarehouse",
           "MemoryTable",
           "plain",
]
