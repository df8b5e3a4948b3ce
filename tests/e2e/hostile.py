"""Seeded hostile HTTP traffic over raw sockets, and a tally of what came back.

Each case is the bytes of one connection and the number of HTTP answers it must get:
random methods and paths (some with %0d%0a), header values up to 9 KB, bodies up to 4 KB,
valid and malformed chunking, bodies the server never needs (404s), keep-alive pipelines,
oversize headers, declared lengths over the 10 MB payload limit, `Expect: 100-continue`,
HTTP/1.0, garbage request lines and validly signed webhooks. A connection that ends (EOF,
reset, timeout) before all its answers arrived is *dropped*.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import string
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "BREW"]
PATHS = ["/webhooks/github", "/webhooks/github?x=1&x=2", "/webhooks/unknown", "/webhooks/%0d%0aFORGED%20line",
         "/webhooks/%E2%80%A8x", "/", "/webhooks", "/webhooks/github/extra", "/a%00b", "/%zz", "//webhooks//github"]
SAFE = (string.ascii_letters + string.digits + " -_.,;:=/+*()[]{}<>@!?#$%&'\"~^|`").encode()


@dataclass
class Case:
    kind: str
    raw: bytes
    expect: int  # HTTP answers this connection must get
    half_close: bool = True  # shut the write side once sent (not for a body the server must refuse unread)
    heads: tuple[bool, ...] = ()  # per expected answer: was it a HEAD (an answer without a body)


@dataclass
class Outcome:
    kind: str
    expect: int
    statuses: list[int]
    error: str = ""

    @property
    def dropped(self) -> bool:
        return len(self.statuses) < self.expect


@dataclass
class Tally:
    sent: int = 0  # requests (a pipeline of 3 counts 3)
    answered: int = 0
    dropped_connections: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    drops: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, o: Outcome) -> None:
        self.sent += o.expect
        self.answered += min(len(o.statuses), o.expect)
        self.statuses.update(o.statuses)
        self.kinds[o.kind] += 1
        if o.dropped:
            self.dropped_connections += 1
            self.drops.append(o)

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items()))
        return (f"requests sent {self.sent}, answered {self.answered}, dropped connections "
                f"{self.dropped_connections} ({sum(self.kinds.values())} connections in {self.seconds:.1f} s)\n"
                f"  statuses: {statuses}\n  connections by kind: {kinds}")


class Generator:
    def __init__(self, seed: int, github_secret: str) -> None:
        self.rnd = random.Random(seed)
        self.secret = github_secret.encode()
        self.methods: list[str] = []  # of the requests in the case being built

    def _text(self, n: int) -> bytes:
        return bytes(self.rnd.choice(SAFE) for _ in range(n))

    def _header_value(self) -> bytes:
        size = self.rnd.choice([0, 1, 16, 200, 1024, 4096, 9 * 1024])
        value = self._text(self.rnd.randint(0, size))
        if self.rnd.random() < 0.1:
            value += bytes(self.rnd.randint(0x80, 0xFF) for _ in range(8))  # obs-text
        return value.strip()

    def _headers(self) -> list[bytes]:
        out = [b"Host: 127.0.0.1"]
        for i in range(self.rnd.randint(0, 6)):
            name = self.rnd.choice([b"X-Test", b"X-GitHub-Event", b"Cookie", b"User-Agent", b"X-Hub-Signature-256",
                                    b"Accept", b"X-Forwarded-For", f"X-R{i}".encode()])
            out.append(name + b": " + self._header_value())
        if self.rnd.random() < 0.5:
            out.append(b"Content-Type: " + self.rnd.choice([b"application/json", b"text/plain",
                                                             b"application/octet-stream", b"x/\xff"]))
        return out

    def _body(self) -> bytes:
        n = self.rnd.choice([0, 1, 100, 1024, 4096])
        n = self.rnd.randint(0, n)
        if self.rnd.random() < 0.5:
            return bytes(self.rnd.getrandbits(8) for _ in range(n))
        return self._text(n)

    def _request(self, method: str | None = None, path: str | None = None, chunked: bool | None = None) -> bytes:
        method = method or self.rnd.choice(METHODS)
        self.methods.append(method)
        path = path or self.rnd.choice(PATHS)
        headers = self._headers()
        body = self._body()
        if chunked is None:
            chunked = self.rnd.random() < 0.3
        if chunked:
            headers.append(b"Transfer-Encoding: chunked")
            payload = self._chunks(body)
        else:
            if body or self.rnd.random() < 0.5:
                headers.append(f"Content-Length: {len(body)}".encode())
            else:
                body = b""
            payload = body
        return f"{method} {path} HTTP/1.1\r\n".encode() + b"\r\n".join(headers) + b"\r\n\r\n" + payload

    def _chunks(self, body: bytes) -> bytes:
        out = b""
        i = 0
        while i < len(body):
            n = self.rnd.randint(1, max(1, len(body) - i))
            ext = b";name=value" if self.rnd.random() < 0.2 else b""
            out += f"{n:x}".encode() + ext + b"\r\n" + body[i:i + n] + b"\r\n"
            i += n
        trailer = b"X-Trailer: yes\r\n" if self.rnd.random() < 0.2 else b""
        return out + b"0\r\n" + trailer + b"\r\n"

    def signed(self) -> bytes:
        body = json.dumps({"action": "opened", "n": self.rnd.random(), "text": self._text(200).decode()}).encode()
        sig = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        delivery = f"hostile-{self.rnd.getrandbits(64):x}"
        return (f"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"X-Hub-Signature-256: {sig}\r\nX-GitHub-Delivery: {delivery}\r\nX-GitHub-Event: hostile\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def case(self) -> Case:
        self.methods = []
        case = self._case()
        case.heads = tuple(m == "HEAD" for m in self.methods)
        return case

    def _case(self) -> Case:
        r = self.rnd.random()
        if r < 0.35:
            return Case("random", self._request(), 1)
        if r < 0.45:
            return Case("chunked", self._request(method="POST", chunked=True), 1)
        if r < 0.53:
            bad = self.rnd.choice([b"zz", b"-5", b"0x10", b"1 0", b"\x00", b"fffffffffffffffffffff", b"",
                                   b"5\r\nabc"])  # the last one: a chunk shorter than its size, then garbage
            raw = (b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3\r\nabc\r\n" + bad + b"\r\nxyz\r\n0\r\n\r\n")
            return Case("malformed-chunk", raw, 1)
        if r < 0.63:
            n = self.rnd.randint(2, 4)
            raw = b"".join(self._request(method=self.rnd.choice(["GET", "POST", "DELETE"])) for _ in range(n))
            return Case("keep-alive-pipeline", raw, n)
        if r < 0.70:
            # A body nobody reads (404 / wrong method), then the next request on the same connection.
            raw = self._request(method="DELETE", path="/nowhere", chunked=False) + self._request(method="POST")
            return Case("unread-body-then-next", raw, 2)
        if r < 0.75:
            big = b"X-Huge: " + self._text(300 * 1024)
            raw = b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n\r\n"
            return Case("oversize-headers", raw, 1)
        if r < 0.79:
            many = b"".join(f"X-H{i}: {'v' * 100}\r\n".encode() for i in range(3000))
            return Case("too-many-headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", 1)
        if r < 0.84:
            declared = self.rnd.choice([10 * 1024 * 1024 + 1, 50 * 1024 * 1024, 10**12])
            raw = (f"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode()
                   + self._text(4096))
            return Case("declared-over-limit", raw, 1, half_close=False)
        if r < 0.89:
            line = self.rnd.choice([self._text(self.rnd.randint(1, 2000)), b"GET", b"GET / HTTP/9.9",
                                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET /\x00 HTTP/1.1",
                                    b"POST / HTTP/1.1\r\nContent-Length: -1", b"POST / HTTP/1.1\r\nContent-Length: x",
                                    b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3"])
            return Case("garbage", line + b"\r\n\r\n", 1)
        if r < 0.91:
            body = self._body()
            raw = (f"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            return Case("expect-100-continue", raw, 1)
        if r < 0.94:
            method = self.rnd.choice(METHODS)
            self.methods.append(method)
            raw = f"{method} {self.rnd.choice(PATHS)} HTTP/1.0\r\n\r\n".encode()
            return Case("http/1.0", raw, 1)
        return Case("signed-webhook", self.signed(), 1)


def fire(host: str, port: int, case: Case, timeout: float = 15.0) -> Outcome:
    statuses: list[int] = []
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            try:
                s.sendall(case.raw)
                if case.half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before it has all of a refused request: read its answer
            f = s.makefile("rb")
            while len(statuses) < case.expect:
                i = len(statuses)
                status = _read_response(f, head=i < len(case.heads) and case.heads[i])
                if status is None:
                    break
                statuses.append(status)
    except OSError as e:
        return Outcome(case.kind, case.expect, statuses, f"{type(e).__name__}: {e}")
    return Outcome(case.kind, case.expect, statuses, "" if len(statuses) >= case.expect else "EOF")


def _read_response(f: object, head: bool = False) -> int | None:
    """One response's status (interim 1xx answers skipped), its body consumed; None at EOF."""
    while True:
        line = f.readline(65536)  # type: ignore[attr-defined]
        if not line:
            return None
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            return None
        status = int(parts[1])
        length, chunked = 0, False
        while (h := f.readline(65536)) not in (b"\r\n", b"\n", b""):  # type: ignore[attr-defined]
            name, _, value = h.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if 100 <= status < 200:
            continue
        if head or status in (204, 304):
            return status
        if chunked:
            while (size := int(f.readline().split(b";")[0] or b"0", 16)) > 0:  # type: ignore[attr-defined]
                f.read(size + 2)  # type: ignore[attr-defined]
            f.readline()  # type: ignore[attr-defined]
        elif length:
            f.read(length)  # type: ignore[attr-defined]
        return status


def run(host: str, port: int, count: int, seed: int, github_secret: str, workers: int = 4) -> Tally:
    """`count` requests of seeded hostile traffic (over fewer connections: pipelines) from `workers` clients."""
    gen = Generator(seed, github_secret)
    cases: list[Case] = []
    while sum(c.expect for c in cases) < count:
        cases.append(gen.case())
    tally = Tally()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for outcome in pool.map(lambda c: fire(host, port, c), cases):
            tally.add(outcome)
    tally.seconds = time.perf_counter() - start
    return tally
