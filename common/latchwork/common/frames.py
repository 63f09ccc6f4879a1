"""Qube's frame-range syntax: ``1-100``, ``1-100x2``, ``1,3,5-9``, ``10-1`` (descending).

Shared: the supervisor expands a job's range on Submit and the client's ``qb.genframes``
expands one locally, so both must read it the same way.
"""

from __future__ import annotations

import re

MAX_FRAMES = 50_000
"""Frames of one range, unless the caller says otherwise: the default of the supervisor's
``work_items_per_job`` limit (docs/limits.md; ``tests/unit/test_layers.py`` checks that the
two agree). The supervisor always passes its configured limit."""

_PART = re.compile(r"^(-?[0-9]{1,12})(?:-(-?[0-9]{1,12})(?:x([0-9]{1,12}))?)?$")


class FrameRangeError(ValueError):
    """A frame range that cannot be read; ``offset`` points at the bad part."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.message = message
        self.offset = offset


def parse_frame_range(text: str, max_frames: int = MAX_FRAMES) -> list[int]:
    """Frames in the order written, duplicates dropped (a frame runs once).

    A range of more than ``max_frames`` is refused before any frame is expanded.
    """
    frames: list[int] = []
    seen: set[int] = set()
    offset = 0
    for part in text.split(","):
        stripped = part.strip()
        start_offset = offset + (len(part) - len(part.lstrip()))
        offset += len(part) + 1
        if not stripped:
            raise FrameRangeError("empty part in frame range", start_offset)
        match = _PART.match(stripped)
        if match is None:
            shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
            raise FrameRangeError(
                f"cannot read {shown!r} as a frame, 'a-b' or 'a-bxstep'", start_offset
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) is not None else 1
        if step == 0:
            raise FrameRangeError("frame step must be at least 1", start_offset)
        direction = 1 if last >= first else -1
        if abs(last - first) // step + 1 + len(frames) > max_frames:
            raise FrameRangeError(f"frame range has more than {max_frames} frames", start_offset)
        for frame in range(first, last + direction, step * direction):
            if frame not in seen:
                seen.add(frame)
                frames.append(frame)
    return frames
