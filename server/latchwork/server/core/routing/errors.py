"""The one error the routing parsers raise: what is wrong, and where.

The shape follows ``TriggerSyntaxError`` (triggers/syntax.py): a message, the character offset
into the text the user wrote, and an optional hint, so the submit path can answer every routing
attribute the way it answers a trigger (field path, message, offset). ``field`` names the job
attribute (``requirements``, ``reservations``, ...) once the caller knows it.
"""

from __future__ import annotations


class RoutingSyntaxError(ValueError):
    """A routing attribute that cannot be read; ``offset`` is a character index into it."""

    def __init__(self, message: str, offset: int, hint: str = "", field: str = "") -> None:
        super().__init__(f"{message} at {offset}" + (f"; {hint}" if hint else ""))
        self.message = message
        self.offset = offset
        self.hint = hint
        self.field = field

    def in_field(self, field: str) -> RoutingSyntaxError:
        """The same error, naming the job attribute it was found in."""
        return RoutingSyntaxError(self.message, self.offset, self.hint, field)

    def __str__(self) -> str:
        text = f"{self.message} at {self.offset}" + (f"; {self.hint}" if self.hint else "")
        return f"{self.field}: {text}" if self.field else text
