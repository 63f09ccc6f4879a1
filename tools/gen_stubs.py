#!/usr/bin/env python3
"""Generate the Python gRPC stubs for protos/**/*.proto into build/gen.

Run with the project venv's interpreter (``make stubs`` does): it needs grpcio-tools and
mypy-protobuf.  Output for protos/latchwork/v1/job.proto:

    build/gen/latchwork/v1/job_pb2.py        (--python_out)
    build/gen/latchwork/v1/job_pb2.pyi       (--mypy_out, protoc-gen-mypy)
    build/gen/latchwork/v1/job_pb2_grpc.py   (--grpc_python_out)
    build/gen/latchwork/v1/job_pb2_grpc.pyi  (--mypy_grpc_out, protoc-gen-mypy_grpc)

plus ``__init__.py`` and ``py.typed`` in every generated package directory (but not in
build/gen/latchwork itself: ``latchwork`` is a namespace package).  Everything is generated
into a fresh directory that then replaces build/gen, so stale outputs of deleted or renamed
.proto files never survive.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
GEN_DIR = ROOT / "build" / "gen"
NAMESPACE = "latchwork"


def main() -> int:
    import grpc_tools  # from the venv (grpcio-tools)

    protos = sorted(p.relative_to(PROTO_DIR).as_posix() for p in PROTO_DIR.rglob("*.proto"))
    if not protos:
        print(f"gen_stubs: no .proto files under {PROTO_DIR}", file=sys.stderr)
        return 1

    bindir = Path(sys.executable).parent
    plugins = {name: bindir / name for name in ("protoc-gen-mypy", "protoc-gen-mypy_grpc")}
    for name, path in plugins.items():
        if not path.exists():
            print(f"gen_stubs: {name} not found next to {sys.executable}", file=sys.stderr)
            return 1

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    tmp = GEN_DIR.with_name("gen.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    out = tmp.as_posix()
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={plugins['protoc-gen-mypy']}",
        f"--plugin=protoc-gen-mypy_grpc={plugins['protoc-gen-mypy_grpc']}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        *protos,
    ]
    result = subprocess.run(cmd, cwd=PROTO_DIR, check=False)
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        print("gen_stubs: protoc failed", file=sys.stderr)
        return result.returncode

    ns_dir = tmp / NAMESPACE
    for pkg_dir in sorted({p.parent for p in tmp.rglob("*.py")}):
        # every generated directory below latchwork/ is a regular, typed package
        d = pkg_dir
        while d != ns_dir and ns_dir in d.parents:
            (d / "__init__.py").touch(exist_ok=True)
            (d / "py.typed").touch(exist_ok=True)
            d = d.parent
    stray = sorted(p.name for p in ns_dir.glob("*.py"))
    if stray:  # .proto files directly in protos/latchwork/ have no package to live in
        print(
            f"gen_stubs: .proto files must live in protos/{NAMESPACE}/<pkg>/: {stray}",
            file=sys.stderr,
        )
        shutil.rmtree(tmp, ignore_errors=True)
        return 1

    shutil.rmtree(GEN_DIR, ignore_errors=True)
    tmp.rename(GEN_DIR)
    print(f"gen_stubs: generated {len(protos)} proto file(s) into {GEN_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
