"""`hookline dev`'s start-up steps around the stack: the env file, the configuration's checks, the template
parameters, the functions' one shared environment (and where their JSON logs go), and the AWS resources the
destinations need that the template does not make (warehouse streams and buckets, AWS targets, the archive).

`DevSetup` is mixed into `commands.dev.DevRuntime`, whose attributes it reads and fills (`args`, `notes`,
`emulator`, `stack`, `functions`, ...): one object carries the running pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hookline.commands.validate import print_problems, unset_env_secrets


class DevError(Exception):
    """Start-up cannot go on: printed as one line, exit 1."""


class DevSetup:
    def _load_env_file(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.envfile import EnvFileError, default_env_file, load_env_file

        path = Path(self.args.env_file) if self.args.env_file else default_env_file(self.config_path)
        if path is None:
            return
        if not path.is_file():
            raise DevError(f"--env-file {path}: no such file")
        try:
            applied, kept = load_env_file(path)
        except EnvFileError as e:
            raise DevError(str(e)) from None
        self.env_file = path.resolve()
        self.env_names = applied + [f"{k} (already exported)" for k in kept]

    def _check_config(self) -> Any:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.core.errors import ConfigError
        from hookline.validation import load_config

        try:
            cfg = load_config(self.config_path)
        except ConfigError as e:
            print_problems(Path(self.args.config), e.problems)
            raise DevError(f"fix {self.args.config} first (`hookline validate --config {self.args.config}`)") \
                from None
        for ref in unset_env_secrets(cfg):
            self.notes.append(f"{ref} is not set: requests needing it answer 503 (add it to the env file or "
                              f"export {ref[4:]}=...)")
        self.cfg = cfg
        return cfg

    def _parameters(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.args.parameter:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise DevError(f"--parameter {item!r}: expected KEY=VALUE")
            out[key.strip()] = value
        return out

    def _function_environment(self) -> None:
        """Every function's Environment (as deployed: Globals merged, refs resolved) into this one process."""
        merged: dict[str, str] = {}
        for spec in self.functions:
            for key, value in spec.environment.items():
                if key in merged and merged[key] != value:
                    self.notes.append(f"{spec.logical_id} sets {key} differently from another function; "
                                      "all functions share one process here, the last value wins")
                merged[key] = value
        os.environ.update(merged)
        os.environ["HOOKLINE_CONFIG"] = str(self.config_path)
        os.environ["LOG_LEVEL"] = self.args.log_level
        os.environ["POWERTOOLS_LOG_LEVEL"] = self.args.log_level
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import logging
        import warnings

        from hookline.observability import logger

        # Metrics are off locally (POWERTOOLS_METRICS_DISABLED); their "nothing to publish" warning is noise.
        warnings.filterwarnings("ignore", message="No application metrics to publish")

        logger.setLevel(self.args.log_level)
        logging.getLogger("aws_lambda_powertools").setLevel(
            max(logging.WARNING, logging.getLevelName(self.args.log_level)))
        if self.args.log_file != "-":
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            from hookline.local import devlog
            from hookline.operations.stack import dev_state_path

            path = Path(self.args.log_file) if self.args.log_file else dev_state_path().parent / devlog.LOG_NAME
            try:
                devlog.divert(path)
            except OSError as e:
                raise DevError(f"--log-file {path}: {e.strerror}") from None
            self.log_file = path.resolve()

    def _provision_warehouse(self, cfg: Any) -> None:
        if any(d.type != "http" for d in cfg.destinations.values()):
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            import boto3

            from hookline.local.warehouse import provision_warehouse

            session = boto3.session.Session(region_name=self.emulator.region)
            self.warehouse_lines = provision_warehouse(cfg, session, self.emulator.account_id)

    def _target_parameters(self, cfg: Any) -> dict[str, str]:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.aws_targets import parameters
        from hookline.local.emulator import ACCOUNT_ID, REGION

        return parameters(cfg, ACCOUNT_ID, REGION)

    def _provision_targets(self, cfg: Any) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import boto3

        from hookline.local import target_functions
        from hookline.local.aws_targets import provision_targets

        handlers = {}
        for item in self.args.function:
            name, sep, spec = item.partition("=")
            if not sep or not name:
                raise DevError(f"--function {item!r}: expected NAME=FILE.py:FUNCTION")
            try:
                handlers[name.strip()] = target_functions.load(spec, Path.cwd())
            except ValueError as e:
                raise DevError(f"--function {e}") from None
        session = boto3.session.Session(region_name=self.emulator.region)
        self.target_lines = provision_targets(cfg, session, self.emulator.account_id, self.emulator.region,
                                              handlers=handlers, say=self._demo_line, notes=self.notes)

    def _provision_archive(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import boto3

        from hookline.local.archive import provision_archive

        line = provision_archive(self.stack, boto3.session.Session(region_name=self.emulator.region).client("firehose"))
        if line:
            self.warehouse_lines.append(line)
