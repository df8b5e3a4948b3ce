"""`hookline console`: the web console on 127.0.0.1, over the running `hookline dev` or a deployed stack."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hookline.commands._ops import CommandError, add_stack_arg, friendly, stack_for

HOST = "127.0.0.1"  # never another address: the console acts with the operator's credentials


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("console", help="web console on 127.0.0.1: overview, events, DLQ with replay, destinations",
                       description="A local web console over the same operations as `hookline report / events / "
                                   "dlq`. Against a running `hookline dev` it needs no flag; with --stack it uses "
                                   "your own AWS credentials (no new endpoint, no new IAM). It listens on "
                                   "127.0.0.1 only and prints a login link: only the browser that opens it "
                                   "first gets in. Without write permission on the queues it is read-only.")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free port)")
    p.add_argument("--config", type=Path, default=None,
                   help="hookline.yaml, for destinations and the replay's mapping diff (default: the running "
                        "`hookline dev`'s, else $HOOKLINE_CONFIG or ./hookline.yaml)")
    p.add_argument("--read-only", action="store_true", help="never replay, whatever the credentials allow")
    add_stack_arg(p)
    p.set_defaults(func=run)


@friendly
def run(args: argparse.Namespace) -> int:
    try:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.console import Backend
    except ImportError as e:
        raise CommandError(f"the console needs Flask ({e}): pip install 'hookline[local]'") from None

    stack = stack_for(args)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.console.backend import Access, probe_write_access

    # The emulator accepts any credentials: there is nothing to probe.
    probe = (lambda *_: Access(True)) if stack.local else probe_write_access
    backend = Backend(stack, args.config, read_only=args.read_only, probe=probe)
    backend.dlq_depth()  # reach the stack once now: a stale .hookline/dev.json fails here, clearly
    server, login = serve(backend, args.port)
    port = server.server_port
    access = backend.access
    # The link is the only way in (console/access.py): it goes to this terminal, never to a log.
    print(f"hookline console: {login.url(HOST, port)}  ({stack.origin}"
          f"{'' if access.writable else f'; read-only: {access.why}'})", flush=True)
    print("Open that link in your browser: it works once, and signs that browser in while this console runs. "
          "Ctrl-C stops the console.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve(backend: Any, port: int) -> tuple[Any, Any]:
    """The console's HTTP server on 127.0.0.1:`port` (0 = any free port) and its `access.Login`."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from werkzeug.serving import make_server

    from hookline.console import create_app
    from hookline.console.access import Login, RequestHandler

    try:
        server = make_server(HOST, port, None, threaded=True,  # type: ignore[arg-type]
                             request_handler=RequestHandler)
    except OSError as e:
        raise CommandError(f"cannot listen on {HOST}:{port}: {e.strerror or e}; pick another --port") from None
    login = Login(server.server_port)
    server.app = create_app(backend, port=server.server_port, login=login)
    return server, login
