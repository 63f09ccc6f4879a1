"""Property-based fuzzing of the SupervisorService over real gRPC (issue 10, Acceptance).

Hypothesis builds Submit, Subscribe, ControlJobs, AddCallbacks, ListCallbackRuns,
ValidateTrigger and GetWorkOutput requests with hostile field values (unknown enum numbers,
huge and negative integers, NUL, CR LF, U+2028, long strings, many repeated elements, random
trigger text and page tokens) and sends them to one running supervisor. For every request:

* the answer is OK or a typed refusal, never UNKNOWN or INTERNAL, and its message names no
  Python class;
* a request holding an enum number its enum does not define is refused;
* a refusal's message is bounded (it travels in the trailers, limited to 8 KiB by default);
* a refused request leaves no trace: the highest job id and the log's head seq are unchanged
  (read-only requests leave none whatever they answer);
* the health service answers after every batch.

The supervisor runs with no worker slots, so nothing submitted ever runs, and the triggers the
strategies can make valid only name events that need a running process: nothing happens in the
background that could be mistaken for a trace.
"""

from __future__ import annotations

import base64
import builtins
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, supervisor_pb2_grpc

from .serverproc import ServerProcess
from .standard_rpcs import HealthStub, health_stub

TYPED = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
# Exception classes whose names must not reach a client (outside the values it sent, which
# messages quote).
PYTHON_EXCEPTIONS = {
    name for name in dir(builtins) if name.endswith(("Error", "Exception", "Exit", "Interrupt"))
} | {"OperationalError", "IntegrityError", "DatabaseError", "ProgrammingError", "RpcError"}
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEALTH_EVERY = 25
MESSAGE_LIMIT = 4096
SUBSCRIBE_DEADLINE = 0.3
SCALE = float(os.environ.get("LATCHWORK_FUZZ_SCALE", "1"))
MAX_EXAMPLES = {
    "submit": 1000,
    "subscribe": 400,
    "control": 700,
    "add_callbacks": 600,
    "list_runs": 400,
    "validate_trigger": 800,
    "work_output": 500,
}


def _examples(name: str) -> int:
    return max(1, int(MAX_EXAMPLES[name] * SCALE))


FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "line\r\nSubject: x",
    "\u2028",
    "\u2029",
    "\ufeff",
    "é",
    "😀",
    "²",
    "٣",
    "\u202e",
    "%",
    "%00",
    "'\"",
    "*",
    "-",
    "self",
    "parent",
    "render",
    "0",
    "1",
    "-1",
    "9" * 400,
]
LONG_TEXT = ["a" * 20_000, "\u2028" * 3_000, "é" * 70_000, "\x00" * 5_000, "-" * 300]


short_texts = st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_TEXT))
# Long strings now and then (one branch in five), never in the many-times-repeated elements.
texts = st.one_of(short_texts, short_texts, short_texts, short_texts, st.sampled_from(LONG_TEXT))
int64s = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([-(2**63), -(2**31), -1, 0, 2**31 - 1, 2**31, 2**53, 2**63 - 1]),
    st.integers(-(2**63), 2**63 - 1),
)
int32s = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([-(2**31), -1, 0, 1, 3600, 3601, 20_001, 2**31 - 1]),
    st.integers(-(2**31), 2**31 - 1),
)


def enums(values: list[int]) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(values), st.integers(-(2**31), 2**31 - 1))


