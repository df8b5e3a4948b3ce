"""`hookline dev` picks up an edited hookline.yaml: validated first, the old one kept when it is invalid.

The file's modification time and size are polled (once a second: no dependency, works on every
file system and editor, including those that replace the file on save). A changed file is
loaded and checked like at start-up; when valid, the running functions get it (`apply`)
and the console says which routes were added, removed or changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hookline.core.errors import ConfigError, Problem


def config_changes(old: Any, new: Any) -> list[str]:
    """One line per route (and source, destination, sync) added, removed or changed; retry policy too."""
    lines: list[str] = []

    def compare(kind: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        for name in after.keys() - before.keys():
            lines.append(f"{kind} {name}: added")
        for name in before.keys() - after.keys():
            lines.append(f"{kind} {name}: removed")
        for name in before.keys() & after.keys():
            a, b = before[name].model_dump(mode="json"), after[name].model_dump(mode="json")
            if a != b:
                fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                lines.append(f"{kind} {name}: changed ({', '.join(fields)})")

    compare("route", {r.name: r for r in old.routes}, {r.name: r for r in new.routes})
    compare("source", dict(old.sources), dict(new.sources))
    compare("destination", dict(old.destinations), dict(new.destinations))
    compare("sync", dict(getattr(old, "syncs", {}) or {}), dict(getattr(new, "syncs", {}) or {}))
    if old.retry.model_dump(mode="json") != new.retry.model_dump(mode="json"):
        lines.append("retry: changed")
    # Stable output: routes first, then by name within each kind.
    order = {"route": 0, "source": 1, "destination": 2, "sync": 3, "retry:": 4}
    return sorted(lines, key=lambda line: (order.get(line.split(" ", 1)[0], 9), line))


class ConfigWatcher:
    def __init__(self, path: Path, current: Any, *, load: Callable[[Path], Any], apply: Callable[[Any], None],
                 say: Callable[[str], None], interval: float = 1.0) -> None:
        """`load(path)` returns a checked configuration or raises ConfigError; `apply(cfg)` installs it."""
        self.path = path
        self.current = current
        self.load = load
        self.apply = apply
        self.say = say
        self.interval = interval
        self.reloads = 0
        self._seen = self._stamp()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="config-watcher", daemon=True)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def start(self) -> ConfigWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            stamp = self._stamp()
            if stamp == self._seen:
                continue
            self._seen = stamp
            try:
                self.check()
            except Exception as e:  # the watcher must outlive any surprise; the old configuration stays
                self.say(f"{self.path.name}: not reloaded ({type(e).__name__}: {e}); still running the previous one")

    def check(self) -> bool:
        """Load and apply the file now; False (and the problems said) when it is kept as it was."""
        name = self.path.name
        if not self.path.is_file():
            self.say(f"{name}: the file is gone; still running the previous configuration")
            return False
        try:
            new = self.load(self.path)
        except ConfigError as e:
            self._problems(e.problems)
            return False
        changes = config_changes(self.current, new)
        if not changes:
            self.say(f"{name} saved, no change to sources, destinations, routes or retries")
            self.current = new
            self.apply(new)
            return True
        self.apply(new)
        self.current = new
        self.reloads += 1
        self.say(f"{name} reloaded: {len(changes)} change(s); new events and deliveries use it")
        for line in changes:
            self.say(f"  {line}")
        return True

    def _problems(self, problems: list[Problem]) -> None:
        problems = list(dict.fromkeys(problems))  # two checks finding the same thing: said once, with one fix
        self.say(f"{self.path.name} NOT reloaded: {len(problems)} problem(s); still running the previous "
                 "configuration")
        for p in problems:
            self.say(f"  - {p.path or '<file>'}: {p.message}")
            if p.hint:
                self.say(f"      fix: {p.hint}")
