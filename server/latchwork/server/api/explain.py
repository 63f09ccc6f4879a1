"""ExplainJob on the wire: the latch inspector (core.explain) for one job, authorized as GetJob.

A job the caller may not see (``visibility = "own"``) is NOT_FOUND exactly as a missing one.
"""

from __future__ import annotations

from latchwork.v1 import supervisor_pb2

from ..core.errors import InvalidRequest
from ..core.explain import BindingView, CallbackView, JobExplanation, Node, explain_job
from ..core.submission import FieldError
from ..core.visibility import ReadScope
from ..supervisor import Supervisor
from .visibility import visible_job


def explain_job_rpc(
    supervisor: Supervisor, scope: ReadScope, request: supervisor_pb2.ExplainJobRequest
) -> supervisor_pb2.ExplainJobResponse:
    if request.job_id < 0:
        raise InvalidRequest([FieldError("job_id", "must not be negative")])
    job = visible_job(scope, request.job_id, supervisor.get_job(request.job_id))
    explanation = explain_job(
        job, supervisor.callbacks_of(job.id), supervisor.wait_explanation(job)
    )
    return explanation_to_pb(explanation)


def explanation_to_pb(explanation: JobExplanation) -> supervisor_pb2.ExplainJobResponse:
    return supervisor_pb2.ExplainJobResponse(
        job_id=explanation.job_id,
        status_reason=explanation.status_reason,
        callbacks=[_callback_to_pb(view) for view in explanation.callbacks],
        routing_reasons=list(explanation.routing_reasons),
    )


def _callback_to_pb(view: CallbackView) -> supervisor_pb2.CallbackExplanation:
    return supervisor_pb2.CallbackExplanation(
        callback_id=view.callback_id,
        triggers=view.triggers,
        code=view.code,
        from_dependency=view.from_dependency,
        fired=view.fired,
        satisfied=view.satisfied,
        root=_node_to_pb(view.root),
        bindings=[_binding_to_pb(binding) for binding in view.bindings],
        more_bindings=view.more_bindings,
    )


def _binding_to_pb(binding: BindingView) -> supervisor_pb2.BindingExplanation:
    return supervisor_pb2.BindingExplanation(
        binding=binding.binding,
        satisfied=binding.satisfied,
        atoms=[_node_to_pb(node) for node in binding.atoms],
    )


def _node_to_pb(node: Node) -> supervisor_pb2.TriggerNode:
    return supervisor_pb2.TriggerNode(
        kind=node.kind,
        text=node.text,
        offset=node.offset,
        latched=node.latched,
        latched_seq=node.latched_seq,
        watches_job_id=node.watches_job_id,
        children=[_node_to_pb(child) for child in node.children],
    )
