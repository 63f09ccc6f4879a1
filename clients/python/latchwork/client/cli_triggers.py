"""The ``latchwork`` commands about triggers: ``validate`` (how the supervisor reads a trigger
expression) and ``graph`` (a process group's dependencies as Graphviz DOT).

Both show the supervisor's own parse (``ValidateTrigger``) rather than parsing here, so what a
wrangler sees is what the scheduler will do. ``cli`` registers them through ``configure`` and
``HANDLERS``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToDict

from latchwork.v1 import job_pb2, trigger_pb2

from .cli_jobs import status_name
from .client import Client
from .exit_codes import EXIT_OK, EXIT_REFUSED

QUBE_EPOCH = 946702800  # Qube time 0 (2000-01-01 00:00 EST) in Unix time


def _atom_text(atom: trigger_pb2.TriggerAtom) -> str:
    """The atom as it would be written in a trigger."""
    if atom.event_type in ("globaltime", "globalrepeat"):
        text = f"{atom.event_type}-{atom.time_unix - QUBE_EPOCH}"
    else:
        text = f"{atom.name}-{atom.event_type}-{atom.context}"
        if atom.event_type in ("time", "repeat"):
            text += f"-{atom.time_unix - QUBE_EPOCH}"
        elif atom.extra:
            text += f"-{atom.extra}"
    if atom.event_type in ("repeat", "globalrepeat"):
        text += f"-{atom.repeat_seconds}"
    return text


def _atoms(expr: trigger_pb2.TriggerExpr) -> list[trigger_pb2.TriggerAtom]:
    node = expr.WhichOneof("node")
    if node == "atom":
        return [expr.atom]
    if node in ("all_of", "any_of"):
        return [a for op in getattr(expr, node).operands for a in _atoms(op)]
    return []


def _tree_lines(expr: trigger_pb2.TriggerExpr, depth: int = 0) -> list[str]:
    indent = "  " * depth
    node = expr.WhichOneof("node")
    if node == "atom":
        atom = expr.atom
        parts = [f"name={atom.name}", f"type={atom.event_type}"]
        if atom.context:
            parts.append(f"context={atom.context}")
        if atom.extra:
            parts.append(f"extra={atom.extra}")
        if atom.event_type in ("time", "repeat", "globaltime", "globalrepeat"):
            moment = datetime.fromtimestamp(atom.time_unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            parts.append(f"time={moment}")
        if atom.repeat_seconds:
            parts.append(f"every={atom.repeat_seconds}s")
        return [f"{indent}atom {_atom_text(atom)}  ({' '.join(parts)}; at {atom.offset})"]
    if node in ("all_of", "any_of"):
        lines = [f"{indent}{'all of (&&)' if node == 'all_of' else 'any of (||)'}"]
        for operand in getattr(expr, node).operands:
            lines += _tree_lines(operand, depth + 1)
        return lines
    return []


def cmd_validate(client: Client, args: argparse.Namespace) -> int:
    response = client.validate_trigger(args.trigger, job_id=args.job or 0)
    if response.HasField("error"):
        error = response.error
        print(f"latchwork validate: {error.message} (at {error.offset})", file=sys.stderr)
        print(f"  {args.trigger}", file=sys.stderr)
        print(f"  {' ' * error.offset}^", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(MessageToDict(response)))
        return EXIT_OK
    print(response.canonical)
    for line in _tree_lines(response.expr):
        print(f"  {line}")
    return EXIT_OK


STATUS_COLOURS = {
    "pending": "lightgrey",
    "blocked": "orange",
    "waiting": "gold",
    "running": "lightskyblue",
    "suspended": "plum",
    "complete": "palegreen",
    "failed": "salmon",
    "killed": "grey60",
    "removed": "white",
}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _resolve_context(context: str, owner: job_pb2.Job, by_label: dict[str, int]) -> int | None:
    if context == "self":
        return owner.id
    if context == "parent":
        return owner.spec.pid or None
    if context.isdigit():
        return int(context)
    return by_label.get(context)


def graph_dot(client: Client, pgrp: int) -> str:
    """The process group as a Graphviz digraph: jobs, parent→child and dependency edges."""
    jobs = [client.get_job(j.id) for j in client.list_jobs(pgrps=[pgrp])]
    jobs.sort(key=lambda j: j.id)
    ids = {job.id for job in jobs}
    by_label = {job.label: job.id for job in jobs if job.label}
    lines = [
        f"digraph {_dot_quote(f'pgrp {pgrp}')} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    outside: set[int] = set()
    edges: list[str] = []
    seen: set[tuple[int, int, str]] = set()

    def edge(source: int, target: int, label: str, attrs: str = "") -> None:
        if (source, target, label) in seen:
            return
        seen.add((source, target, label))
        if source not in ids:
            outside.add(source)
        edges.append(f"  j{source} -> j{target} [label={_dot_quote(label)}{attrs}];")

    for job in jobs:
        if job.spec.pid:
            edge(job.spec.pid, job.id, "child", ", style=dashed")
        for callback in job.callbacks:
            response = client.validate_trigger(callback.spec.triggers, job_id=job.id)
            if response.HasField("error"):
                edges.append(
                    f"  // callback {callback.id} of job {job.id}: {response.error.message}"
                )
                continue
            for atom in _atoms(response.expr):
                source = _resolve_context(atom.context, job, by_label)
                if source is None or source == job.id:
                    continue  # time atoms and triggers on the job itself are no dependency
                edge(source, job.id, _atom_text(atom))
    for job in jobs:
        status = status_name(job.status)
        label = f"{job.id} {job.label or '-'}\n{job.spec.name}\n{status}"
        colour = STATUS_COLOURS.get(status, "white")
        lines.append(f"  j{job.id} [label={_dot_quote(label)}, fillcolor={_dot_quote(colour)}];")
    for job_id in sorted(outside):
        lines.append(
            f'  j{job_id} [label={_dot_quote(f"{job_id} (other pgrp)")}, style="rounded,dashed"];'
        )
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"


def cmd_graph(client: Client, args: argparse.Namespace) -> int:
    if not any(True for _ in client.list_jobs(pgrps=[args.pgrp])):
        print(f"latchwork graph: process group {args.pgrp} has no jobs", file=sys.stderr)
        return EXIT_REFUSED
    sys.stdout.write(graph_dot(client, args.pgrp))
    return EXIT_OK


def configure(sub: Any) -> None:
    """Add ``validate`` and ``graph`` to the ``latchwork`` subcommands (``sub``)."""
    validate = sub.add_parser("validate", help="check a trigger expression and show its structure")
    validate.add_argument("trigger")
    validate.add_argument("--job", type=int, help="resolve self, parent and labels for this job")
    validate.add_argument("--json", action="store_true", help="print the response as JSON")

    graph = sub.add_parser("graph", help="the process group's dependency graph as Graphviz DOT")
    graph.add_argument("pgrp", type=int)


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "validate": cmd_validate,
    "graph": cmd_graph,
}
