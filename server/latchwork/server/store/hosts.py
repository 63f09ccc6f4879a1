"""The farm's hosts in the store: one row per host name, written when a host changes.

What a host's worker declared (resources, properties, groups, cluster, restrictions, slots) is
one JSON document (``spec``): read and written whole, never queried by its parts. Whether a host
is up is not stored (:mod:`.migrations`, 5): a supervisor that starts knows no worker yet.
The same statements on SQLite and PostgreSQL (:mod:`.database`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.routing.hosts import Resources
from .database import Database, put


@dataclass(frozen=True, slots=True)
class StoredHost:
    """A host as stored: its declaration, its lock, and when it was last seen."""

    name: str
    slots: int = 0
    resources: Resources = field(default_factory=Resources)
    properties: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    cluster: str = ""
    restrictions: str = ""
    local: bool = False
    locked: bool = False
    lock_reason: str = ""
    registered: float = 0.0
    last_heartbeat: float = 0.0


def _spec(host: StoredHost) -> str:
    resources = host.resources
    return json.dumps(
        {
            "slots": host.slots,
            "cores": resources.cores,
            "memory_mb": resources.memory_mb,
            "gpus": resources.gpus,
            "os": resources.os,
            "arch": resources.arch,
            "properties": host.properties,
            "groups": list(host.groups),
            "cluster": host.cluster,
            "restrictions": host.restrictions,
            "local": host.local,
        },
        sort_keys=True,
    )


_HOST_COLUMNS = "name, spec, locked, lock_reason, registered, last_heartbeat"
_PUT_HOSTS = put("hosts", _HOST_COLUMNS, "name")


def put_hosts(db: Database, hosts: Sequence[StoredHost]) -> None:
    """Insert or replace these hosts' rows, in the caller's transaction."""
    if hosts:
        db.executemany(
            _PUT_HOSTS,
            [
                (h.name, _spec(h), int(h.locked), h.lock_reason, h.registered, h.last_heartbeat)
                for h in hosts
            ],
        )


def load_hosts(db: Database) -> list[StoredHost]:
    """Every stored host, by name."""
    rows = db.execute(f"SELECT {_HOST_COLUMNS} FROM hosts ORDER BY name").fetchall()
    hosts = []
    for name, spec, locked, lock_reason, registered, last_heartbeat in rows:
        data = json.loads(spec)
        hosts.append(
            StoredHost(
                name=name,
                slots=int(data.get("slots", 0)),
                resources=Resources(
                    cores=int(data.get("cores", 1)),
                    memory_mb=int(data.get("memory_mb", 0)),
                    gpus=int(data.get("gpus", 0)),
                    os=str(data.get("os", "")),
                    arch=str(data.get("arch", "")),
                ),
                properties={str(k): str(v) for k, v in data.get("properties", {}).items()},
                groups=tuple(str(g) for g in data.get("groups", ())),
                cluster=str(data.get("cluster", "")),
                restrictions=str(data.get("restrictions", "")),
                local=bool(data.get("local", False)),
                locked=bool(locked),
                lock_reason=lock_reason,
                registered=registered,
                last_heartbeat=last_heartbeat,
            )
        )
    return hosts
