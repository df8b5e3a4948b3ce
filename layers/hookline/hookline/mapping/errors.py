"""The two ways a mapping fails: the spec is invalid (compile time), or one event cannot be mapped."""

from __future__ import annotations


class MappingSpecError(Exception):
    """The transform itself is invalid. `problems` lists every (location, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {loc or '<transform>'}: {msg}" for loc, msg in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in transform:\n{lines}")


class MappingError(Exception):
    """One event could not be mapped: a permanent failure (retrying cannot fix it)."""

    permanent = True

    def __init__(self, field: str, reason: str, *, path: str | None = None,
                 value_type: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.path = path
        self.value_type = value_type
        super().__init__(f"field {field!r}: {reason}")

