"""``latchwork why JOB``: why a job is where it is, read from the supervisor's latches.

The supervisor answers (``ExplainJob``); this module only prints it readably: one sentence,
then each callback's trigger as a tree whose atoms are ``✓`` latched (with the seq of the
event that latched them, for ``latchwork watch`` or Subscribe) or ``…`` awaited, each ``*``
binding on a line, and the routing reasons. ``--json`` prints the response as JSON (proto
field names). ``cli`` registers it through ``configure`` and ``HANDLERS``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from google.protobuf.json_format import MessageToDict

from latchwork.v1 import supervisor_pb2

from .client import Client
from .exit_codes import EXIT_OK

LATCHED = "✓"
AWAITED = "…"
CODE_WIDTH = 60  # a callback's code is shown on one line, cut to this
_KINDS = {"and": "all of (&&)", "or": "any of (||)", "not": "not"}


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("why", help="why a job waits: its triggers' latches and routing")
    parser.add_argument("job", type=int, help="job id")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")


def atom_line(node: supervisor_pb2.TriggerNode) -> str:
    """``✓ complete-job-7  latched @41`` or ``… complete-job-7  awaited``."""
    if node.latched:
        where = f"latched @{node.latched_seq}" if node.latched_seq else "latched"
        return f"{LATCHED} {node.text}  {where}"
    return f"{AWAITED} {node.text}  awaited"


def _first_line(code: str) -> str:
    """A callback's code on one line: a Python callback's may be a whole script."""
    lines = code.strip().splitlines() or [""]
    first = lines[0]
    if len(lines) > 1 or len(first) > CODE_WIDTH:
        return first[: CODE_WIDTH - 1] + "…"
    return first


def _short(node: supervisor_pb2.TriggerNode) -> str:
    """``✓ complete-work-A-* @41`` or ``… complete-job-B``: one atom of a binding's line."""
    if node.latched:
        return f"{LATCHED} {node.text}" + (f" @{node.latched_seq}" if node.latched_seq else "")
    return f"{AWAITED} {node.text}"


def tree_lines(node: supervisor_pb2.TriggerNode, depth: int = 1) -> list[str]:
    indent = "  " * depth
    if node.kind == "atom":
        return [indent + atom_line(node)]
    mark = LATCHED if node.latched else AWAITED
    lines = [f"{indent}{mark} {_KINDS.get(node.kind, node.kind)}"]
    for child in node.children:
        lines += tree_lines(child, depth + 1)
    return lines


def explanation_lines(response: supervisor_pb2.ExplainJobResponse) -> list[str]:
    lines = [f"job {response.job_id}: {response.status_reason}"]
    for callback in response.callbacks:
        facts = [f"fired {callback.fired}"]
        if callback.from_dependency:
            facts.insert(0, "from its dependency")
        if callback.satisfied:
            facts.append("done: fires no more")
        code = _first_line(callback.code)
        lines.append(f"callback {callback.callback_id} ({', '.join(facts)}): {code}")
        lines.append(f"  when {callback.triggers}")
        lines += tree_lines(callback.root, 2)
        for binding in callback.bindings:
            atoms = "  ".join(_short(a) for a in binding.atoms)
            holds = "  (holds)" if binding.satisfied else ""
            lines.append(f"    * = {binding.binding}:  {atoms}{holds}")
        if callback.more_bindings:
            lines.append(f"    and {callback.more_bindings} more bindings")
    if response.routing_reasons:
        lines.append("routing:")
        lines += [f"  {reason}" for reason in response.routing_reasons]
    return lines


def cmd_why(client: Client, args: argparse.Namespace) -> int:
    response = client.explain_job(args.job)
    if args.json:
        print(json.dumps(MessageToDict(response, preserving_proto_field_name=True), indent=2))
    else:
        print("\n".join(explanation_lines(response)))
    return EXIT_OK


HANDLERS: dict[str, Callable[[Client, argparse.Namespace], int]] = {"why": cmd_why}
