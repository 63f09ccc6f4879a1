"""Who a frame runs as, and the environment it gets (docs/operations.md#who-frames-run-as).

A frame is someone's code. With ``run_as = "owner"`` it runs with its job owner's uid, gid and
supplementary groups as this host knows them, so it can reach only what its owner can; an
owner the host does not know, root, or a uid below the minimum fails the frame's start, never
runs it as root. With ``run_as = "worker"`` (a single-user workstation) it keeps the worker's
uid. Either way the frame's environment is built from nothing: a few variables for its user,
the job's ``env``, Latchwork's ``QB_*``/``LATCHWORK_*`` and a pass-through list; the
supervisor's and the worker's own variables (passwords, tokens) never reach it.
"""

from __future__ import annotations

import functools
import os
import pwd
from dataclasses import dataclass

RUN_AS_CHOICES = ("owner", "worker")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, slots=True)
class FramePolicy:
    """How frames are started on one worker (the local pool or a ``latchwork worker``)."""

    run_as: str = "worker"
    min_uid: int = 1000
    passthrough: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FrameUser:
    """The account a frame runs as; ``switch`` is false when it keeps the worker's uid."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str
    shell: str
    switch: bool


def default_run_as(tokens_configured: bool) -> str:
    """``owner`` when tokens say who submitted and this process may switch users, else
    ``worker``."""
    return "owner" if tokens_configured and os.geteuid() == 0 else "worker"


def parse_passthrough(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


class FrameUserError(Exception):
    """The frame cannot run as its owner; the message says why, for its record."""


def frame_user(owner: str, policy: FramePolicy) -> FrameUser:
    """The account for a frame of ``owner``'s job; raises ``FrameUserError`` when it has none."""
    if policy.run_as != "owner":
        entry = _own_entry()
        name = entry.pw_name if entry else str(os.getuid())
        home = entry.pw_dir if entry else "/"
        shell = entry.pw_shell if entry else "/bin/sh"
        return FrameUser(name, os.getuid(), os.getgid(), (), home, shell or "/bin/sh", False)
    if not owner:
        raise FrameUserError("run_as = owner: the job has no owner to run as")
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise FrameUserError(
            f"run_as = owner: the job's owner {owner!r} is not a user on this host"
        ) from None
    if entry.pw_uid == 0:
        raise FrameUserError(
            f"run_as = owner: the job's owner {owner!r} is root; frames never run as root"
        )
    if entry.pw_uid < policy.min_uid:
        raise FrameUserError(
            f"run_as = owner: the job's owner {owner!r} has uid {entry.pw_uid}, "
            f"below run_as_min_uid {policy.min_uid}"
        )
    groups = tuple(g for g in os.getgrouplist(owner, entry.pw_gid) if g != entry.pw_gid)
    return FrameUser(
        owner,
        entry.pw_uid,
        entry.pw_gid,
        groups,
        entry.pw_dir,
        entry.pw_shell or "/bin/sh",
        True,
    )


def frame_environment(
    user: FrameUser, job_env: dict[str, str], passthrough: tuple[str, ...], tmpdir: str = "/tmp"
) -> dict[bytes, bytes]:
    """The whole environment of a frame: built from nothing, never copied from this process."""
    env: dict[bytes, bytes] = {
        b"PATH": DEFAULT_PATH.encode(),
        b"HOME": user.home.encode(),
        b"USER": user.name.encode(),
        b"LOGNAME": user.name.encode(),
        b"SHELL": user.shell.encode(),
        b"LANG": os.environb.get(b"LANG") or b"C.UTF-8",
        b"TMPDIR": tmpdir.encode(),
    }
    for name in passthrough:
        value = os.environb.get(name.encode())
        if value is not None:
            env[name.encode()] = value
    env.update((key.encode(), value.encode()) for key, value in job_env.items())
    return env


def _own_entry() -> pwd.struct_passwd | None:
    return _entry_of_uid(os.getuid())


@functools.lru_cache(maxsize=4)
def _entry_of_uid(uid: int) -> pwd.struct_passwd | None:
    """This process's own account, read once: a frame run as the worker's user would
    otherwise read the password database at every spawn."""
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        return None
