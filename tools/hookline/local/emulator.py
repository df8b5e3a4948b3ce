"""The embedded AWS: moto's server on 127.0.0.1, with template.yaml deployed into it as a stack.

`Emulator.start()` must run before any handler builds a boto3 client: it points this
process at the server (`AWS_ENDPOINT_URL`, a region and dummy credentials in os.environ),
which is how the unmodified handlers and the other CLI commands find it.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import boto3

from hookline.local import cfn, moto_fixes

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "hookline-dev"

# What a Lambda process has and boto3 needs; the values mean nothing to moto.
_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "hookline-dev",
    "AWS_SECRET_ACCESS_KEY": "hookline-dev",  # the local emulator takes any key # nosec B105
    # Never fetch X-Ray segments or EMF to stdout locally; the console shows what happened.
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_DISABLED": "1",
}
_DROPPED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


_preloading: threading.Thread | None = None


class SameMachineOnly:
    """WSGI guard in front of moto's server: it answers the boto3 clients of this machine only.

    moto's server reflects any Origin in CORS headers, so a page on any site open in the developer's
    browser could read the emulator (payloads, queues) or change it. boto3 never sends Origin nor
    Sec-Fetch-Site; browsers send one or both on every request a page makes, so those are refused
    with no Access-Control-* header (a preflight fails, a form post has no effect), as is a Host
    other than the one the endpoint was given (a page whose name was rebound to 127.0.0.1).
    """

    def __init__(self, app: Any, hosts: set[str]) -> None:
        self.app = app
        self.hosts = hosts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        problem = self.refusal(environ)
        if problem is not None:
            body = f"{problem}: hookline dev's AWS endpoint answers no cross-origin requests\n".encode()
            start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [(k, v) for k, v in headers
                                           if not k.lower().startswith("access-control-")], *exc)

        return self.app(environ, without_cors)

    def refusal(self, environ: dict[str, Any]) -> str | None:
        if "HTTP_ORIGIN" in environ:
            return f"a request from a web page (Origin: {environ['HTTP_ORIGIN'][:100]!r})"
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site not in (None, "none", "same-origin"):  # none: typed in the address bar
            return f"a request from a web page (Sec-Fetch-Site: {site[:20]!r})"
        if environ.get("HTTP_HOST") not in self.hosts:
            return f"a request for another host name ({str(environ.get('HTTP_HOST'))[:100]!r})"
        return None


def preload() -> None:
    """Start importing moto's CloudFormation in the background (it imports every moto service: seconds),
    so that it overlaps with reading the config and translating the template. Idempotent."""
    global _preloading
    if _preloading is None:
        _preloading = threading.Thread(target=importlib.import_module, args=("moto.cloudformation.parsing",),
                                       daemon=True, name="import moto.cloudformation")
        _preloading.start()


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.server: Any = None
        self.endpoint_url = ""
        self.region = REGION
        self.account_id = ACCOUNT_ID

    def start(self) -> Emulator:
        # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
        from moto.server import ThreadedMotoServer


        moto_fixes.install()  # atomic conditional writes, before the first request
        preload()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
        self.server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        # werkzeug reads `app` per request (local/state.py gates it the same way). The endpoint is
        # announced (environment, .hookline/dev.json) only after this line, so nothing is told
        # where to find it while it is unguarded.
        self.server._server.app = SameMachineOnly(self.server._server.app, {f"{host}:{port}", f"localhost:{port}"})
        self.endpoint_url = f"http://{host}:{port}"
        for name in _DROPPED_ENV:
            os.environ.pop(name, None)
        os.environ.update(_AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        return self

    def stop(self) -> None:
        if self.server is not None:
            try:
                self.server.stop()
            finally:
                self.server = None

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region)

    def deploy_stack(self, template_file: Path, parameters: dict[str, str] | None = None,
                     stack_name: str = STACK_NAME) -> Any:
        """What `sam deploy` would create, in the emulator: the SAM-translated template_file deployed
        with CloudFormation (`create_stack`). Returns the `cfn.LocalStack`."""
        return cfn.deploy(self.client, template_file, stack_name=stack_name, region=self.region,
                          parameters=parameters)

    def read_stack(self, template_file: Path, stack_name: str = STACK_NAME) -> Any:
        """The `cfn.LocalStack` of a stack already in the emulator (e.g. restored from a snapshot)."""
        return cfn.read_deployed(self.client, template_file, stack_name=stack_name, region=self.region)


def template_path(config: Path, explicit: str | None = None) -> Path:
    """template.yaml: --template, else next to the config or above it, in the working directory, or in the
    checkout this package runs from (an editable install)."""
    if explicit:
        return Path(explicit).resolve()
    checkout = Path(__file__).resolve().parents[3]  # tools/hookline/local/emulator.py
    for base in (config.resolve().parent, *config.resolve().parents, Path.cwd(), checkout):
        candidate = base / "template.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no template.yaml next to {config} or above it, nor in {Path.cwd()}; "
                            "pass --template FILE")
