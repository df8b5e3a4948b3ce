"""What `hookline dev` keeps in .hookline/: dev.json, where the other commands find the running pipeline
(written once it is ready, removed at stop while it is still this process's), and the emulator's snapshot
(local/state.py's `StateStore`: opened at start, saved at stop).

`DevFiles` is mixed into `commands.dev.DevRuntime`, whose attributes it reads and fills.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from hookline.commands.dev_banner import rel as _rel
from hookline.commands.dev_banner import say as _say
from hookline.operations.stack import read_dev_state


class DevFiles:
    def _state_store(self, parameters: dict[str, str]) -> Any:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.state import SNAPSHOT_NAME, StateStore, fingerprint
        from hookline.operations.stack import dev_state_path

        path = dev_state_path().parent / SNAPSHOT_NAME
        return StateStore(path.resolve(), fingerprint(self.template_file, parameters), note=self._note)

    def _write_state(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.operations.stack import dev_state_path, write_dev_state

        previous = _running_dev(dev_state_path())
        if previous:
            self.notes.append(f"{dev_state_path()} belonged to another running hookline dev (pid {previous}); replaced")
        self.ingress_base = self._ingress_base()
        outputs = {**self.stack.outputs, "WebhookUrl": self.ingress_base}
        self.outputs = outputs
        self.state_file = write_dev_state(
            outputs, self.emulator.endpoint_url, self.emulator.region,
            config=str(self.config_path), env_file=str(self.env_file) if self.env_file else None,
            ingress_url=self.ingress_base, template=str(self.template_file), stack_name=self.resources.stack_name,
            resources=self.resources.to_dict(), pid=os.getpid(), log_file=str(self.log_file) if self.log_file else None,
            environment=self.demo_env,
        ).resolve()

    def _ingress_base(self) -> str:
        for route in self.gateway.api.routes:
            if "{source}" in route.path:
                return self.gateway.url + route.path.split("{source}")[0]
        return self.gateway.url + "/"

    def _save_state(self) -> None:
        """The final snapshot, once nothing but a poller's last long poll can still touch the emulator."""
        if self.state is None or self.emulator is None:
            return
        try:
            self.state.stop(save=self.ready)  # a start-up that failed half-way is not worth restoring
        except Exception as e:
            print(f"hookline dev: state not saved: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return
        if self.ready:
            _say(f"state saved to {_rel(self.state.path)} (--fresh at the next start to begin empty)")

    def _remove_state(self) -> None:
        if self.state_file is None:
            return
        if read_dev_state(self.state_file).get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                self.state_file.unlink()
                self.state_file.parent.rmdir()  # only when empty
        self.state_file = None


def _running_dev(state: Path) -> int | None:
    try:
        pid = int(read_dev_state(state).get("pid"))
    except (ValueError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid
