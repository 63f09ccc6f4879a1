"""The API's descriptor set (``make protoset``: build/latchwork.protoset) is current and loads.

It is what clients/README.md offers a new language's generator and tools such as grpcurl: the
protos compiled into one FileDescriptorSet, with their imports and comments. Built here from
the protos as they are now and compared with the compiled Python stubs (which ``make`` also
builds from them), so a stale or partial set fails.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool

from latchwork.v1 import supervisor_pb2, worker_pb2
from tests.language_clients.example_run import REPO

TOOL = REPO / "tools" / "build_protoset.py"
GO_TOOLS = REPO / "build" / "clients" / "go-tools"  # protoc-gen-go, grpcurl (make clients-build)


def build(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    output = tmp_path / "latchwork.protoset"
    subprocess.run([sys.executable, str(TOOL), str(output)], check=True, cwd=tmp_path)
    return descriptor_pb2.FileDescriptorSet.FromString(output.read_bytes())


def test_make_protoset_runs_the_tool() -> None:
    planned = subprocess.run(
        ["make", "-n", "-B", "protoset"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "tools/build_protoset.py build/latchwork.protoset" in planned
    assert "npm" not in planned  # Python only, like `make serve`


def test_the_set_has_every_proto_and_is_what_the_stubs_were_built_from(tmp_path: Path) -> None:
    files = {f.name: f for f in build(tmp_path).file}
    protos = {p.relative_to(REPO / "protos").as_posix() for p in (REPO / "protos").rglob("*.proto")}
    assert set(files) == protos | {"google/protobuf/timestamp.proto"}
    for module in (supervisor_pb2, worker_pb2):
        compiled = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        published = descriptor_pb2.FileDescriptorProto()
        published.CopyFrom(files[compiled.name])
        published.ClearField("source_code_info")  # the stubs embed no comments
        without_json_names(published)  # nor the JSON names protoc derives from field names
        assert published == compiled, f"{compiled.name} differs from the compiled stubs"


def without_json_names(proto: descriptor_pb2.FileDescriptorProto) -> None:
    messages = list(proto.message_type)
    while messages:
        message = messages.pop()
        for field in message.field:
            field.ClearField("json_name")
        messages.extend(message.nested_type)


def test_the_set_loads_and_carries_the_comments(tmp_path: Path) -> None:
    fds = build(tmp_path)
    pool = descriptor_pool.DescriptorPool()
    for proto in fds.file:  # dependencies first: protoc's order
        pool.Add(proto)
    service = pool.FindServiceByName("latchwork.v1.SupervisorService")
    assert {"Submit", "Subscribe", "GetJob"} <= {m.name for m in service.methods}
    submit = pool.FindMessageTypeByName("latchwork.v1.SubmitRequest")
    assert (
        submit.fields_by_name["request_id"].type == submit.fields_by_name["request_id"].TYPE_STRING
    )
    comments = [
        location.leading_comments
        for proto in fds.file
        if proto.name == "latchwork/v1/supervisor.proto"
        for location in proto.source_code_info.location
    ]
    assert any("INVALID_ARGUMENT" in comment for comment in comments)


def test_the_readme_s_protoset_tour_runs(tmp_path: Path) -> None:
    """clients/README.md's commands, in a directory of their own that sees the repository's
    build/ (``make protoset`` is the tool above, which is what the make target runs)."""
    readme = (REPO / "clients" / "README.md").read_text()
    tour = re.search(r"<!-- protoset-tour:.*?```sh\n(.*?)```", readme, re.S)
    assert tour, "clients/README.md has no protoset tour"
    commands = [shlex.split(line) for line in tour[1].splitlines() if line.strip()]
    assert commands[0] == ["make", "protoset"]
    (tmp_path / "build").mkdir()
    subprocess.run(
        [sys.executable, str(TOOL), "build/latchwork.protoset"], cwd=tmp_path, check=True
    )
    path = os.pathsep.join([str(Path(sys.executable).parent), str(GO_TOOLS), os.environ["PATH"]])
    outputs = [
        subprocess.run(
            command,
            cwd=tmp_path,
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for command in commands[1:]
    ]
    generated = sorted(p.name for p in (tmp_path / "gen" / "go" / "latchwork" / "v1").iterdir())
    assert generated == sorted(
        f"{p.stem}.pb.go" for p in (REPO / "protos" / "latchwork" / "v1").glob("*.proto")
    )
    assert "rpc Subscribe ( .latchwork.v1.SubscribeRequest )" in outputs[-1]
    assert "UNKNOWN" in outputs[-1]  # the comments travel in the set: the resumable codes
