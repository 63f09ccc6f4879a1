"""What ``qb.hostinfo`` and ``qb.modify`` translate: Latchwork hosts into Qube's host dicts, and
Qube's modify dictionary into the changes ``ModifyJobs`` takes.

Kept apart from ``qb`` (which holds the connection and the ``Host`` class the dicts are wrapped
in) because this is pure conversion, testable without a supervisor. It follows PipelineFX's
Python API reference (``qb.Host``'s properties; ``qb.hostinfo(fields=[], filters={},
name=None, state=None, subjobs=False)``; ``qb.modify(modifyParamDict, jobid, *extrajobids)``
and its modifiable parameters) and "Externally Updatable Worker Resources and Properties"
(docs.pipelinefx.com: resources written ``host.NAME=AVAILABLE/TOTAL``, properties
``host.NAME=VALUE``, both comma-separated).

What maps:

- ``name``, ``cluster``; ``state``: Qube's ``active`` for a host that is up, ``down`` for one
  that is not (Qube's ``panic`` and ``none`` never occur); ``groups`` and ``restrictions`` as
  comma-separated strings, as Qube gives them;
- ``resources``: ``host.processors`` (job slots), ``host.memory`` (MB) and ``host.gpus``, each
  ``AVAILABLE/TOTAL``;
- ``properties``: ``host.os``, ``host.arch``, ``host.cores`` and the host's own properties;
- ``subjobs`` (with ``subjobs=True``): the work running there, one dict per work item.

Latchwork's own keys: ``locked``, ``lock_reason``, ``local``, ``slots``, ``slots_in_use``,
``cores``, ``memory``, ``gpus`` (numbers, not strings to parse), ``registered`` and
``heartbeat`` (Qube time, 0 when unset). Qube's ``macaddress``, ``address`` and ``stats`` have
no counterpart and are absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from latchwork.v1 import host_pb2

QUBE_EPOCH = 946702800  # 2000-01-01 00:00 EST in Unix time: Qube's times count from here

STATES = ("active", "down")

# Qube's modifiable parameters Latchwork changes, by Qube name -> JobChanges field.
MODIFIABLE = {
    "priority": "priority",
    "cpus": "cpus",
    "retrywork": "retry",
    "retry": "retry",
    "reservations": "reservations",
    "requirements": "requirements",
    "hosts": "hosts",
    "omithosts": "omithosts",
    "groups": "groups",
    "omitgroups": "omitgroups",
    "cluster": "cluster",
    "restrictions": "restrictions",
    "data": "data",
}


def _qube_time(stamp: Any) -> int:
    return int(stamp.seconds) - QUBE_EPOCH if stamp.seconds else 0


def qube_state(host: host_pb2.Host) -> str:
    return "down" if host.state == host_pb2.HOST_STATE_DOWN else "active"


def resources_text(host: host_pb2.Host) -> str:
    """``host.processors=2/4,host.memory=60000/65536,host.gpus=2/2``: available/total."""
    r = host.resources
    return ",".join(
        (
            f"host.processors={host.slots - host.slots_in_use}/{host.slots}",
            f"host.memory={r.memory_mb - host.memory_mb_in_use}/{r.memory_mb}",
            f"host.gpus={r.gpus - host.gpus_in_use}/{r.gpus}",
        )
    )


def properties_text(host: host_pb2.Host) -> str:
    """``host.os=linux,host.arch=x86_64,host.cores=16,host.renderer=arnold``."""
    r = host.resources
    pairs = [("os", r.os), ("arch", r.arch), ("cores", str(r.cores))]
    pairs += sorted(host.properties.items())
    return ",".join(f"host.{key}={value}" for key, value in pairs if value)


def running_dicts(host_name: str, running: Iterable[str]) -> list[dict[str, Any]]:
    """The work running on a host ("job_id:work_name"), as subjob-like dicts."""
    result = []
    for ref in running:
        job_id, _, work_name = ref.partition(":")
        result.append(
            {"pid": int(job_id), "workname": work_name, "status": "running", "host": host_name}
        )
    return result


def host_dict(host: host_pb2.Host, running: Sequence[str] | None = None) -> dict[str, Any]:
    """The Qube-shaped dict of ``host``; ``subjobs`` only when ``running`` is given."""
    r = host.resources
    result: dict[str, Any] = {
        "name": host.name,
        "state": qube_state(host),
        "cluster": host.cluster,
        "groups": ",".join(host.groups),
        "restrictions": host.restrictions,
        "resources": resources_text(host),
        "properties": properties_text(host),
        "locked": host.locked,
        "lock_reason": host.lock_reason,
        "local": host.local,
        "slots": host.slots,
        "slots_in_use": host.slots_in_use,
        "cores": r.cores,
        "memory": r.memory_mb,
        "gpus": r.gpus,
        "registered": _qube_time(host.registered),
        "heartbeat": _qube_time(host.last_heartbeat),
    }
    if running is not None:
        result["subjobs"] = running_dicts(host.name, running)
    return result


def matches(host: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Qube's ``filters``: each key equals the value, or is one of a list of values."""
    for key, wanted in filters.items():
        if key not in host:
            raise ValueError(f"hostinfo: cannot filter on {key!r}; use one of {', '.join(host)}")
        single = isinstance(wanted, (str, bytes)) or not isinstance(wanted, Iterable)
        values = [wanted] if single else list(wanted)
        if host[key] not in values:
            return False
    return True


def modify_changes(params: Mapping[str, Any]) -> dict[str, Any]:
    """Qube's modify dictionary as ``Client.modify_jobs`` keywords.

    A Qube parameter Latchwork cannot change (``timeout``, ``name``, ``env``, ``max_cpus``,
    ``prod_*``...) is refused by name, never dropped. ``data`` is a dict of keys to set; a key
    whose value is None is removed.
    """
    refused = sorted(key for key in params if key not in MODIFIABLE)
    if refused:
        raise ValueError(
            f"modify: Latchwork cannot change {', '.join(refused)}; "
            f"it changes {', '.join(MODIFIABLE)}"
        )
    changes: dict[str, Any] = {}
    for key, value in params.items():
        field = MODIFIABLE[key]
        if field in changes:
            raise ValueError(f"modify: {key!r} names {field!r} twice (retry and retrywork)")
        if field == "data":
            if not isinstance(value, Mapping):
                raise ValueError(f"modify: data must be a dict, not {type(value).__name__}")
            changes["data"] = {str(k): str(v) for k, v in value.items() if v is not None}
            changes["remove_data"] = [str(k) for k, v in value.items() if v is None]
        else:
            changes[field] = value
    return changes
