"""Parsing trigger expressions (DESIGN §4) into their syntax tree.

Errors name the character offset and what to do about it. Spelling mistakes in event names and
types get a suggestion, because a misspelt trigger that silently never fires is exactly the
trap this parser exists to remove.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ..routing.hosts import HOST_NAME
from .syntax import (
    EVENT_NAMES,
    EVENT_TYPES,
    GLOBAL_TYPES,
    QUBE_EPOCH,
    AllOf,
    AnyOf,
    Atom,
    Expr,
    TriggerSyntaxError,
    is_number,
)

MAX_TRIGGER_LENGTH = 10_000
# Parses kept (:func:`_parsed`): this many distinct texts of at most this many characters,
# a few MiB at worst whatever clients send.
PARSED_TRIGGERS_KEPT = 4096
PARSED_TRIGGER_LENGTH = 256
MAX_NESTING = 50

# The zone needs its colon (+05:00): "-0500" would be a repeat period.
_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?",
)
_OPERATORS = {"&&": "and", "and": "and", "AND": "and", "||": "or", "or": "or", "OR": "or"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "and", "or", "word", "end"
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif text.startswith("&&", i) or text.startswith("||", i):
            tokens.append(_Token(_OPERATORS[text[i : i + 2]], text[i : i + 2], i))
            i += 2
        elif ch in "&|":
            raise TriggerSyntaxError(f"a lone {ch!r}: write {ch * 2!r}", i)
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()&|":
                i += 1
            word = text[start:i]
            tokens.append(_Token(_OPERATORS.get(word, "word"), word, start))
    tokens.append(_Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Expr:
        expr = self.disjunction()
        token = self.peek()
        if token.kind != "end":
            raise TriggerSyntaxError(
                f"unexpected {token.text!r}: join atoms with '&&' or '||'", token.offset
            )
        return expr

    def disjunction(self) -> Expr:
        operands = [self.conjunction()]
        while self.peek().kind == "or":
            self.take()
            operands.append(self.conjunction())
        return _combine(AnyOf, operands)

    def conjunction(self) -> Expr:
        operands = [self.primary()]
        while self.peek().kind == "and":
            self.take()
            operands.append(self.primary())
        return _combine(AllOf, operands)

    def primary(self) -> Expr:
        token = self.take()
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise TriggerSyntaxError(
                    f"more than {MAX_NESTING} nested parentheses", token.offset
                )
            expr = self.disjunction()
            closing = self.take()
            if closing.kind != ")":
                raise TriggerSyntaxError(f"'(' at {token.offset} is not closed", closing.offset)
            self.depth -= 1
            return expr
        if token.kind == "word":
            return parse_atom(token.text, token.offset)
        if token.kind == "end":
            raise TriggerSyntaxError("expected an atom such as 'complete-job-self'", token.offset)
        raise TriggerSyntaxError(
            f"unexpected {token.text!r}: expected an atom or '('", token.offset
        )


def _combine(kind: type[AllOf] | type[AnyOf], operands: list[Expr]) -> Expr:
    if len(operands) == 1:
        return operands[0]
    flat: list[Expr] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(choices)}"


def parse_time(text: str, offset: int) -> tuple[int, str]:
    """A Qube time or ISO-8601 timestamp at the start of ``text``: (Unix seconds, rest)."""
    iso = _ISO.match(text)
    if iso:
        stamp = iso.group(0)
        try:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise TriggerSyntaxError(f"{stamp!r} is not a valid date and time", offset) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        unix = int(parsed.timestamp())
        if unix < QUBE_EPOCH:
            raise TriggerSyntaxError(
                f"{stamp!r} is before 2000-01-01, where Qube time starts", offset
            )
        return unix, text[iso.end() :]
    digits = re.match(r"[0-9]+", text)
    if digits is None:
        raise TriggerSyntaxError(
            f"{text!r} is not a time: use Qube time (seconds since 2000-01-01) or "
            "ISO-8601 such as 2026-12-01T09:00:00Z",
            offset,
        )
    if len(digits.group(0)) > 12:
        raise TriggerSyntaxError(f"time {digits.group(0)[:20]}... is too far in the future", offset)
    value = int(digits.group(0))
    if value > 10**11:
        raise TriggerSyntaxError(f"time {value} is too far in the future", offset)
    return value + QUBE_EPOCH, text[digits.end() :]


def _parse_repeat(text: str, offset: int) -> tuple[int, int]:
    time, rest = parse_time(text, offset)
    seconds_offset = offset + len(text) - len(rest) + 1
    if not rest.startswith("-") or not is_number(rest[1:]):
        raise TriggerSyntaxError(
            "a repeat needs a period in seconds after the time: TIME-SECONDS", seconds_offset - 1
        )
    seconds = int(rest[1:])
    if seconds < 1:
        raise TriggerSyntaxError("a repeat period must be at least 1 second", seconds_offset)
    return time, seconds


def _parse_time_only(text: str, offset: int) -> int:
    time, rest = parse_time(text, offset)
    if rest:
        raise TriggerSyntaxError(
            f"unexpected {rest!r} after the time", offset + len(text) - len(rest)
        )
    return time


def parse_atom(word: str, offset: int) -> Atom:
    for kind in GLOBAL_TYPES:
        if word.startswith(kind + "-"):
            body = word[len(kind) + 1 :]
            body_offset = offset + len(kind) + 1
            if kind == "globaltime":
                return Atom("dummy", kind, time=_parse_time_only(body, body_offset), offset=offset)
            time, seconds = _parse_repeat(body, body_offset)
            return Atom("dummy", kind, time=time, seconds=seconds, offset=offset)
    parts = word.split("-", 3)
    if len(parts) < 3 or not all(parts[:3]):
        raise TriggerSyntaxError(
            f"{word!r} is not an atom: write name-type-context[-extra], e.g. complete-job-self",
            offset,
        )
    name, type_, context = parts[0], parts[1], parts[2]
    extra = parts[3] if len(parts) == 4 else ""
    if name not in EVENT_NAMES:
        raise TriggerSyntaxError(
            f"unknown event name {name!r}", offset, _suggest(name, EVENT_NAMES)
        )
    type_offset = offset + len(name) + 1
    if type_ not in EVENT_TYPES:
        raise TriggerSyntaxError(
            f"unknown event type {type_!r}", type_offset, _suggest(type_, EVENT_TYPES)
        )
    if type_ == "host":
        return _host_atom(name, word[len(name) + len(type_) + 2 :], type_offset + 5, offset)
    extra_offset = type_offset + len(type_) + len(context) + 2
    if len(parts) == 4 and not extra:
        raise TriggerSyntaxError("empty extra after the context", extra_offset)
    if type_ == "time":
        if not extra:
            raise TriggerSyntaxError("a time atom needs a time: dummy-time-self-TIME", extra_offset)
        return Atom(name, type_, context, time=_parse_time_only(extra, extra_offset), offset=offset)
    if type_ == "repeat":
        if not extra:
            raise TriggerSyntaxError(
                "a repeat atom needs TIME-SECONDS: dummy-repeat-self-TIME-SECONDS", extra_offset
            )
        time, seconds = _parse_repeat(extra, extra_offset)
        return Atom(name, type_, context, time=time, seconds=seconds, offset=offset)
    return Atom(name, type_, context, extra, offset=offset)


def _host_atom(name: str, rest: str, host_offset: int, offset: int) -> Atom:
    """``NAME-host-HOST`` or, in Qube's full shape, ``NAME-host-self-HOST``: HOST is a host's
    name (dashes and dots included) or ``*``, any host."""
    context, host = ("self", rest[5:]) if rest.startswith("self-") else ("", rest)
    host_offset += len(rest) - len(host)
    if host != "*" and HOST_NAME.fullmatch(host) is None:
        raise TriggerSyntaxError(
            f"{host!r} is not a host name",
            host_offset,
            "write a host's name (letters, digits, '.', '-', '_') or '*' for any host",
        )
    return Atom(name, "host", context, host, offset=offset)


def parse_trigger(text: str) -> Expr:
    """The syntax tree of ``text``; raises TriggerSyntaxError (with an offset) on any problem."""
    if len(text) > MAX_TRIGGER_LENGTH:
        raise TriggerSyntaxError(f"longer than {MAX_TRIGGER_LENGTH} characters", MAX_TRIGGER_LENGTH)
    if not text.strip():
        raise TriggerSyntaxError("empty trigger: expected an atom such as 'complete-job-self'", 0)
    return _parsed(text) if len(text) <= PARSED_TRIGGER_LENGTH else _Parser(text).parse()


@functools.lru_cache(maxsize=PARSED_TRIGGERS_KEPT)
def _parsed(text: str) -> Expr:
    """One parse per distinct text. The same triggers come back across thousands of jobs (a
    pipeline's callbacks, the triggers a ``dependency`` becomes), at Submit and when a restart
    compiles them again; the tree is immutable, so their callbacks share one. A text that does
    not parse raises, and is not kept."""
    return _Parser(text).parse()
