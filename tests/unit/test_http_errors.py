"""The HTTP side's refusals for what the supervisor refused in process (``from_supervisor``):
the code and message a gRPC caller would read, never a storage error's own text."""

from __future__ import annotations

from latchwork.server.core.errors import FieldError, InvalidRequest, OutOfRange
from latchwork.server.http.errors import from_supervisor
from latchwork.server.store.errors import StorageFull, StorageUnavailable


def test_a_storage_error_reads_as_over_grpc_without_the_databases_own_text() -> None:
    refused = from_supervisor(StorageUnavailable("database is locked: /srv/latchwork/db"))
    assert (refused.status, refused.code) == (503, "UNAVAILABLE")
    assert refused.message == StorageUnavailable.public_message
    assert "/srv" not in refused.message
    full = from_supervisor(StorageFull("disk I/O error"))
    assert (full.status, full.code, full.message) == (
        429,
        "RESOURCE_EXHAUSTED",
        StorageFull.public_message,
    )


def test_an_invalid_request_names_its_fields_and_a_cursor_is_out_of_range() -> None:
    refused = from_supervisor(InvalidRequest([FieldError("after_seq", "must be -1 or more")]))
    assert (refused.status, refused.code) == (400, "INVALID_ARGUMENT")
    assert [(v.field, v.description) for v in refused.violations] == [
        ("after_seq", "must be -1 or more")
    ]
    beyond = from_supervisor(OutOfRange("after_seq 9 is beyond the log's head 3"))
    assert (beyond.status, beyond.code) == (400, "OUT_OF_RANGE")
