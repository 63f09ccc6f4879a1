"""Qube's frame-range syntax, as the core reads it.

The parser lives in :mod:`latchwork.common.frames`, since the client's ``qb.genframes`` must
read a range exactly as Submit does, and the client may not import the server. Here the
core's default bound is its own limit.
"""

from __future__ import annotations

from latchwork.common.frames import FrameRangeError, parse_frame_range

from .limits import DEFAULT_LIMITS

MAX_FRAMES = DEFAULT_LIMITS.work_items_per_job
"""Frames of one job, unless configured otherwise (docs/limits.md)."""

__all__ = ["MAX_FRAMES", "FrameRangeError", "parse_frame_range"]
