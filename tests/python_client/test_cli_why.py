"""``latchwork why``'s printing of what ExplainJob answers: the parts the live tests
(tests/test_explain_job.py, tests/test_docs_why.py) do not reach."""

from __future__ import annotations

from latchwork.client.cli_why import explanation_lines
from latchwork.v1 import supervisor_pb2


def test_a_spent_python_callback_with_more_bindings_than_listed() -> None:
    atom = supervisor_pb2.TriggerNode(
        kind="atom", text="done-work-self-*", latched=True, latched_seq=12
    )
    response = supervisor_pb2.ExplainJobResponse(
        job_id=8,
        status_reason="complete: the job is finished; nothing is awaited",
        callbacks=[
            supervisor_pb2.CallbackExplanation(
                callback_id=3,
                triggers="done-work-self-*",
                code="import os\nprint(os.getcwd())",
                fired=2,
                satisfied=True,
                root=atom,
                bindings=[supervisor_pb2.BindingExplanation(binding="7", atoms=[atom])],
                more_bindings=120,
            )
        ],
    )
    assert explanation_lines(response) == [
        "job 8: complete: the job is finished; nothing is awaited",
        "callback 3 (fired 2, done: fires no more): import os…",
        "  when done-work-self-*",
        "    ✓ done-work-self-*  latched @12",
        "    * = 7:  ✓ done-work-self-* @12",
        "    and 120 more bindings",
    ]
