"""Writes the API as one protobuf descriptor set: build/latchwork.protoset (``make protoset``).

A FileDescriptorSet of protos/latchwork/v1/*.proto with their imports and comments is what a
tool or a new language's generator needs, without the .proto files or a protoc setup of its
own: ``protoc --descriptor_set_in``, ``buf generate <file>.protoset``, ``grpcurl -protoset``,
Postman, Kreya. It is built with the venv's grpcio-tools (Python only, no network).

    python tools/build_protoset.py [OUTPUT]     (default: build/latchwork.protoset)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
DEFAULT_OUTPUT = ROOT / "build" / "latchwork.protoset"


def main(argv: list[str]) -> int:
    import grpc_tools  # from the venv (grpcio-tools)

    output = Path(argv[1]).resolve() if len(argv) > 1 else DEFAULT_OUTPUT
    protos = sorted(p.relative_to(PROTO_DIR).as_posix() for p in PROTO_DIR.rglob("*.proto"))
    if not protos:
        print(f"build_protoset: no .proto files under {PROTO_DIR}", file=sys.stderr)
        return 1
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".tmp")
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        "--include_imports",  # google/protobuf/timestamp.proto travels along
        "--include_source_info",  # the comments: the API's documentation
        f"--descriptor_set_out={partial}",
        *protos,
    ]
    if subprocess.run(cmd, cwd=PROTO_DIR, check=False).returncode != 0:
        partial.unlink(missing_ok=True)
        print("build_protoset: protoc failed", file=sys.stderr)
        return 1
    os.replace(partial, output)  # never a half-written file under the published name
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
