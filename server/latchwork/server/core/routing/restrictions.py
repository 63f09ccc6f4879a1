"""Clusters and restrictions, as Qube defines them.

Qube lays clusters out as a tree written like directories (``/``, ``/show_A``,
``/show_A/modelling``). A job and a host each belong to exactly one cluster; a job's cluster only
gives it preference on hosts of the same cluster ("the job is free to run on any host in other
clusters"), it never excludes a host. *Restrictions* do: a job's ``restrictions`` lists the
clusters whose hosts it may run on, and a host's restrictions (Qube's ``worker_restrictions``)
list the clusters whose jobs it accepts. Sources: PipelineFX, "Job and Worker Restrictions" and
"Clustering and Job Priority" (docs.pipelinefx.com/display/QUBE/Clustering+and+Job+Priority;
the restriction syntax page, revisions of pageId 2853078 and 950512 on docs.pipelinefx.com).

The syntax (per Qube: ``/a/b`` that cluster only, ``/a/*`` one level below, ``/a/+`` every
level below, several joined with ``||`` or ``or``), and the choices Latchwork makes where Qube's
pages disagree or are silent, are in docs/routing.md, "cluster and restrictions".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import RoutingSyntaxError

ROOT_CLUSTER = "/"
MAX_RESTRICTIONS_LENGTH = 4_096
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
# "or" only as a word of its own: a cluster may well be called /a/or.
_SEPARATOR = re.compile(r"\|\||(?<!\S)(?:or|OR)(?!\S)")


def parse_cluster(text: str, offset: int = 0) -> str:
    """A cluster path in its canonical form (``/a/b``); raises RoutingSyntaxError."""
    path = text.strip()
    offset += len(text) - len(text.lstrip())
    if not path.startswith("/"):
        raise RoutingSyntaxError(f"cluster {path!r} must start with '/'", offset, "e.g. /show/comp")
    if path != ROOT_CLUSTER:
        path = path.rstrip("/") if len(path) > 1 else path
        position = offset + 1
        for segment in path[1:].split("/"):
            if _SEGMENT.fullmatch(segment) is None:
                raise RoutingSyntaxError(
                    f"{segment!r} is not a cluster name" if segment else "empty cluster name",
                    position,
                    "use letters, digits, '_', '.' and '-' between slashes",
                )
            position += len(segment) + 1
    return path


def parent_of(cluster: str) -> str:
    head = cluster.rsplit("/", 1)[0]
    return head or ROOT_CLUSTER


def _below_prefix(cluster: str) -> str:
    return cluster if cluster == ROOT_CLUSTER else cluster + "/"


@dataclass(frozen=True, slots=True)
class Restrictions:
    """A parsed restriction expression: does a cluster fall within it?"""

    text: str
    exact: frozenset[str]
    children_of: frozenset[str]
    below: tuple[str, ...]

    def allows(self, cluster: str) -> bool:
        if cluster in self.exact:
            return True
        if cluster != ROOT_CLUSTER and parent_of(cluster) in self.children_of:
            return True
        return cluster != ROOT_CLUSTER and cluster.startswith(self.below)

    def format(self) -> str:
        """The canonical text: each pattern once, joined with `` || ``."""
        parts = [*sorted(self.exact)]
        parts += [_below_prefix(c) + "*" for c in sorted(self.children_of)]
        parts += [prefix + "+" for prefix in self.below]
        return " || ".join(parts)


def parse_restrictions(text: str) -> Restrictions:
    """``text`` as a restriction expression; raises RoutingSyntaxError with an offset."""
    if len(text) > MAX_RESTRICTIONS_LENGTH:
        raise RoutingSyntaxError(
            f"longer than {MAX_RESTRICTIONS_LENGTH} characters", MAX_RESTRICTIONS_LENGTH
        )
    if not text.strip():
        raise RoutingSyntaxError("empty restrictions: expected a cluster such as /show/+", 0)
    exact: set[str] = set()
    children: set[str] = set()
    below: set[str] = set()
    position = 0
    for match in [*_SEPARATOR.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        _add_pattern(text[position:end], position, exact, children, below)
        if match is not None:
            position = match.end()
    return Restrictions(text.strip(), frozenset(exact), frozenset(children), tuple(sorted(below)))


def _add_pattern(
    text: str, offset: int, exact: set[str], children: set[str], below: set[str]
) -> None:
    pattern = text.strip()
    start = offset + len(text) - len(text.lstrip())
    if not pattern:
        raise RoutingSyntaxError("expected a cluster such as /show/+ here", start)
    if pattern.endswith(("/*", "/+")):
        wildcard = pattern[-1]
        base = parse_cluster(pattern[:-1], start)
        if wildcard == "*":
            children.add(base)
        else:
            below.add(_below_prefix(base))
        return
    if "*" in pattern or "+" in pattern:
        raise RoutingSyntaxError(
            f"{pattern!r}: '*' and '+' may only end a cluster, after a '/'",
            start + max(pattern.find("*"), pattern.find("+")),
            "e.g. /show/* or /show/+",
        )
    exact.add(parse_cluster(pattern, start))