def few(
    strategy: st.SearchStrategy[Any],
    most: int = 3,
    small: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy[list[Any]]:
    """Mostly a short list; sometimes one (small) element repeated many times."""
    return st.one_of(
        st.lists(strategy, max_size=most),
        st.builds(
            lambda item, n: [item] * n,
            small if small is not None else strategy,
            st.integers(0, 400),
        ),
    )


string_maps = st.one_of(
    st.dictionaries(texts, texts, max_size=3),
    st.builds(lambda n: {f"K{i}": "v" for i in range(n)}, st.integers(0, 600)),
)

# Atoms whose events need a running process (never, here) or that do not parse.
ATOM_NAMES = ["complete", "running", "failed", "assigned", "bogus", "", "*"]
ATOM_TYPES = ["job", "work", "subjob", "tree", "host", "bogus", "", "*", "time", "globaltime"]
ATOM_CONTEXTS = ["self", "parent", "render", "comp", "1", "2", "99999999999999999999", "", "*"]
# Times far in the future only (Qube time 4e9 is in 2126): a time atom must never come due.
ATOM_EXTRAS = ["", "*", "1", "1-10", "x", "٣", "4000000000", "2126-01-01T00:00:00"]


def _atom(name: str, type_: str, context: str, extra: str) -> str:
    return "-".join(part for part in (name, type_, context, extra) if part)


atoms = st.builds(
    _atom,
    st.sampled_from(ATOM_NAMES),
    st.sampled_from(ATOM_TYPES),
    st.sampled_from(ATOM_CONTEXTS),
    st.sampled_from(ATOM_EXTRAS),
)
triggers = st.one_of(
    texts,
    atoms,
    st.builds(
        lambda parts, ops: "".join(p + o for p, o in zip(parts, ops, strict=False)),
        st.lists(atoms, min_size=1, max_size=6),
        st.lists(
            st.sampled_from([" && ", " || ", " and ", "(", ")", " ", "&&&", " OR "]), max_size=6
        ),
    ),
    st.builds(lambda n: "(" * n + "complete-job-self" + ")" * n, st.integers(0, 5000)),
    st.builds(lambda n: " && ".join(["complete-job-self"] * n), st.integers(0, 3000)),
)
languages = st.one_of(st.sampled_from(["qube", "python", "mail", "", "Python", "sh"]), texts)
codes = st.one_of(
    st.sampled_from(
        ["unblock-self", "kill-self; block-self", "pass", "print('x')", "while True: pass", ""]
    ),
    texts,
)


@st.composite
def callback_specs(draw: st.DrawFn) -> job_pb2.CallbackSpec:
    spec = job_pb2.CallbackSpec(
        triggers=draw(triggers),
        language=draw(languages),
        code=draw(codes),
        max=draw(int32s),
        criteria=draw(string_maps),
        include_data=draw(few(texts, small=short_texts)),
    )
    if draw(st.booleans()):
        spec.catch_up = draw(st.booleans())
    return spec


small_callback_specs = st.builds(
    job_pb2.CallbackSpec,
    triggers=st.one_of(atoms, short_texts),
    language=st.sampled_from(["qube", "python", "x"]),
    code=st.sampled_from(["unblock-self", "pass", "?"]),
)


@dataclass
class Known:
    """Ids of the jobs set up before fuzzing, so that requests also hit existing things."""

    job_ids: list[int] = field(default_factory=list)
    callback_ids: list[int] = field(default_factory=list)


KNOWN = Known()


def job_ids() -> st.SearchStrategy[int]:
    return st.one_of(st.deferred(lambda: st.sampled_from(KNOWN.job_ids)), int64s)


work_names = st.one_of(st.sampled_from(["0", "1", "2", "10", "1-10"]), texts)


@st.composite
def job_specs(draw: st.DrawFn) -> job_pb2.JobSpec:
    spec = job_pb2.JobSpec(
        name=draw(texts),
        label=draw(st.one_of(st.sampled_from(["", "render", "comp", "a.b", "_x"]), texts)),
        pid=draw(st.one_of(st.just(0), job_ids())),
        status=job_pb2.JobStatus.ValueType(draw(enums([0, 1, 2, 4, 9]))),
        prototype=job_pb2.Prototype.ValueType(draw(enums([0, 1, 2]))),
        command=job_pb2.Command(
            cmdline=draw(st.one_of(st.sampled_from(["true", "", "echo a\x00b"]), texts)),
            frame_range=draw(
                st.one_of(st.sampled_from(["", "1-10", "1-3x2", "1-1000000", "5-1"]), texts)
            ),
            padding=draw(int32s),
        ),
        agenda=draw(
            few(
                st.builds(job_pb2.WorkSpec, name=work_names, status=enums([0, 1, 2, 3])),
                small=st.builds(job_pb2.WorkSpec, name=short_texts, status=enums([0, 1, 2])),
            )
        ),
        cpus=draw(int32s),
        priority=draw(int32s),
        callbacks=draw(few(callback_specs(), 2, small_callback_specs)),
        dependency=draw(st.one_of(st.sampled_from(["", "1", "complete-job-1", "x-y"]), texts)),
        mailaddress=draw(st.one_of(st.sampled_from(["", "a@b.c", "a@b.c\r\nBcc: x@y"]), texts)),
        timeout=draw(int32s),
        agenda_timeout=draw(int32s),
        retry=draw(int32s),
        data=draw(string_maps),
        env=draw(string_maps),
        cwd=draw(st.one_of(st.sampled_from(["", "/tmp", "/no/such"]), texts)),
        user=draw(st.sampled_from(["", "tester", "other"])),
    )
    return spec


small_job_specs = st.builds(
    job_pb2.JobSpec,
    name=short_texts,
    label=st.sampled_from(["", "render", "x"]),
    status=enums([0, 1, 2]),
    command=st.builds(job_pb2.Command, cmdline=st.sampled_from(["true", ""])),
    callbacks=st.lists(small_callback_specs, max_size=1),
)
submit_requests = st.builds(
    supervisor_pb2.SubmitRequest,
    jobs=few(job_specs(), small=small_job_specs),
    pgrp=st.one_of(st.just(0), job_ids()),
    request_id=st.one_of(st.just(""), st.sampled_from(["r1", "r2"]), texts),
)
subscribe_requests = st.builds(
    supervisor_pb2.SubscribeRequest,
    job_ids=few(job_ids()),
    pgrps=few(job_ids()),
    labels=few(texts, small=short_texts),
    users=few(texts, small=short_texts),
    names=few(enums(list(event_pb2.EventName.values()))),
    types=few(enums(list(event_pb2.EventType.values()))),
    include_callback_runs=st.booleans(),
    after_seq=st.one_of(st.just(0), st.just(-1), int64s),
    snapshot=st.sampled_from([True, True, True, True, False]),
    heartbeat_seconds=int32s,
)
control_requests = st.builds(
    supervisor_pb2.ControlJobsRequest,
    action=enums(list(supervisor_pb2.Action.values())),
    job_ids=few(job_ids()),
    work=few(
        st.builds(supervisor_pb2.WorkRef, job_id=job_ids(), work_name=work_names),
        small=st.builds(supervisor_pb2.WorkRef, job_id=job_ids(), work_name=short_texts),
    ),
    reason=texts,
)
add_callbacks_requests = st.builds(
    supervisor_pb2.AddCallbacksRequest,
    job_id=job_ids(),
    callbacks=few(callback_specs(), 2, small_callback_specs),
)


def _token(version: int, kind: int, before: int) -> str:
    packed = struct.pack(">BBq", version % 256, kind % 256, before)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


page_token_values = st.one_of(
    st.just(""),
    texts,
    st.builds(_token, st.integers(0, 3), st.integers(0, 3), int64s),
)
list_runs_requests = st.builds(
    supervisor_pb2.ListCallbackRunsRequest,
    job_id=st.one_of(st.just(0), job_ids()),
    callback_id=st.one_of(
        st.just(0), st.deferred(lambda: st.sampled_from(KNOWN.callback_ids)), int64s
    ),
    page_size=int32s,
    page_token=page_token_values,
)
validate_trigger_requests = st.builds(
    supervisor_pb2.ValidateTriggerRequest,
    triggers=triggers,
    job_id=st.one_of(st.just(0), job_ids()),
)
work_output_requests = st.builds(
    supervisor_pb2.GetWorkOutputRequest,
    job_id=job_ids(),
    work_name=work_names,
    stream=enums([0, 1, 2]),
    attempt=int32s,
    offset=int64s,
    limit=int32s,
)

# --- the harness ------------------------------------------------------------------------------


@dataclass
class Harness:
    server: ServerProcess
    channel: grpc.Channel
    stub: supervisor_pb2_grpc.SupervisorServiceStub
    health: HealthStub
    calls: int = 0

    def state(self) -> tuple[int, int]:
        """(highest job id, log head seq), read through the API."""
        every = [s for s in job_pb2.JobStatus.values() if s]
        page = self.stub.ListJobs(supervisor_pb2.ListJobsRequest(statuses=every, page_size=1))
        highest = page.jobs[0].id if page.jobs else 0
        stream = self.stub.Subscribe(
            supervisor_pb2.SubscribeRequest(snapshot=True, job_ids=[2**62]), timeout=30
        )
        try:
            head = next(item for item in stream if item.HasField("snapshot_end")).snapshot_end.seq
        finally:
            stream.cancel()
        return highest, head

    def check_health(self) -> None:
        reply = self.health.Check(health_pb2.HealthCheckRequest(), timeout=30)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def probe(self, call: Callable[[], Any], request: Message, mutating: bool) -> None:
        before = self.state()
        code, message = _outcome(call)
        assert code in TYPED, f"untyped status {code}: {message[:300]!r}"
        assert not _python_names(message), f"Python names in {message[:300]!r}"
        assert len(message.encode()) < MESSAGE_LIMIT, (
            f"{len(message)} characters: {message[:300]!r}"
        )
        assert "metadata size" not in message, message[:300]
        unknown = _unknown_enum(request)
        if unknown:  # INVALID_ARGUMENT, or RESOURCE_EXHAUSTED for a message over gRPC's limit
            assert code != grpc.StatusCode.OK, f"{unknown}: an unknown enum value was accepted"
        if code != grpc.StatusCode.OK or not mutating:
            assert self.state() == before, f"{code.name} left a trace: {message[:200]!r}"
        self.calls += 1
        if self.calls % HEALTH_EVERY == 0:
            self.check_health()


def _python_names(message: str) -> set[str]:
    """Exception class names, tracebacks or ``<class ...>`` outside the quoted values."""
    bare = QUOTED.sub("''", message)
    names = set(WORDS.findall(bare)) & PYTHON_EXCEPTIONS
    return names | {marker for marker in ("<class", "Traceback") if marker in bare}


def _unknown_enum(message: Message, path: str = "") -> str:
    """The path of the first enum field holding an undefined number ("" if none)."""
    for descriptor, value in message.ListFields():
        where = f"{path}.{descriptor.name}"
        values = list(value) if descriptor.is_repeated else [value]
        if descriptor.enum_type is not None:
            if any(v not in descriptor.enum_type.values_by_number for v in values):
                return where
        elif (
            descriptor.message_type is not None
            and not descriptor.message_type.GetOptions().map_entry
        ):
            for item in values:
                found = _unknown_enum(item, where)
                if found:
                    return found
    return ""


def _outcome(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        result = call()
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    if isinstance(result, tuple):
        return result
    return grpc.StatusCode.OK, ""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    server = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", slots=0).start()
    channel = server.channel()
    stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
    setup = stub.Submit(
        supervisor_pb2.SubmitRequest(
            jobs=[
                job_pb2.JobSpec(
                    name="render",
                    label="render",
                    prototype=job_pb2.PROTOTYPE_CMDRANGE,
                    command=job_pb2.Command(cmdline="true", frame_range="1-10"),
                    callbacks=[
                        job_pb2.CallbackSpec(triggers="complete-job-self", code="unblock-self")
                    ],
                ),
                job_pb2.JobSpec(name="comp", label="comp", command=job_pb2.Command(cmdline="true")),
            ]
        )
    )
    KNOWN.job_ids = [job.id for job in setup.jobs]
    KNOWN.callback_ids = [
        c.id
        for job in setup.jobs
        for c in stub.GetJob(supervisor_pb2.GetJobRequest(job_id=job.id)).job.callbacks
    ]
    harness = Harness(server, channel, stub, health_stub(channel))
    yield harness
    harness.check_health()
    channel.close()
    server.stop()


def _unary(method: Any, request: Any) -> Callable[[], Any]:
    return lambda: method(request, timeout=60)


def _stream(stub: supervisor_pb2_grpc.SupervisorServiceStub, request: Any) -> Callable[[], Any]:
    """Read a few items of the stream with a short deadline (accepted streams may stay quiet).

    A stream that must be refused gets a long deadline, so that a slow machine is not taken for
    an accepted request.
    """
    deadline = 20.0 if _unknown_enum(request) else SUBSCRIBE_DEADLINE

    def read() -> grpc.StatusCode:
        stream = stub.Subscribe(request, timeout=deadline)
        try:
            for count, item in enumerate(stream):
                if count >= 2 or item.HasField("snapshot_end"):
                    break
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return grpc.StatusCode.OK  # accepted, and nothing more to read yet
            raise
        finally:
            stream.cancel()
        return grpc.StatusCode.OK

    return read


@settings(FUZZ, max_examples=_examples("submit"))
@given(request=submit_requests)
def test_submit(harness: Harness, request: supervisor_pb2.SubmitRequest) -> None:
    harness.probe(_unary(harness.stub.Submit, request), request, mutating=True)


@settings(FUZZ, max_examples=_examples("subscribe"))
@given(request=subscribe_requests)
def test_subscribe(harness: Harness, request: supervisor_pb2.SubscribeRequest) -> None:
    harness.probe(_stream(harness.stub, request), request, mutating=False)


@settings(FUZZ, max_examples=_examples("control"))
@given(request=control_requests)
def test_control_jobs(harness: Harness, request: supervisor_pb2.ControlJobsRequest) -> None:
    harness.probe(_unary(harness.stub.ControlJobs, request), request, mutating=True)


@settings(FUZZ, max_examples=_examples("add_callbacks"))
@given(request=add_callbacks_requests)
def test_add_callbacks(harness: Harness, request: supervisor_pb2.AddCallbacksRequest) -> None:
    harness.probe(_unary(harness.stub.AddCallbacks, request), request, mutating=True)


@settings(FUZZ, max_examples=_examples("list_runs"))
@given(request=list_runs_requests)
def test_list_callback_runs(
    harness: Harness, request: supervisor_pb2.ListCallbackRunsRequest
) -> None:
    harness.probe(_unary(harness.stub.ListCallbackRuns, request), request, mutating=False)


@settings(FUZZ, max_examples=_examples("validate_trigger"))
@given(request=validate_trigger_requests)
def test_validate_trigger(harness: Harness, request: supervisor_pb2.ValidateTriggerRequest) -> None:
    harness.probe(_unary(harness.stub.ValidateTrigger, request), request, mutating=False)


@settings(FUZZ, max_examples=_examples("work_output"))
@given(request=work_output_requests)
def test_get_work_output(harness: Harness, request: supervisor_pb2.GetWorkOutputRequest) -> None:
    harness.probe(_unary(harness.stub.GetWorkOutput, request), request, mutating=False)
