"""What `hookline dev` prints once it is ready: where everything is, and a command to try."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def say(text: str = "") -> None:
    print(text, flush=True)


def show(dev: Any, seconds: float) -> None:
    """The start-up summary of a ready `commands.dev.DevRuntime`."""
    cfg = dev.cfg
    say(f"hookline dev — {rel(dev.template_file)} + {rel(dev.config_path)}")
    if dev.env_file:
        names = ", ".join(dev.env_names) or "nothing new"
        say(f"  secrets    {rel(dev.env_file)}: {names}")
    endpoint = dev.emulator.endpoint_url
    say(f"  AWS        {endpoint} (moto, {dev.emulator.region}); state in {rel(dev.state_file)}")
    say(f"             other shells: export AWS_ENDPOINT_URL={endpoint}  (hookline dlq/events/report "
        "find it here without flags)")
    snapshot = rel(dev.state.path)
    if dev.restored is not None:
        saved_at = time.strftime("%H:%M:%S", time.localtime(dev.restored.saved_at))
        say(f"  state      restored from {snapshot} (saved {saved_at}); --fresh starts empty")
    else:
        say(f"  state      {'empty (--fresh)' if dev.args.fresh else 'new'}: saved to {snapshot} as it "
            "changes and at Ctrl-C, restored at the next start")
    say(f"  config     {rel(dev.config_path)} is reloaded when it changes")
    if dev.log_file is not None:
        say(f"  logs       {rel(dev.log_file)}: the functions' JSON logs (level {dev.args.log_level}) and EMF "
            "metrics (--log-file - prints them here)")
    urls = []
    for route in dev.gateway.api.routes:
        if "{source}" in route.path:
            urls += [f"{route.method} {dev.gateway.url}{route.path.replace('{source}', s)}" for s in cfg.sources]
        else:
            urls.append(f"{route.method} {dev.gateway.url}{route.path}")
    for i, url in enumerate(urls or ["(no HttpApi routes in the template)"]):
        say(f"  {'ingress' if i == 0 else '':<10} {url}")
    for i, line in enumerate(dev.delivery_lines):
        say(f"  {'delivery' if i == 0 else '':<10} {line}")
    for i, line in enumerate(dev.schedule_lines):
        say(f"  {'schedules' if i == 0 else '':<10} {line}")
    if dev.crm is not None:
        say(f"  demo CRM   {dev.crm.url} (prints what it receives, answers 200)")
    if dev.orders is not None:
        say(f"  demo shop  {dev.orders.url} (paged orders; one changes and one arrives every "
            f"{dev.orders.change_seconds:.0f} s)")
    for i, line in enumerate(dev.warehouse_lines):
        say(f"  {'warehouse' if i == 0 else '':<10} {line}")
    for i, line in enumerate(getattr(dev, "target_lines", [])):
        say(f"  {'targets' if i == 0 else '':<10} {line}")
    for note in dev.notes:
        say(f"  note       {note}")
    example = send_example(dev.cfg, dev.config_path)
    if example:
        say(f"  try        {example}")
    say(f"ready in {seconds:.1f} s — Ctrl-C to stop")


def send_example(cfg: Any, config_path: Path) -> str:
    if not cfg.sources:
        return ""
    source = next(iter(cfg.sources))
    payloads = sorted((config_path.parent / "payloads").glob(f"{source}*.json"))
    data = f" --data {rel(payloads[0])}" if payloads else ""
    return f"hookline send {source}{data}"


def rel(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
