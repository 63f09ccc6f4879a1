"""The supervisor every ``qb`` function talks to: one client, made on first use.

Qube's ``qb`` reads its supervisor from ``qb.conf``; here it is ``LATCHWORK_ADDRESS`` (default
localhost:50051) unless ``qb.connect`` names another. Kept apart so that the modules behind
``qb`` (jobs, work, jobinfo) share one connection without importing each other.
"""

from __future__ import annotations

import threading

from .client import Client

_lock = threading.Lock()
_client: Client | None = None
_address: str | None = None


def connect(address: str | None = None, *, user: str | None = None) -> Client:
    """Use the supervisor at ``address`` from now on (None: ``LATCHWORK_ADDRESS``)."""
    global _client, _address
    with _lock:
        if _client is not None:
            _client.close()
        _address = address
        _client = Client(address, user=user)
        return _client


def get_client() -> Client:
    """The client ``connect`` made, or one to ``LATCHWORK_ADDRESS`` made now."""
    global _client
    with _lock:
        if _client is None:
            _client = Client(_address)
        return _client
