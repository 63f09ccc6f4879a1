"""A supervisor named by several addresses, one of them in use: the Python client and the
remote worker read ``host:port[,host:port…]`` the same way and step through it the same way.

A farm with standby supervisors has one leader serving its gRPC address while the standbys do
not listen at all, so for a client a takeover reads as "the server at this address went away,
another one answers": on UNAVAILABLE it moves to the next address of its list, cycling. One
address behaves as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence


def parse_addresses(text: str) -> tuple[str, ...]:
    """``host:port[,host:port…]`` as a tuple of addresses; blanks around commas are ignored."""
    addresses = tuple(part.strip() for part in text.split(",") if part.strip())
    if not addresses:
        raise ValueError(f"address {text!r} names no HOST:PORT")
    return addresses


class AddressRing:
    """The addresses and the one in use. ``generation`` counts the moves, so that the calls
    that all failed on one address move the client on once, not once each."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = tuple(addresses)
        self.index = 0
        self.generation = 0

    @property
    def current(self) -> str:
        return self.addresses[self.index]

    def move_from(self, generation: int) -> bool:
        """Go to the next address after a failure on ``generation``'s; False when there is
        no other address or another call moved on already."""
        if generation != self.generation or len(self.addresses) < 2:
            return False
        self.index = (self.index + 1) % len(self.addresses)
        self.generation += 1
        return True
