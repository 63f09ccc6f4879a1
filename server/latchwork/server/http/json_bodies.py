"""Proto messages as JSON, and request parameters read with bounded, named refusals.

JSON bodies use the proto field names (snake_case), enums by their proto names and int64 as
strings (``MessageToDict``'s defaults), so a body reads like the message in the .proto file.
Fields at their default value are included too (``0``, ``""``, ``[]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from .errors import invalid

MAX_BODY_BYTES = 64 * 1024


def to_json(message: Message) -> dict[str, Any]:
    """The message as JSON, with every field present (zeros and empty lists included), so a
    reader need not know proto3's defaults."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def int_param(
    query: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int = 2**62
) -> int:
    """The whole-number parameter ``name`` (``default`` when absent or empty)."""
    text = query.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise invalid(name, f"a whole number, not {text[:40]!r}") from None
    if not minimum <= value <= maximum:
        raise invalid(name, f"{value} is out of range ({minimum}..{maximum})")
    return value


def flag_param(query: Mapping[str, str], name: str) -> bool:
    text = query.get(name, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise invalid(name, f"0 or 1, not {text[:40]!r}")


def path_id(request: web.Request, name: str = "id") -> int:
    """A positive id from the URL path (``/api/jobs/{id}``)."""
    return int_param(request.match_info, name, 0, minimum=1)


async def read_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty), at most MAX_BODY_BYTES."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise invalid("body", f"larger than {MAX_BODY_BYTES} bytes")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise invalid("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid("body", f"not JSON ({error})") from None
    if not isinstance(body, dict):
        raise invalid("body", "a JSON object")
    return body
