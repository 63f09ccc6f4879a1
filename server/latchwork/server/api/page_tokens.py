"""Opaque page tokens: what a paged call hands back to resume after the page it returned.

A token is the URL-safe base64 (no padding) of a version byte, a byte naming the listing, and
the id the next page starts below (8 bytes, big endian). Clients pass tokens back untouched;
anything that does not decode to a token of the same listing is refused as INVALID_ARGUMENT
(``page_token: not a token from ListJobs``) instead of reaching ``int()`` with odd input.
"""

from __future__ import annotations

import base64
import binascii
import struct
from enum import IntEnum

VERSION = 1
_LAYOUT = struct.Struct(">BBq")
_TOKEN_CHARS = len(base64.urlsafe_b64encode(b"\0" * _LAYOUT.size).rstrip(b"="))


class Listing(IntEnum):
    """Which call a token belongs to; a token of one is not accepted by another."""

    LIST_JOBS = 1
    LIST_CALLBACK_RUNS = 2


class BadPageToken(ValueError):
    """A page token this server did not hand out for this listing."""


def encode(listing: Listing, before_id: int) -> str:
    packed = _LAYOUT.pack(VERSION, listing, before_id)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode(listing: Listing, token: str) -> int:
    """The id the next page starts below; raises ``BadPageToken`` for anything else."""
    if len(token) != _TOKEN_CHARS or not token.isascii():
        raise BadPageToken(token)
    try:
        packed = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadPageToken(token) from None
    if len(packed) != _LAYOUT.size:
        raise BadPageToken(token)
    version, kind, before_id = _LAYOUT.unpack(packed)
    if version != VERSION or kind != listing or before_id <= 0:
        raise BadPageToken(token)
    if encode(listing, before_id) != token:  # the one spelling this server hands out
        raise BadPageToken(token)
    return int(before_id)
