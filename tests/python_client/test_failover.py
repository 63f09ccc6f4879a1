"""How a client given several addresses decides (``_failover``, ``latchwork.common.addresses``):
which calls are made again at the next address, when, and for how long; and that a client whose
every address is dead gives up within the call's time. The moves between real supervisors are
in tests/test_e2e_failover.py."""

from __future__ import annotations

import time

import grpc
import pytest

from latchwork.client import AsyncClient, Client, UnavailableError
from latchwork.client._failover import CallAttempts
from latchwork.client.errors import LatchworkError
from latchwork.common.addresses import AddressRing, parse_addresses
from latchwork.v1 import supervisor_pb2

from ..takeover import free_addresses

UNAVAILABLE = LatchworkError(grpc.StatusCode.UNAVAILABLE, "connection refused")


def test_addresses_are_read_from_a_comma_separated_list() -> None:
    assert parse_addresses("a:1") == ("a:1",)
    assert parse_addresses(" a:1, b:2 ,") == ("a:1", "b:2")
    with pytest.raises(ValueError, match="names no HOST:PORT"):
        parse_addresses(" , ")
    with pytest.raises(ValueError, match="address"):
        Client(",")


def test_calls_failing_at_once_move_the_ring_once() -> None:
    ring = AddressRing(["a:1", "b:2", "c:3"])
    assert ring.move_from(0) and not ring.move_from(0)
    assert (ring.current, ring.generation) == ("b:2", 1)
    assert ring.move_from(1) and ring.move_from(2) and ring.current == "a:1"
    alone = AddressRing(["a:1"])
    assert not alone.move_from(0) and alone.current == "a:1"


def test_each_address_once_per_round_then_a_backoff() -> None:
    attempts = CallAttempts("GetJob", 3, timeout=30.0)
    assert attempts.retry_delay(UNAVAILABLE, moved_under=False) == 0.0
    assert attempts.retry_delay(UNAVAILABLE, moved_under=False) == 0.0
    assert attempts.retry_delay(UNAVAILABLE, moved_under=False) > 0.0  # a round is done
    assert attempts.retry_delay(UNAVAILABLE, moved_under=False) == 0.0


@pytest.mark.parametrize(
    ("method", "addresses", "error", "moved_under"),
    [
        ("AddCallbacks", 2, UNAVAILABLE, False),  # would add the callbacks twice
        ("GetJob", 1, UNAVAILABLE, False),  # one address: as it always was
        ("GetJob", 2, LatchworkError(grpc.StatusCode.NOT_FOUND, "no job 9"), False),
        ("Submit", 2, LatchworkError(grpc.StatusCode.CANCELLED, "cancelled"), False),
    ],
)
def test_what_is_not_made_again(
    method: str, addresses: int, error: LatchworkError, moved_under: bool
) -> None:
    with pytest.raises(LatchworkError) as raised:
        CallAttempts(method, addresses, timeout=30.0).retry_delay(error, moved_under)
    assert raised.value is error


def test_a_call_whose_channel_another_call_closed_is_made_again() -> None:
    cancelled = LatchworkError(grpc.StatusCode.CANCELLED, "channel closed")
    assert CallAttempts("ModifyJobs", 2, timeout=30.0).retry_delay(cancelled, True) == 0.0


def test_the_tries_end_with_the_call_time() -> None:
    attempts = CallAttempts("ListJobs", 2, timeout=0.2)
    attempts.retry_delay(UNAVAILABLE, moved_under=False)
    time.sleep(0.3)
    with pytest.raises(LatchworkError):
        attempts.retry_delay(UNAVAILABLE, moved_under=False)


def test_a_client_with_no_live_address_gives_up_within_the_call_time() -> None:
    request = supervisor_pb2.GetJobRequest(job_id=1)
    with Client(",".join(free_addresses(2)), user="tester") as client:
        started = time.monotonic()
        with pytest.raises(UnavailableError):
            client._call("GetJob", request, timeout=1.0)  # noqa: SLF001
        assert time.monotonic() - started < 20  # the call's second, and a connect's slack
        assert client._ring.generation >= 2  # noqa: SLF001 - both addresses were tried


def test_add_callbacks_fails_once_and_moves_the_client_on() -> None:
    with Client(",".join(free_addresses(2)), user="tester") as client:
        with pytest.raises(UnavailableError):
            client.add_callbacks(1, [{"triggers": "done-job-self", "code": "unblock-self"}])
        assert client._ring.index == 1  # noqa: SLF001 - the next call goes to the next


async def test_the_asyncio_client_gives_up_too() -> None:
    request = supervisor_pb2.GetJobRequest(job_id=1)
    async with AsyncClient(",".join(free_addresses(3)), user="tester") as client:
        with pytest.raises(UnavailableError):
            await client._call("GetJob", request, timeout=1.0)  # noqa: SLF001
        assert client._ring.generation >= 3  # noqa: SLF001


def test_a_closed_client_refuses_calls_and_opens_nothing() -> None:
    client = Client(",".join(free_addresses(2)), user="tester")
    client.close()
    with pytest.raises(LatchworkError) as raised:
        client.get_job(1)
    assert raised.value.code == grpc.StatusCode.CANCELLED
    assert client._open is None  # noqa: SLF001
