"""`provider: sns` on `hookline dev`, without AWS's SNS: HOOKLINE_DEV_SNS_TRUST=<CA file>@<host>:<port>.

SNS certificate fetches and subscription confirmations then connect to <host>:<port> and trust that CA.
Nothing else changes: only URLs that pass ingress's rule (https on sns.<region>.amazonaws.com exactly) are
fetched at all, and TLS still checks the server's certificate against that SNS host name, so the CA must
issue one for it. For tests and demos; a deployed stack has no such setting.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from hookline.ingress import sns  # the layer's module: `hookline dev` runs the ingress function in this process

ENV = "HOOKLINE_DEV_SNS_TRUST"


def install_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Point SNS's fetcher at the address in HOOKLINE_DEV_SNS_TRUST; the address, or None when unset."""
    value = (os.environ if environ is None else environ).get(ENV, "")
    if not value:
        return None
    cafile, _, address = value.rpartition("@")
    host, _, port = address.rpartition(":")
    if not cafile or not host or not port.isdigit():
        raise ValueError(f"{ENV}={value!r} is not <CA file>@<host>:<port> (e.g. ./ca.pem@127.0.0.1:8443)")
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"{ENV}: cannot read the CA file {cafile}: {e}") from None
    sns.default_fetcher = lambda: sns.HttpsGetter(context, connect_to=(host, int(port)))
    return address
