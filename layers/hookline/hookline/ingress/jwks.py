"""Public keys of JWT issuers (JWKS URLs), fetched once and kept for `cache_seconds` per process.

Not PyJWT's PyJWKClient: its cache reads time.monotonic() itself, and the rules here must be testable with
a clock the test moves. An unknown `kid` (the issuer rotated its keys) refetches the set, but at most once
per `refetch_seconds`: a stream of tokens with invented kids must not turn ingress into a request amplifier
aimed at the issuer. One lock per URL makes the threads that miss at once share a single fetch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_JWKS_BYTES = 256 * 1024


class KeysUnavailable(Exception):
    """The key set could not be fetched and no usable copy is held (the sender should retry: 503)."""


class UnknownKey(Exception):
    """The token names a key the issuer's set does not have (a 401)."""


@dataclass(frozen=True)
class Key:
    jwk: Any  # jwt.PyJWK: its .key verifies
    alg: str | None  # the algorithm the set publishes the key for, if it names one
    kty: str  # RSA, EC or OKP: which algorithms the key can verify at all


def http_get(url: str, timeout: float = 5.0, max_bytes: int = MAX_JWKS_BYTES) -> bytes:
    """GET `url` (https, or http for a local trial), bounded in time and size; OSError on any failure."""
    # lazy: only jwt sources fetch anything; ingress's cold start does not pay for urllib's request machinery.
    import urllib.error
    import urllib.request

    if not url.startswith(("https://", "http://")):
        raise OSError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json",  # noqa: S310 - scheme checked
                                                   "User-Agent": "hookline"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 # nosec B310 - scheme checked
            body = resp.read(max_bytes + 1)
    except urllib.error.HTTPError as e:
        raise OSError(f"GET {url} answered {e.code}") from None
    except (urllib.error.URLError, ValueError) as e:
        raise OSError(f"GET {url} failed: {getattr(e, 'reason', e)}") from None
    if len(body) > max_bytes:
        raise OSError(f"GET {url} answered more than {max_bytes} bytes")
    return body


@dataclass
class _KeySet:
    keys: dict[str | None, Key] = field(default_factory=dict)
    fetched_at: float | None = None  # when the held keys were fetched (None: never)
    attempted_at: float | None = None  # the last fetch, successful or not
    lock: threading.Lock = field(default_factory=threading.Lock)


class JwksCache:
    """`key(url, kid, ...)`: the issuer's key named `kid`, from the cache or one fetch of its JWKS."""

    def __init__(self, fetch: Callable[[str], bytes] = http_get, clock: Callable[[], float] = time.time) -> None:
        self.fetch = fetch
        self.clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._sets_lock = threading.Lock()

    def _set(self, url: str) -> _KeySet:
        found = self._sets.get(url)
        if found is None:
            with self._sets_lock:
                found = self._sets.setdefault(url, _KeySet())
        return found

    def key(self, url: str, kid: str | None, *, cache_seconds: int = 3600, refetch_seconds: int = 60) -> Key:
        """The key, or UnknownKey / KeysUnavailable. `kid` None: the set's only key (a set of several needs kids)."""
        ks = self._set(url)
        with ks.lock:  # threads that miss together wait here for the first one's fetch, then read its result
            now = self.clock()
            fresh = ks.fetched_at is not None and now - ks.fetched_at < cache_seconds
            found = _pick(ks.keys, kid)
            if fresh and found is not None:
                return found
            recently = ks.attempted_at is not None and now - ks.attempted_at < refetch_seconds
            if not recently:
                ks.attempted_at = now
                try:
                    ks.keys, ks.fetched_at = _parse(self.fetch(url), url), now
                except (OSError, ValueError) as e:
                    if found is None:  # held keys past their time still verify, while the issuer is down
                        raise KeysUnavailable(str(e)) from None
                    return found
                found = _pick(ks.keys, kid)
            elif ks.fetched_at is None:
                raise KeysUnavailable(f"the keys at {url} could not be fetched; next try in at most "
                                      f"{refetch_seconds} s")
        if found is None:
            raise UnknownKey(f"no key {str(kid)[:64]!r} in {url}" + (" (refetched at most once per "
                                                          f"{refetch_seconds} s)" if recently else ""))
        return found


def _pick(keys: dict[str | None, Key], kid: str | None) -> Key | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def _parse(body: bytes, url: str) -> dict[str | None, Key]:
    """{kid: Key} of the usable public keys in a JWKS document (private or unusable ones left out)."""
    # lazy: PyJWT and cryptography load only for jwt sources.
    import jwt

    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError(f"{url} did not answer JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{url} did not answer a JWKS ({{\"keys\": [...]}})")
    keys: dict[str | None, Key] = {}
    for jwk in data["keys"]:
        # A set may hold keys this library or this use cannot take (an "enc" key, an unknown kty): skip them.
        # A symmetric ("oct") key is no public key: a token signed with it would be forgeable by anyone reading the set.
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or "d" in jwk or jwk.get("kty") == "oct":
            continue
        try:
            keys[jwk.get("kid")] = Key(jwt.PyJWK(jwk), jwk.get("alg"), jwk["kty"])
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            continue
    if not keys:
        raise ValueError(f"{url} holds no usable signing key")
    return keys
