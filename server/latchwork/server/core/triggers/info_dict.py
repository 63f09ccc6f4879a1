"""Reading the dictionary of Qube's ``info-<state>-{...}`` dependency, with offsets.

Qube writes it as a Python/JSON dict with double quotes: ``{"1": ["540:3"], "*": ["600:*"],
"": ["700"]}``. ``json.loads`` would read it, but would say neither where a bad key or value
is nor refuse a repeated key (it keeps the last silently); this small reader does both, so
every error points at the character of the dependency text that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .syntax import TriggerSyntaxError

_FORM = 'info-STATE-{"FRAME": ["JOB", "JOB:*", "JOB:FRAME"], ...}'


@dataclass(frozen=True, slots=True)
class InfoValue:
    """One ``"JOB"``, ``"JOB:*"`` or ``"JOB:FRAME"`` string; ``frame`` is "" for the first."""

    job: str
    frame: str
    offset: int


@dataclass(frozen=True, slots=True)
class InfoEntry:
    """A key (``"*"``, ``""`` or a frame name) and the values it waits for."""

    key: str
    offset: int
    values: tuple[InfoValue, ...]


def read_info_dict(text: str, start: int) -> list[InfoEntry]:
    """The entries of the dict that is the whole of ``text``; ``start``: its dependency offset."""
    reader = _Reader(text, start)
    entries = reader.read_dict()
    reader.skip_blanks()
    if reader.at < len(text):
        raise reader.error("unexpected text after the closing '}'")
    return entries


class _Reader:
    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.start = start
        self.at = 0

    def error(self, message: str, at: int | None = None) -> TriggerSyntaxError:
        where = self.at if at is None else at
        return TriggerSyntaxError(f"{message}; the form is {_FORM}", self.start + where)

    def skip_blanks(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def expect(self, char: str, what: str) -> None:
        self.skip_blanks()
        if self.text[self.at : self.at + 1] != char:
            raise self.error(f"expected {char!r} {what}")
        self.at += 1

    def peek(self) -> str:
        self.skip_blanks()
        return self.text[self.at : self.at + 1]

    def read_dict(self) -> list[InfoEntry]:
        self.expect("{", "to open the dictionary")
        entries: list[InfoEntry] = []
        seen: set[str] = set()
        if self.peek() == "}":
            raise self.error("an empty dictionary waits for nothing")
        while True:
            self.skip_blanks()
            key_at = self.at
            key = self.read_string('a key ("*", "" or a frame name)')
            if key in seen:
                raise self.error(f"key {key!r} appears twice: list its values once", key_at)
            if any(c.isspace() for c in key):
                raise self.error(f"key {key!r}: a frame name has no blanks", key_at)
            seen.add(key)
            self.expect(":", "after the key")
            entries.append(InfoEntry(key, self.start + key_at, self.read_list()))
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("}", "or ',' after a value list")
            return entries

    def read_list(self) -> tuple[InfoValue, ...]:
        self.expect("[", "to open the list of jobs")
        values: list[InfoValue] = []
        if self.peek() == "]":
            raise self.error("an empty list waits for nothing: name a job")
        while True:
            self.skip_blanks()
            value_at = self.at
            value = self.read_string('a job ("JOB", "JOB:*" or "JOB:FRAME")')
            job, colon, frame = value.partition(":")
            if not job or (colon and not frame) or any(c.isspace() for c in value):
                raise self.error(f"{value!r} is not JOB, JOB:* or JOB:FRAME", value_at)
            values.append(InfoValue(job, frame, self.start + value_at))
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("]", "or ',' after a job")
            return tuple(values)

    def read_string(self, what: str) -> str:
        if self.text[self.at : self.at + 1] != '"':
            raise self.error(f"expected {what} in double quotes")
        end = self.text.find('"', self.at + 1)
        if end < 0:
            raise self.error("unterminated string")
        value = self.text[self.at + 1 : end]
        if "\\" in value:
            raise self.error("backslashes are not allowed in names")
        self.at = end + 1
        return value
