"""The configuration checks the capabilities' checks.py share, pydantic's errors as problems, and the YAML
reader (loaded lazily: Lambda reads the pre-validated JSON form).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jmespath.exceptions import JMESPathError
from pydantic import ValidationError

from hookline.core.config_base import HEADER_SECRET, SECRET_HINT, SECRET_REF
from hookline.core.errors import Problem
from hookline.core.expressions import compile_expression

# Header names whose values are credentials: they must come from a secret reference.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "cookie"}


def yaml_module() -> Any:
    # lazy: yaml (~100 ms) loads only when a YAML file is read; Lambda reads the pre-validated JSON form.
    import yaml

    return yaml


def yaml_load(text: str) -> Any:
    # libyaml's loader: the pure-Python one took most of the load time of a large configuration.
    yaml = yaml_module()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # nosec B506 - a SafeLoader (libyaml)


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            name = "schema" if p == "schema_" else str(p)
            out += ("." if out else "") + name
    return out


_PYDANTIC_HINTS = {
    "missing": "add this key",
    "extra_forbidden": "remove it, or check its spelling against the configuration reference, docs/configuration.md",
    "literal_error": "use one of the listed values",
    "value_error": "",
}
_SECRET_ERROR = "not a secret reference"  # noqa: S105 (an error text) # nosec B105


def pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        hint = SECRET_HINT if msg.startswith(_SECRET_ERROR) else _PYDANTIC_HINTS.get(err["type"], "")
        problems.append(Problem(_loc(loc), msg, hint))
    return problems


def check_jmespath(expr: str, path: str, problems: list[Problem]) -> None:
    try:
        compile_expression(expr)
    except JMESPathError as e:
        detail = str(e).splitlines()[0]
        problems.append(Problem(path, f"invalid JMESPath expression {expr!r}: {detail}",
                                "quote keys with dashes, e.g. headers.\"x-github-event\""))


def check_url(url: str, path: str, problems: list[Problem]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(Problem(path, f"not an absolute http(s) URL: {url!r}", "write it as https://host/path"))


def check_headers(headers: dict[str, str], path: str, problems: list[Problem]) -> None:
    for name, value in headers.items():
        for ref in HEADER_SECRET.findall(value):
            if not SECRET_REF.match(ref):
                problems.append(Problem(f"{path}.{name}", f"{{secret:{ref}}} is not a secret reference",
                                        SECRET_HINT))
        if name.lower() in CREDENTIAL_HEADERS and not HEADER_SECRET.search(value):
            problems.append(Problem(f"{path}.{name}", "credential header holds a plain-text value",
                                    "write it as e.g. \"Bearer {secret:ssm:/crm/token}\""))


def check_schema(spec: dict[str, Any] | str, base_dir: Path, path: str, problems: list[Problem]) -> None:
    # lazy: jsonschema (~230 ms) loads only when a configuration with a schema is checked.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if isinstance(spec, str):
        file = (base_dir / spec).resolve()
        yaml = yaml_module()
        try:
            spec = json.loads(file.read_text()) if file.suffix == ".json" else yaml.safe_load(file.read_text())
        except (OSError, ValueError, yaml.YAMLError) as e:
            problems.append(Problem(path, f"cannot read schema file {str(file)!r}: {e}",
                                    "give a path relative to the configuration file, or an inline schema"))
            return
    try:
        Draft202012Validator.check_schema(spec)
    except SchemaError as e:
        problems.append(Problem(path, f"invalid JSON Schema: {e.message}", "see https://json-schema.org"))


def load_schema(spec: dict[str, Any] | str | None, base_dir: Path) -> dict[str, Any] | None:
    if spec is None or isinstance(spec, dict):
        return spec
    file = base_dir / spec
    text = file.read_text()
    return json.loads(text) if file.suffix == ".json" else yaml_module().safe_load(text)
