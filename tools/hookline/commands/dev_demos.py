"""`hookline dev --demo-crm PORT --demo-orders PORT`: the demo's CRM and orders API, in the dev process.

Each listens on the port asked for, else (the port is taken: another dev, another program) on a free
one, so that `make dev` starts wherever it runs. The configuration follows through the environment:
the ports are exported as CRM_PORT and ORDERS_PORT before the configuration is loaded, and the demo
configuration's URLs read them (`http://127.0.0.1:${CRM_PORT:-8081}/contacts`, config_env.py). They are
also written to .hookline/dev.json, so commands in other shells (`hookline sync run orders`) load the
configuration with the same values.
"""

from __future__ import annotations

import argparse
import errno
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
CRM_VARIABLE = "CRM_PORT"
ORDERS_VARIABLE = "ORDERS_PORT"


class DemoPortError(Exception):
    """A demo server cannot listen at all (not merely on the port asked for): one line for the user."""


def port_number(text: str) -> int:
    """argparse type of --demo-crm / --demo-orders."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535; 0 = any free port)")
    return port


def listen(make: Callable[[int], Any], port: int, what: str, notes: list[str]) -> Any:
    """`make(port)`, else `make(0)` (any free port) when `port` is in use; the move is noted for the banner."""
    try:
        return make(port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE or port == 0:
            raise DemoPortError(f"{what} cannot listen on {HOST}:{port}: {e.strerror} (choose another port, e.g. "
                                "`make dev CRM_PORT=9081 ORDERS_PORT=9082`, or 0 for any free one)") from None
    try:
        server = make(0)
    except OSError as e:
        raise DemoPortError(f"{what} cannot listen on {HOST}: port {port} is in use and no free port could be "
                            f"had: {e.strerror}") from None
    notes.append(f"{what}: {HOST}:{port} is in use; listening on {HOST}:{server.port} instead "
                 "(the configuration's URLs follow it)")
    return server


def start(args: Any, printer: Callable[[str], None], notes: list[str]) -> tuple[Any, Any, dict[str, str]]:
    """The demo servers asked for, serving, and the variables their ports are exported as."""
    crm = orders = None
    environment: dict[str, str] = {}
    try:
        if args.demo_crm is not None:
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            from hookline.local.demo_crm import DemoCrm

            crm = listen(lambda p: DemoCrm(HOST, p, printer=printer), args.demo_crm, "demo CRM", notes).start()
            environment[CRM_VARIABLE] = str(crm.port)
        if args.demo_orders is not None:
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            from hookline.local.demo_orders import DemoOrders

            orders = listen(lambda p: DemoOrders(HOST, p), args.demo_orders, "demo orders API", notes).start()
            environment[ORDERS_VARIABLE] = str(orders.port)
    except DemoPortError:
        if crm is not None:
            crm.stop()
        raise
    return crm, orders, environment
