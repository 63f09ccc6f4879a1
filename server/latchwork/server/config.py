"""Supervisor settings: defaults, then a TOML file, then LATCHWORK_* variables, then flags.

The defaults are the embedded setup: SQLite under the user's state directory, a local worker
pool with one slot per core, listening on localhost.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from latchwork.sandbox.python.cage import (
    CAGE_OFF,
    DEFAULT_UID_BASE,
    DEFAULT_UID_COUNT,
    CageSettings,
)

from .core.firing_budget import BudgetLimits
from .core.model import CallbackLanguage
from .core.routing.errors import RoutingSyntaxError
from .core.routing.licences import parse_limits
from .frame_user import FramePolicy, default_run_as, parse_passthrough
from .store_location import is_postgres, masked


def default_data_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "latchwork"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it came from."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    listen: str = "localhost:50051"
    # The HTTP side: dashboard, JSON + event-stream API, /metrics, /healthz
    # (docs/configuration.md#dashboard); "" turns it off.
    http_listen: str = "127.0.0.1:50052"
    slots: int = os.cpu_count() or 1
    host: str = ""
    heartbeat_seconds: int = 5
    # After a restart, how long remote workers have to re-attach the leases they still run
    # before those are requeued (docs/operations.md); 0 requeues them at once.
    reattach_grace_seconds: float = 30.0
    kill_grace_seconds: float = 0.5
    shutdown_grace_seconds: float = 5.0
    durability: str = "normal"
    # Where the state lives (docs/operations.md#postgresql): "" for the SQLite file
    # data_dir/latchwork.db, or a postgresql:// URL; data_dir still holds the output.
    store: str = ""
    # With PostgreSQL, supervisors sharing the database take the lead by a lease of this many
    # seconds (server/leadership.py): a standby takes over within about one lease of the
    # leader's hanging, at once when its process dies.
    leader_lease_seconds: float = 5.0
    tokens_file: str = ""
    # Open mode (no tokens_file) on a non-loopback address is refused unless this is set
    # (--insecure-open); docs/configuration.md#open-mode.
    allow_open_network: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    retention_events: int = 0
    retention_days: float = 0.0
    retention_check_seconds: float = 60.0
    # How long a finished job stays in memory; after that it is read from the store when asked
    # for (server/retired_jobs.py, docs/operations.md#memory-and-history).
    keep_finished_seconds: float = 60.0
    languages: str = "qube,python,mail"
    admin_users: str = ""
    sandbox_workers: int = 2
    callback_cpu_seconds: float = 2.0
    callback_wall_seconds: float = 5.0
    callback_memory_mb: int = 256
    # The firing budget (docs/callbacks.md#firing-budget) and sandbox fairness; 0 turns a
    # budget off, sandbox_owner_runs = 0 means max(1, sandbox_workers - 1).
    callback_cascade_depth: int = 100
    callback_cascade_burst: int = 20_000
    callback_cascade_window_seconds: float = 60.0
    sandbox_owner_runs: int = 0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "latchwork@localhost"
    # Licence limits (docs/routing.md): "nuke=10, maya=4"; in the file a [global_resources]
    # table (nuke = 10) or this string.
    global_resources: str = ""
    # Who the local pool's frames run as (docs/operations.md#who-frames-run-as): "owner",
    # "worker", or "" for owner when tokens are configured and the supervisor runs as root.
    run_as: str = ""
    run_as_min_uid: int = 1000
    # Variables of the supervisor's environment frames also get: "LM_LICENSE_FILE, ..."; in
    # the file a list of names or this string.
    frame_env_passthrough: str = ""
    # Who reads whose jobs (docs/configuration.md#read-isolation): "all" (the shared farm) or
    # "own" (a non-admin user reads only their own jobs, events, runs and output).
    visibility: str = "all"
    # The admin's callbacks attached to every job (docs/callbacks.md#universal-callbacks): a
    # directory holding callbacks.conf; "" for none. Reloaded on SIGHUP.
    universal_callbacks_dir: str = ""
    # The sandbox's kernel cage (docs/configuration.md#sandbox-cage). sandbox_cage = false is
    # for benchmarks and diagnosis only. Each worker gets its own uid from the range; the fleet
    # cgroup's limits are derived from the pool when 0.
    sandbox_cage: bool = True
    sandbox_uid_base: int = DEFAULT_UID_BASE
    sandbox_uid_count: int = DEFAULT_UID_COUNT
    sandbox_fleet_memory_mb: int = 0
    sandbox_fleet_cpus: float = 0.0
    # How log lines look (docs/configuration.md): "text", or "json" (JSON lines with the
    # job/work/host/run ids, for a log collector; server/log_format.py).
    log_format: str = "text"

    @property
    def database(self) -> Path:
        return self.data_dir / "latchwork.db"

    @property
    def store_location(self) -> str | Path:
        """What ``open_store`` opens: the PostgreSQL URL, else the SQLite file."""
        return self.store or self.database

    @property
    def store_name(self) -> str:
        """The store as logs and refusals name it (a URL's password masked)."""
        return masked(self.store_location)

    @property
    def output_dir(self) -> Path:
        return self.data_dir / "output"

    @property
    def admin_set(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.admin_users.split(",") if x.strip())

    @property
    def firing_budget(self) -> BudgetLimits:
        return BudgetLimits(
            max_depth=self.callback_cascade_depth,
            burst=self.callback_cascade_burst,
            window_seconds=self.callback_cascade_window_seconds,
        )

    @property
    def global_resource_limits(self) -> dict[str, int]:
        """The licence limits by name (checked by :func:`load_settings`)."""
        return parse_limits(self.global_resources)

    @property
    def frame_policy(self) -> FramePolicy:
        return FramePolicy(
            run_as=self.run_as or default_run_as(bool(self.tokens_file)),
            min_uid=self.run_as_min_uid,
            passthrough=parse_passthrough(self.frame_env_passthrough),
        )

    @property
    def sandbox_cage_settings(self) -> CageSettings:
        """The cage of the Python sandbox (ValueError for a bad uid range or limit)."""
        if not self.sandbox_cage:
            return CAGE_OFF
        return CageSettings(
            uid_base=self.sandbox_uid_base,
            uid_count=self.sandbox_uid_count,
            fleet_memory_bytes=self.sandbox_fleet_memory_mb * 2**20,
            fleet_cpus=self.sandbox_fleet_cpus,
        )

    @property
    def enabled_languages(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.languages.split(",") if x.strip())


_ENV_PREFIX = "LATCHWORK_"


def _coerce(name: str, value: Any, source: str) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = kinds.get(name)
    if kind is None:
        raise ConfigError(f"{source}: unknown setting {name!r}")
    try:
        if kind == "Path":
            return Path(str(value)).expanduser()
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return _boolean(value)
        if isinstance(value, list):  # a list of names: frame_env_passthrough
            return ",".join(str(item) for item in value)
        return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind}") from error


