"""Submit throughput: many jobs in one durable Submit call.

Each repeat starts a fresh ``latchwork serve --slots 0`` on a fresh data directory, warms the
channel up with a one-job Submit, then times ONE Submit of ``--jobs`` blocked cmdrange jobs of
``--frames`` frames each, from the call to its answer. The supervisor answers only after the
jobs, their work items and their events are committed to SQLite (WAL); ``--durability full``
makes every commit fsync as well (``LATCHWORK_DURABILITY=full``).

Side by side, in the same run, the references a reader needs to judge what part is the
supervisor's own work:

* a bare gRPC round trip to a do-nothing ``grpc.aio`` server (``bench/trivial_server.py``)
  carrying the very same request bytes out and as many bytes back as the real SubmitResponse;
* protobuf (upb) encoding and decoding of that request and response, in this process.

``--prefill K`` first submits the batch K times untimed, to see how the cost of a Submit grows
with the number of jobs the supervisor already holds in memory.

``--store postgresql`` runs each repeat's supervisor on a fresh database of a PostgreSQL server
started for the run, as the tests start theirs.

Run: ``.venv/bin/python bench/submit_throughput.py [--jobs 1000 --frames 10 --repeats 5]
[--store postgresql]``.
(A Submit of over 5,000 work items and instances or 500 jobs is written staged: see
docs/limits.md.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    OtherLoad,
    add_workdir_flag,
    listing,
    machine,
    median,
    process_cpu_seconds,
    supervisor,
    trivial_server,
)
from bench.trivial_server import METHOD, RESPONSE_BYTES_KEY
from latchwork.client.jobspec import job_spec_from_dict
from latchwork.v1 import supervisor_pb2, supervisor_pb2_grpc
from tests.pg_server import session_server, stop_session_server

METADATA = (("latchwork-user", "bench"),)


def job_dicts(jobs: int, frames: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"bench{i}",
            "prototype": "cmdrange",
            "package": {"cmdline": "true", "range": f"1-{frames}"},
            "status": "blocked",
            "cpus": 2,
            "priority": 10,
        }
        for i in range(jobs)
    ]


def build_request(dicts: list[dict[str, object]]) -> supervisor_pb2.SubmitRequest:
    """What ``Client.submit`` sends for these dicts (minus the request id)."""
    return supervisor_pb2.SubmitRequest(
        jobs=[job_spec_from_dict(d, f"jobs[{i}]") for i, d in enumerate(dicts)]
    )


def median_time(fn: Callable[[], object], times: int) -> float:
    """Median seconds of ``times`` calls of ``fn``."""
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median(samples)


def trivial_round_trips(
    echo: grpc.UnaryUnaryMultiCallable[bytes, bytes],
    request: bytes,
    response_bytes: int,
    calls: int,
) -> float:
    """Median seconds of a round trip carrying ``request`` out and ``response_bytes`` back."""
    metadata = ((RESPONSE_BYTES_KEY, str(response_bytes)),)
    echo(request, metadata=metadata, timeout=60)  # first call of these sizes: not counted
    return median_time(lambda: echo(request, metadata=metadata, timeout=60), calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per Submit (1000)")
    parser.add_argument("--frames", type=int, default=10, help="frames per job (10)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh supervisors (5)")
    parser.add_argument(
        "--durability",
        choices=("normal", "full"),
        default="normal",
        help="SQLite synchronous mode of the supervisor: normal (its default) or full",
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="untimed Submits of the same batch first, so that the timed one lands in a "
        "supervisor already holding PREFILL x JOBS jobs (0)",
    )
    parser.add_argument("--trivial-calls", type=int, default=5, help="bare round trips per repeat")
    parser.add_argument(
        "--store",
        default="",
        help="`postgresql`: each repeat's supervisor on a fresh database of a PostgreSQL server "
        "started as the tests start theirs (tests/pg_server.py); default: SQLite in its data dir",
    )
    add_workdir_flag(parser)
    args = parser.parse_args(argv)
    if args.store not in ("", "postgresql"):
        parser.error("--store: `postgresql` or nothing")
    try:
        return _run(args)
    finally:
        if args.store:
            stop_session_server()


def _run(args: argparse.Namespace) -> int:

    print(f"== submit throughput: {args.jobs} jobs x {args.frames} frames in one Submit call")
    print(f"   machine: {machine()}")
    dicts = job_dicts(args.jobs, args.frames)
    convert_s = median_time(lambda: build_request(dicts), 3)
    request = build_request(dicts)
    frames_total = args.jobs * args.frames

    load = OtherLoad()
    submit_s: list[float] = []
    server_cpu_s: list[float] = []
    trivial_s: list[float] = []
    request_wire = response_wire = b""
    with (
        tempfile.TemporaryDirectory(prefix="latchwork-bench-", dir=args.workdir) as tmp,
        trivial_server(Path(tmp)) as trivial,
        grpc.insecure_channel(trivial.address) as trivial_channel,
    ):
        # Raw bytes both ways: no serializer on either side.
        echo: grpc.UnaryUnaryMultiCallable[bytes, bytes] = trivial_channel.unary_unary(METHOD)
        for repeat in range(args.repeats):
            data_dir = Path(tmp) / f"submit{repeat}"
            env = {"LATCHWORK_DURABILITY": args.durability}
            served = supervisor(data_dir, slots=0, env=env)
            if args.store:
                served.argv += ["--store", session_server().fresh_url()]
            with (
                served,
                grpc.insecure_channel(served.address) as channel,
            ):
                stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
                # Connect and take the first-call costs outside the measurement.
                stub.Submit(build_request(job_dicts(1, 1)), metadata=METADATA, timeout=30)
                for _ in range(args.prefill):
                    stub.Submit(request, metadata=METADATA, timeout=300)
                timed = supervisor_pb2.SubmitRequest()
                timed.CopyFrom(request)
                timed.request_id = uuid.uuid4().hex
                cpu_before = process_cpu_seconds(served.pid)
                start = time.perf_counter()
                response = stub.Submit(timed, metadata=METADATA, timeout=300)
                submit_s.append(time.perf_counter() - start)
                server_cpu_s.append(process_cpu_seconds(served.pid) - cpu_before)
            stored = sum(job.counts.pending for job in response.jobs)
            if len(response.jobs) != args.jobs or stored != frames_total:
                raise SystemExit(f"unexpected answer: {len(response.jobs)} jobs, {stored} frames")
            request_wire = timed.SerializeToString()
            response_wire = response.SerializeToString()
            # The same bytes through a server that does nothing, right after.
            trivial_s.append(
                trivial_round_trips(echo, request_wire, len(response_wire), args.trivial_calls)
            )
        workdir = Path(tmp).parent

    load_note = load.report()
    codec = {
        "encode request  (client)": median_time(request.SerializeToString, 5),
        "decode request  (server)": median_time(
            lambda: supervisor_pb2.SubmitRequest.FromString(request_wire), 5
        ),
        "encode response (server)": median_time(response.SerializeToString, 5),
        "decode response (client)": median_time(
            lambda: supervisor_pb2.SubmitResponse.FromString(response_wire), 5
        ),
    }
    codec_s = sum(codec.values())
    submit = median(submit_s)
    trivial_rt = median(trivial_s)
    own = submit - trivial_rt - codec_s

    def row(label: str, seconds: float, note: str = "") -> None:
        print(f"   {label:<34} {seconds * 1000:8.2f} ms  {note}".rstrip())

    store = "PostgreSQL (tests/pg_server.py)" if args.store else "SQLite"
    print(f"   workdir: {workdir}; store: {store}; durability: {args.durability}")
    if args.prefill:
        print(f"   prefill: the supervisor already held {args.prefill * args.jobs} jobs")
    print(f"   {load_note}")
    print(
        f"   repeats: {args.repeats} (fresh supervisor and data dir each); "
        "medians, every repeat in brackets (ms)"
    )
    print(
        f"   request {len(request_wire) / 1024:.0f} KiB, "
        f"response {len(response_wire) / 1024:.0f} KiB on the wire"
    )
    print()
    row("Submit call", submit, listing(submit_s, 1000, 1))
    print(f"   {'  jobs/s':<34} {args.jobs / submit:8.0f}")
    print(f"   {'  frames/s':<34} {frames_total / submit:8.0f}")
    print(
        f"   {'  supervisor CPU during the call':<34} {median(server_cpu_s) * 1000:8.0f} ms"
        "  (user+sys of the serve process, 10 ms ticks)"
    )
    print("   reference, same run:")
    row("  bare gRPC round trip", trivial_rt, f"{trivial_rt / submit:6.1%} of Submit")
    for name, seconds in codec.items():
        row(f"  protobuf {name}", seconds)
    row("  protobuf, all four", codec_s, f"{codec_s / submit:6.1%} of Submit")
    row("=> supervisor's own work", own, f"{own / submit:6.1%} of Submit")
    print("      (validation, model, SQLite transaction, building the response)")
    print(f"   not timed: Client.submit's dict->JobSpec conversion, {convert_s * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
