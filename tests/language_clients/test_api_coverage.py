"""Each client's compile-level API test names every RPC of the protos (issue 6).

The language files themselves only compile if the methods and messages they reference
exist; this test closes the loop from the other side: an RPC added to a proto, or a message
renamed, fails here until every language's coverage file references it (and then compiles).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from latchwork.v1 import supervisor_pb2, worker_pb2
from tests.language_clients.example_run import REPO

COVERAGE_FILES = {
    "go": "clients/go/latchwork/api_coverage_test.go",
    "typescript": "clients/typescript/test/api-coverage.ts",
    "java": "clients/java/src/test/java/io/latchwork/client/ApiCoverageTest.java",
}


def _rpcs() -> list[tuple[str, str, str, str]]:
    """(service, method, request message, response message) for every RPC."""
    return [
        (service.name, method.name, method.input_type.name, method.output_type.name)
        for file in (supervisor_pb2.DESCRIPTOR, worker_pb2.DESCRIPTOR)
        for service in file.services_by_name.values()
        for method in service.methods
    ]


def test_the_protos_have_the_rpcs_the_design_lists() -> None:
    methods = {(service, method) for service, method, _, _ in _rpcs()}
    assert len(methods) == 21
    assert ("SupervisorService", "Subscribe") in methods
    assert ("WorkerService", "LeaseWork") in methods
    assert ("WorkerService", "ReportWorkStream") in methods
    assert ("SupervisorService", "ModifyJobs") in methods
    assert ("SupervisorService", "ExplainJob") in methods
    assert ("SupervisorService", "SummarizeFarm") in methods


@pytest.mark.parametrize("language", sorted(COVERAGE_FILES))
def test_coverage_file_references_every_rpc(language: str) -> None:
    text = (REPO / COVERAGE_FILES[language]).read_text()
    missing = []
    for service, method, request, response in _rpcs():
        if not re.search(rf"\b{service}", text):
            missing.append(service)
        # Go and Java keep the method's case or lower its first letter; so does ts-proto.
        lower_camel = method[0].lower() + method[1:]
        if not re.search(rf"\b({method}|{lower_camel})\b", text):
            missing.append(f"{service}.{method}")
        for message in (request, response):
            if not re.search(rf"\b{message}\b", text):
                missing.append(f"{service}.{method}: {message}")
    assert missing == [], f"{COVERAGE_FILES[language]} does not reference {missing}"


def test_coverage_files_exist_for_every_client_language() -> None:
    languages = {path.name for path in (REPO / "clients").iterdir() if path.is_dir()}
    assert languages - {"python"} == set(COVERAGE_FILES)
    for path in COVERAGE_FILES.values():
        assert Path(REPO / path).is_file(), path
