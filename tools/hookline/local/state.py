"""`hookline dev`'s AWS state across restarts: a snapshot of the embedded moto server's backends.

moto keeps every service's state in memory, in one `BackendDict` per service (moto has no
persistence of its own; its recorder replays requests, which would redo time-dependent
SQS and DynamoDB operations differently). So the backends in use are pickled, together with
the provisioned resources, to `.hookline/emulator.pickle`:

- on change: a WSGI gate in front of moto counts the requests that can change state; a
  saver thread writes a snapshot when the count moved (at most every `interval` seconds, 2 s,
  or less often when a big state takes long to pickle), so a crash loses at most that much;
- on a clean stop, after the gateway, pollers and schedules have stopped.

The gate also makes each snapshot consistent: requests hold it shared, a snapshot holds it
alone, waiting out the requests in flight. SQS long polls would make that wait (and every
request queued behind the snapshot) last seconds, so the gate runs them as short polls every
50 ms until a message comes or the wait time is over. The snapshot is
only restored when template, parameters, moto and Python are the ones it was taken with;
otherwise it is set aside and dev starts empty. It is a pickle: load only your own.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import pickle  # nosec B403 - dev's own snapshot; loaded only if owned by the user and not writable by others
import sys
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

FORMAT = 1
SNAPSHOT_NAME = "emulator.pickle"
_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())
# Request actions that never change state (X-Amz-Target or Action=...); anything else counts as a change.
_READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Head")
_POLL_STEP = 0.05  # seconds between the short polls that stand in for an SQS long poll


class StateError(Exception):
    """The saved state cannot be used (the reason is printed; dev starts empty)."""


def fingerprint(template_file: Path, parameters: dict[str, str]) -> str:
    """What a snapshot is only valid with: the template, its parameters, moto, Python, this format."""
    h = hashlib.sha256()
    h.update(template_file.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True).encode())
    h.update(f"moto {version('moto')} python {sys.version_info[:2]} format {FORMAT}".encode())
    return h.hexdigest()


@dataclass
class Saved:
    fingerprint: str
    saved_at: float
    port: int
    resources: Any
    backends: dict[tuple[str, str], dict[str, Any]]  # (module, service name) -> {account id: backends}


# ---------------------------------------------------------------------------------------- pickling
def _live_backend_dicts() -> Iterator[tuple[tuple[str, str], Any]]:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.core.base_backend import BackendDict

    for bd in list(BackendDict._instances):
        yield (bd.backend.__module__, bd.service_name), bd


def _find_backend_dict(key: tuple[str, str]) -> Any:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.core.base_backend import BackendDict

    module = importlib.import_module(key[0])
    for value in vars(module).values():
        if isinstance(value, BackendDict) and value.service_name == key[1]:
            return value
    raise StateError(f"moto has no {key[1]} backend in {key[0]} any more")


class _Pickler(pickle.Pickler):
    """Locks become fresh locks; a BackendDict met inside the graph stays a reference to moto's live one."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK):
            return (threading.Lock, ())
        if isinstance(obj, _RLOCK):
            return (threading.RLock, ())
        if isinstance(obj, weakref.WeakValueDictionary):  # moto's Lambda index: its values live elsewhere too
            return (weakref.WeakValueDictionary, (dict(obj),))
        if isinstance(obj, defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            empty = obj.default_factory()  # moto's `defaultdict(lambda: {})`: a lambda cannot be pickled, its type can
            if type(empty) in (dict, list, set) and not empty:
                return (_defaultdict_of, (type(empty), dict(obj)))
        if _is_private_key(obj):  # moto's KMS keys

            pem = obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            return (_load_private_key, (pem,))
        return NotImplemented

    def persistent_id(self, obj: Any) -> Any:
        # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
        from moto.core.base_backend import BackendDict

        if isinstance(obj, BackendDict):
            return ("backend-dict", obj.backend.__module__, obj.service_name)
        return None


def _defaultdict_of(factory: type, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


def _load_private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, None)


def _is_private_key(obj: Any) -> bool:
    if "cryptography" not in type(obj).__module__:
        return False

    return isinstance(obj, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and len(pid) == 3 and pid[0] == "backend-dict":
            return _find_backend_dict((pid[1], pid[2]))
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------- the gate
class WriteGate:
    """WSGI middleware in front of moto: requests run shared, a snapshot runs alone; counts changes."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.changes = 0
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        action = _action(environ)
        if action == "ReceiveMessage":
            wait, request = _long_poll(environ)
            if 0 < wait <= 20:  # SQS's range; moto answers anything else itself
                return self._long_poll(environ, request, wait, start_response)
        return [self._once(environ, action, start_response)]

    def _once(self, environ: dict[str, Any], action: str, start_response: Callable[..., Any]) -> bytes:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._active += 1
        body = b"?"  # an app that raised may have changed something
        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)  # the whole answer is computed while the state is consistent
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            with self._cond:
                self._active -= 1
                if _changes_state(environ, action, body):
                    self.changes += 1
                self._cond.notify_all()
        return body

    def _long_poll(self, environ: dict[str, Any], request: dict[str, Any], wait: float,
                   start_response: Callable[..., Any]) -> Iterable[bytes]:
        """An SQS long poll as short polls: a snapshot never waits for a receive that is only waiting."""
        deadline = time.monotonic() + wait
        raw = json.dumps({**request, "WaitTimeSeconds": 0}).encode()
        answer: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer[:] = [(status, headers)]
            return lambda _data: None

        while True:
            env = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
            body = self._once(env, "ReceiveMessage", capture)
            if (b"ReceiptHandle" in body or not answer or not answer[0][0].startswith("200")
                    or time.monotonic() >= deadline):
                break
            time.sleep(min(_POLL_STEP, max(0.0, deadline - time.monotonic())))
        if answer:
            start_response(*answer[0])
        return [body]

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True  # new requests wait from here on
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def _action(environ: dict[str, Any]) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    if target:
        return target.rpartition(".")[2]
    if "Action=" in str(environ.get("QUERY_STRING") or ""):
        return parse_qs(environ["QUERY_STRING"]).get("Action", [""])[0]
    if "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE") or ""):
        # Query protocol (SNS, IAM, CloudFormation, ...): the action is in the form body; put it back for moto.

        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        return parse_qs(raw.decode("latin-1")).get("Action", [""])[0]
    return ""


def _long_poll(environ: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """(WaitTimeSeconds, the request) of a JSON-protocol ReceiveMessage; (0, {}) when it is not a long poll."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
    except (ValueError, OSError):
        return 0, {}
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        request = json.loads(raw or b"{}")
        wait = float(request.get("WaitTimeSeconds") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0, {}
    return wait, request


def _changes_state(environ: dict[str, Any], action: str, body: bytes) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return False
    if action == "ReceiveMessage":  # a long poll that found nothing changed nothing
        return b"ReceiptHandle" in body
    return not action.startswith(_READ_PREFIXES) if action else True


# ---------------------------------------------------------------------------------------- the store
class StateStore:
    """The snapshot file and the saver thread for one embedded moto server."""

    def __init__(self, path: Path, fingerprint: str, *, interval: float = 2.0,
                 note: Callable[[str], None] = print) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.interval = interval
        self.note = note
        self.resources: Any = None
        self.port = 0
        self.gate: WriteGate | None = None
        self.saves = 0
        self.last_saved = 0.0
        self._saved_changes = -1
        self._skip: set[tuple[str, str]] = set()  # backends that cannot be pickled (reported once)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._save_lock = threading.Lock()

    # -- loading
    def load(self) -> Saved | None:
        """The saved state, or None (no file, or not usable: then it is moved aside and the reason noted)."""
        if not self.path.is_file():
            return None
        try:
            st = self.path.stat()
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                raise StateError("it is not owned by you or is writable by others")
            saved = _Unpickler(io.BytesIO(self.path.read_bytes())).load()
            if not isinstance(saved, Saved):
                raise StateError("not a hookline dev snapshot")
            if saved.fingerprint != self.fingerprint:
                raise StateError("template.yaml, its parameters or the moto version changed since it was saved")
        except (StateError, OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
                ValueError) as e:
            aside = self.path.with_suffix(".unused.pickle")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            self.note(f"saved state not restored ({e}); starting empty (it is kept in {aside.name})")
            return None
        return saved

    def restore(self, saved: Saved) -> Any:
        """Put the saved backends in place of moto's (before anything talks to it); returns the resources."""
        for key, accounts in saved.backends.items():
            live = _find_backend_dict(key)
            dict.clear(live)
            dict.update(live, accounts)
            # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
            from moto.core.base_backend import BackendDict

            if live not in BackendDict._instances:
                BackendDict._instances.append(live)
        self.resources = saved.resources
        self.last_saved = saved.saved_at
        return saved.resources

    # -- saving
    def attach(self, server: Any, resources: Any, port: int) -> None:
        """Gate the running moto server (a werkzeug server: its `app` is read per request) and start saving."""
        self.gate = WriteGate(server.app)
        server.app = self.gate
        self.resources = resources
        self.port = port
        self._thread = threading.Thread(target=self._run, name="state-saver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = self.interval
        while not self._stop.wait(pause):
            pause = self.interval
            if self.gate is not None and self.gate.changes != self._saved_changes:
                started = time.monotonic()
                try:
                    self.save()
                except Exception as e:  # keep serving; say why once per failure
                    self.note(f"state not saved: {type(e).__name__}: {e}")
                # A big state takes a while to pickle, with requests held: keep that under a fifth of the time.
                pause = max(self.interval, 4 * (time.monotonic() - started))

    def save(self) -> int:
        """Write a consistent snapshot now; returns its size in bytes."""
        if self.gate is None:
            raise RuntimeError("attach() first")
        with self._save_lock:
            with self.gate.exclusive():
                changes = self.gate.changes
                data = self._snapshot()
            tmp = self.path.with_suffix(".tmp")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), 0o600)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._saved_changes = changes
            self.saves += 1
            return len(data)

    def _snapshot(self) -> bytes:
        backends = {key: dict(bd) for key, bd in _live_backend_dicts() if key not in self._skip}
        now = time.time()
        with contextlib.suppress(Exception):  # the usual case; else find the culprits below
            return _dumps(Saved(self.fingerprint, now, self.port, self.resources, backends))
        for key in list(backends):  # find the ones that cannot be pickled, leave them out from now on
            try:
                _dumps(backends[key])
            except Exception as e:
                self._skip.add(key)
                del backends[key]
                self.note(f"state of {key[1]} is not saved across restarts ({type(e).__name__}: {e})")
        return _dumps(Saved(self.fingerprint, now, self.port, self.resources, backends))

    def stop(self, *, save: bool = True) -> None:
        """Stop the saver; with `save`, write the final snapshot (call before the server stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if save and self.gate is not None:
            self.save()