def _boolean(value: Any) -> bool:
    """A TOML boolean, or the words a variable or flag may give for one."""
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise ValueError(value)


def load_settings(
    *, config_file: Path | None = None, env: dict[str, str] | None = None, **flags: Any
) -> Settings:
    environ = dict(os.environ if env is None else env)
    settings = Settings(data_dir=default_data_dir())
    config_file = config_file or (
        Path(environ[_ENV_PREFIX + "CONFIG"]) if _ENV_PREFIX + "CONFIG" in environ else None
    )
    if config_file is not None:
        try:
            table = tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{config_file}: {error}") from error
        section = table.get("supervisor", table)
        settings = replace(
            settings,
            **{
                key.replace("-", "_"): _coerce(key.replace("-", "_"), value, str(config_file))
                for key, value in section.items()
                if not isinstance(value, dict)
            },
        )
        licences = section.get("global_resources", table.get("global_resources"))
        if isinstance(licences, dict):
            settings = replace(settings, global_resources=_limits_text(licences, str(config_file)))
    for f in fields(Settings):
        name = _ENV_PREFIX + f.name.upper()
        if name in environ and environ[name] != "":
            settings = replace(settings, **{f.name: _coerce(f.name, environ[name], name)})
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        settings = replace(settings, **{k: _coerce(k, v, f"--{k}") for k, v in given.items()})
    if settings.slots < 0:
        raise ConfigError(f"slots = {settings.slots}: must be 0 or more")
    if not 0.5 <= settings.leader_lease_seconds <= 300:
        raise ConfigError(
            f"leader_lease_seconds = {settings.leader_lease_seconds}: must be 0.5 to 300"
        )
    if settings.durability not in ("normal", "full"):
        raise ConfigError(f"durability = {settings.durability!r}: use 'normal' or 'full'")
    if settings.store and not is_postgres(settings.store):
        raise ConfigError(
            f"store = {masked(settings.store)!r}: use a postgresql:// (or postgres://) URL, "
            "or leave it empty for the SQLite file in data_dir"
        )
    for name in ("callback_cascade_depth", "callback_cascade_burst", "sandbox_owner_runs"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name} = {getattr(settings, name)}: must be 0 (off) or more")
    if settings.keep_finished_seconds < 0:
        raise ConfigError(
            f"keep_finished_seconds = {settings.keep_finished_seconds}: must be 0 or more"
        )
    if settings.reattach_grace_seconds < 0:
        raise ConfigError(
            f"reattach_grace_seconds = {settings.reattach_grace_seconds}: must be 0 or more"
        )
    if settings.callback_cascade_window_seconds <= 0:
        raise ConfigError("callback_cascade_window_seconds: must be more than 0")
    if settings.run_as not in ("", "owner", "worker"):
        raise ConfigError(f"run_as = {settings.run_as!r}: use 'owner' or 'worker'")
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"log_format = {settings.log_format!r}: use 'text' or 'json'")
    if settings.visibility not in ("all", "own"):
        raise ConfigError(f"visibility = {settings.visibility!r}: use 'all' or 'own'")
    try:
        settings.sandbox_cage_settings  # noqa: B018 (checked here, used by the wiring)
    except ValueError as error:
        raise ConfigError(f"sandbox_uid_base/sandbox_uid_count/sandbox_fleet_*: {error}") from error
    if settings.smtp_tls not in ("none", "starttls", "ssl"):
        raise ConfigError(f"smtp_tls = {settings.smtp_tls!r}: use 'none', 'starttls' or 'ssl'")
    try:
        settings.global_resource_limits  # noqa: B018 (checked here, used by the wiring)
    except (RoutingSyntaxError, ValueError) as error:
        raise ConfigError(f"global_resources: {error}") from error
    unknown = set(settings.enabled_languages) - set(CallbackLanguage)
    if unknown:
        raise ConfigError(
            f"languages: unknown {', '.join(sorted(unknown))}; use qube, python, mail"
        )
    return settings


def _limits_text(table: dict[str, Any], source: str) -> str:
    """A ``[global_resources]`` table (``nuke = 10``) as the setting's text form."""
    items = []
    for name, limit in table.items():
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise ConfigError(f"{source}: global_resources.{name} = {limit!r}: a whole number")
        items.append(f"{name}={limit}")
    return ",".join(items)
