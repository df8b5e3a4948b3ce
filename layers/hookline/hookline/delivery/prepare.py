"""Preparing a delivery: a DeliveryTask -> a request ready to send (steps 2-5 of delivery/engine.py).

Configuration lookup, the body (inline or the S3 claim check), schema-drift checks, mapping and
the destination's format. Failures are `Permanent` (dead-lettered with a reason) or `Retryable`
(the payload could not be read now). Compiled transforms and schema validators are kept per route.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookline.core import outcomes, ports
from hookline.core.config import DestinationConfig, HooklineConfig, RouteConfig, SourceConfig, load_schema
from hookline.core.envelope import BodyParseError, build_envelope, parse_body
from hookline.core.errors import PayloadMissing, StoreUnavailable
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import truncate
from hookline.mapping.errors import MappingError

MAX_SCHEMA_ERRORS = 5


class Permanent(Exception):
    def __init__(self, reason: str, error: str, status_code: int | None = None) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error
        self.status_code = status_code


class Retryable(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class Job:
    """A request ready to send."""

    event_id: str
    route: RouteConfig
    destination: DestinationConfig
    body: bytes
    content_type: str
    mapped_text: str | None  # the mapped JSON, when a transform made the body
    late: Late | None = None  # routes with `enrich`: body made inside the once-per-key send
    # A destination whose url or method depends on the event (mapping/urls.py): this event's; else None.
    url: str | None = None
    method: str | None = None


@dataclass
class Late:
    """Enrichment, mapping and formatting, deferred into the engine's `_send` so a delivered event calls nothing."""

    envelope: dict[str, Any]
    mapped_text: str | None = None
    enriched: dict[str, Any] | None = None


def request_for(dest: DestinationConfig, envelope: dict[str, Any], mapped: Any) -> tuple[str | None, str | None]:
    """(method, url) of a destination whose url or method depends on the event, else (None, None).

    A value that would leave its path segment, or a missing one, is a `mapping` failure: no request is made.
    """
    if dest.type != "http" or not dest.url or ("{" not in dest.url and isinstance(dest.method, str)):
        return None, None
    # lazy: mapping's compiler (~80 ms) loads only for destinations with a templated url or method.
    from hookline.mapping.compiler import MappingSpecError
    from hookline.mapping.urls import resolve_request

    try:
        return resolve_request(dest, envelope, mapped)
    except MappingError as e:
        raise Permanent(outcomes.MAPPING, truncate(f"destination url/method: {e}")) from None
    except MappingSpecError as e:  # `hookline validate` rejects these; a hand-built config may not
        raise Permanent(outcomes.CONFIG, truncate(f"destination url: {e}")) from None


