"""Hosts on the wire: a worker's declaration read and checked, hosts and their controls out.

The servicers stay thin: ``RegisterWorker`` turns its request into a
:class:`~..host_registry.HostInfo` here (every problem named by its field, as a Submit's are),
and ``ListHosts``, ``GetHost`` and ``ControlHosts`` convert and check here.
"""

from __future__ import annotations

from collections.abc import Mapping

from latchwork.v1 import host_pb2, supervisor_pb2, worker_pb2

from ..auth import caller_of
from ..core.errors import InvalidRequest, PermissionDenied
from ..core.routing.errors import RoutingSyntaxError
from ..core.routing.hosts import GROUP_NAME, HOST_NAME, PROPERTY_KEY, Resources
from ..core.routing.restrictions import parse_cluster, parse_restrictions
from ..core.submission import FieldError
from ..host_registry import HostAction, HostInfo, HostView
from .convert import timestamp
from .errors import Context

MAX_PROPERTIES = 256
MAX_GROUPS = 256
MAX_TEXT = 4_096

_ACTIONS = {
    supervisor_pb2.HOST_ACTION_LOCK: HostAction.LOCK,
    supervisor_pb2.HOST_ACTION_UNLOCK: HostAction.UNLOCK,
}


def _text_problem(value: str) -> str:
    if len(value) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    if "\x00" in value:
        return "contains a NUL byte"
    return ""


def host_info_from_register(request: worker_pb2.RegisterWorkerRequest) -> HostInfo:
    """What the worker declares about its host; raises InvalidRequest naming each bad field."""
    errors: list[FieldError] = []
    if request.host and HOST_NAME.fullmatch(request.host) is None:
        errors.append(
            FieldError("host", "a host name: letters, digits, '.', '-' and '_' (253 at most)")
        )
    resources = request.resources
    for name in ("cores", "memory_mb", "gpus"):
        if getattr(resources, name) < 0:
            errors.append(FieldError(f"resources.{name}", "must not be negative"))
    for name in ("os", "arch"):
        if problem := _text_problem(getattr(resources, name)):
            errors.append(FieldError(f"resources.{name}", problem))
    if len(request.properties) > MAX_PROPERTIES:
        errors.append(FieldError("properties", f"more than {MAX_PROPERTIES} properties"))
    for key, value in sorted(request.properties.items()):
        if PROPERTY_KEY.fullmatch(key) is None:
            errors.append(FieldError(f"properties[{key!r}]", "a key is letters, digits and '_'"))
        elif problem := _text_problem(value):
            errors.append(FieldError(f"properties[{key!r}]", problem))
    if len(request.groups) > MAX_GROUPS:
        errors.append(FieldError("groups", f"more than {MAX_GROUPS} groups"))
    for index, group in enumerate(request.groups):
        if GROUP_NAME.fullmatch(group) is None:
            errors.append(FieldError(f"groups[{index}]", f"{group!r} is not a group name"))
    cluster = ""
    if request.cluster:
        try:
            cluster = parse_cluster(request.cluster)
        except RoutingSyntaxError as error:
            errors.append(FieldError("cluster", str(error)))
    if request.restrictions:
        try:
            parse_restrictions(request.restrictions)
        except RoutingSyntaxError as error:
            errors.append(FieldError("restrictions", str(error)))
    if errors:
        raise InvalidRequest(errors)
    return HostInfo(
        name=request.host,
        slots=request.slots,
        resources=Resources(
            cores=resources.cores or 1,
            memory_mb=resources.memory_mb,
            gpus=resources.gpus,
            os=resources.os,
            arch=resources.arch,
        ),
        properties=dict(request.properties),
        groups=tuple(dict.fromkeys(request.groups)),
        cluster=cluster,
        restrictions=request.restrictions.strip(),
    )


def host_to_pb(view: HostView) -> host_pb2.Host:
    info = view.info
    return host_pb2.Host(
        name=info.name,
        state=host_pb2.HOST_STATE_UP if view.up else host_pb2.HOST_STATE_DOWN,
        locked=view.locked,
        lock_reason=view.lock_reason,
        resources=host_pb2.HostResources(
            cores=info.resources.cores,
            memory_mb=info.resources.memory_mb,
            gpus=info.resources.gpus,
            os=info.resources.os,
            arch=info.resources.arch,
        ),
        properties=dict(info.properties),
        groups=list(info.groups),
        cluster=info.cluster,
        restrictions=info.restrictions,
        slots=info.slots,
        slots_in_use=view.in_use.slots,
        memory_mb_in_use=view.in_use.memory_mb,
        gpus_in_use=view.in_use.gpus,
        registered=timestamp(view.registered),
        last_heartbeat=timestamp(view.last_heartbeat),
        local=info.local,
    )


def global_resources_to_pb(
    usage: Mapping[str, tuple[int, int]],
) -> list[host_pb2.GlobalResource]:
    """The licence counters (name -> (in use, limit)), by name."""
    return [
        host_pb2.GlobalResource(name=name, limit=limit, in_use=in_use)
        for name, (in_use, limit) in sorted(usage.items())
    ]


def check_get_host(request: supervisor_pb2.GetHostRequest) -> None:
    if not request.name:
        raise InvalidRequest([FieldError("name", "required: the host's name")])


def read_control_hosts(
    request: supervisor_pb2.ControlHostsRequest, context: Context, admins: frozenset[str]
) -> HostAction:
    """The action asked, once the caller is known to be an admin and the request whole."""
    caller = caller_of(context)
    if not (caller.admin or caller.user in admins):
        raise PermissionDenied(f"only admins lock or unlock hosts; {caller.user!r} is not one")
    errors: list[FieldError] = []
    action = _ACTIONS.get(request.action)
    if action is None:
        errors.append(FieldError("action", "required: HOST_ACTION_LOCK or HOST_ACTION_UNLOCK"))
    if not request.names:
        errors.append(FieldError("names", "required: the hosts to lock or unlock"))
    for index, name in enumerate(request.names):
        if not name:
            errors.append(FieldError(f"names[{index}]", "empty host name"))
    if problem := _text_problem(request.reason):
        errors.append(FieldError("reason", problem))
    if errors or action is None:
        raise InvalidRequest(errors)
    return action


def lock_reason(request: supervisor_pb2.ControlHostsRequest, context: Context) -> str:
    """The reason shown with the host and in its event, naming who acted."""
    who = caller_of(context).user
    return f"{request.reason} (by {who})" if request.reason else f"by {who}"