class Preparer:
    """Per engine: what a task's route needs, compiled once (transforms, schema validators)."""

    def __init__(self, config: HooklineConfig, payloads: ports.PayloadStore, config_dir: Path) -> None:
        self.config, self.payloads, self.config_dir = config, payloads, config_dir
        self.transforms: dict[str, Any] = {}
        self.validators: dict[str, Any] = {}
        # boto3's default session creates clients thread-unsafely: the S3 client on first use, under a lock.
        self._payloads_lock = threading.Lock()
        self._payloads_ready = False

    def prepare(self, ctx: Any) -> Job:
        """Steps 2-5 of engine.py for `ctx.task`; sets `ctx.schedule` (the route's) and `ctx.envelope`."""
        cfg, task = self.config, ctx.task
        try:
            route = cfg.route(task.route)
        except KeyError:
            raise Permanent(outcomes.CONFIG, f"route {task.route!r} is not in the configuration "
                                             "(removed or renamed?)") from None
        ctx.schedule = cfg.schedule_for(route)
        source = cfg.sources.get(task.source)
        if source is None:
            raise Permanent(outcomes.CONFIG, f"source {task.source!r} is not in the configuration")
        dest = cfg.destinations.get(route.destination)
        if dest is None:
            raise Permanent(outcomes.CONFIG, f"destination {route.destination!r} of route {route.name!r} "
                                             "is not in the configuration")
        raw = self.load_body(task)
        try:
            parsed = parse_body(raw, task.content_type, source.format)
        except BodyParseError as e:
            raise Permanent(outcomes.PAYLOAD_INVALID, f"{e} (source format {source.format})") from None
        self.check_schema(f"sources.{task.source}.schema", source.schema_, parsed)
        if route.schema_ is not None:  # the label needs a scan of the routes: only when there is a schema
            self.check_schema(f"routes[{_route_index(cfg, route)}].schema ({route.name})", route.schema_, parsed)
        envelope = ctx.envelope = build_envelope(event_id=task.event_id, source=task.source, type=task.type,
                                                 received_at=task.received_at, headers=task.headers, body=parsed)
        if route.transform is None:
            method, url = request_for(dest, envelope, None)
            return Job(task.event_id, route, dest, raw, _passthrough_content_type(task, source, parsed), None,
                       url=url, method=method)
        if route.enrich:
            return Job(task.event_id, route, dest, b"", "", None, late=Late(envelope))

        transform = self.transform(route)
        try:
            mapped = transform.apply(envelope)
        except MappingError as e:
            raise Permanent(outcomes.MAPPING, truncate(str(e))) from None
        except RecursionError:
            raise Permanent(outcomes.MAPPING, f"route {route.name!r}: the body is nested too deeply to map") from None
        body, content_type, text = serialize_mapped(mapped, dest, transform)
        method, url = request_for(dest, envelope, mapped)
        return Job(task.event_id, route, dest, body, content_type, text, url=url, method=method)

    def load_body(self, task: DeliveryTask) -> bytes:
        if task.s3_key is None:
            return task.inline_body()
        if not self._payloads_ready:
            with self._payloads_lock:
                _ = self.payloads.client
                self._payloads_ready = True
        try:
            return self.payloads.get(task.s3_key)
        except PayloadMissing as e:
            raise Permanent(outcomes.PAYLOAD_MISSING, str(e)) from None
        except StoreUnavailable as e:
            raise Retryable(str(e)) from None

    def transform(self, route: RouteConfig) -> Any:
        transform = self.transforms.get(route.name)
        if transform is None:
            # lazy: mapping's compiler (~80 ms) loads on the first route with a transform, not every cold start.
            from hookline.mapping.compiler import MappingSpecError, compile_transform

            try:
                transform = compile_transform(route.transform, self.config_dir)
            except MappingSpecError as e:  # `hookline validate` rejects these; a hand-built config may not
                raise Permanent(outcomes.CONFIG, truncate(f"route {route.name!r}: {e}")) from None
            self.transforms[route.name] = transform
        return transform

    def check_schema(self, where: str, spec: dict[str, Any] | str | None, body: object) -> None:
        if spec is None:
            return
        validator = self.validators.get(where)
        if validator is None:
            validator = self.validators[where] = self.compile_schema(where, spec)
        errors = list(validator.iter_errors(body))
        if errors:
            raise Permanent(outcomes.SCHEMA, describe_schema_errors(where, errors))

    def compile_schema(self, where: str, spec: dict[str, Any] | str) -> Any:
        # lazy: jsonschema (~230 ms) loads on the first route or source with a schema, and yaml (~25 ms of
        # the deliver function's first request) only reads a schema file.
        import yaml
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            schema = load_schema(spec, self.config_dir)
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, yaml.YAMLError, SchemaError) as e:
            detail = e.message if isinstance(e, SchemaError) else f"{type(e).__name__}: {e}"
            raise Permanent(outcomes.CONFIG, truncate(f"cannot use the JSON Schema at {where}: {detail}")) from None
        return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------- helpers


def _route_index(cfg: HooklineConfig, route: RouteConfig) -> int:
    return next((i for i, r in enumerate(cfg.routes) if r.name == route.name), -1)


def serialize_mapped(mapped: Any, dest: DestinationConfig, transform: Any) -> tuple[bytes, str, str]:
    """The mapped body in the destination's format (mapping/formats.py); failures are `mapping`."""
    # lazy: formats (xml, csv writers; ~7 ms) load on the first transform that produces a body.
    from hookline.mapping.formats import FormatError, serialize

    try:
        return serialize(mapped, dest.format, xml_root=dest.xml_root, csv_header=dest.csv_header,
                         columns=transform.columns)
    except FormatError as e:
        raise Permanent(outcomes.MAPPING, truncate(f"{dest.format} body: {e}")) from None
    except RecursionError:
        raise Permanent(outcomes.MAPPING, f"mapped body is nested too deeply to encode as {dest.format}") from None


def _passthrough_content_type(task: DeliveryTask, source: SourceConfig, parsed: object) -> str:
    """Without a transform the original body goes out unchanged: JSON as application/json, else as it came."""
    media = (task.content_type or "").split(";")[0].strip().lower()
    if source.format == "json" or media.endswith(("/json", "+json")):
        return "application/json"
    if source.format == "auto" and media in ("", "text/plain", "application/octet-stream") \
            and not isinstance(parsed, str):
        return "application/json"  # `auto` found JSON in an unlabelled body
    return task.content_type or "application/octet-stream"


def describe_schema_errors(where: str, errors: list[Any], limit: int = MAX_SCHEMA_ERRORS,
                           max_chars: int = 500) -> str:
    """'body does not match sources.x.schema: $.email: 'email' is a required property; ... (+2 more)'.

    The first errors by JSON path, each message cut to 100 characters, as many as fit in
    `max_chars` together with the count of the ones left out.
    """
    ordered = sorted(errors, key=lambda e: (e.json_path, e.message))
    head = f"body does not match {where}: "
    parts: list[str] = []
    for e in ordered[:limit]:
        part = f"{e.json_path}: {truncate(e.message, 100)}"
        rest = len(ordered) - len(parts) - 1
        tail = f" (+{rest} more)" if rest else ""
        if parts and len(head) + len("; ".join([*parts, part])) + len(tail) > max_chars:
            break
        parts.append(part)
    left = len(ordered) - len(parts)
    return truncate(head + "; ".join(parts) + (f" (+{left} more)" if left else ""), max_chars)
