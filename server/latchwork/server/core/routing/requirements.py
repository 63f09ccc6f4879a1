"""Qube's ``requirements``: an expression over a host that must hold for a frame to run there.

Parsed once at submit (a RoutingSyntaxError with the offset of the problem, as triggers are) and
compiled to a closure, because the scheduler evaluates it for every (job, host) pair it
considers: evaluation is a few Python calls, with every name resolved to a getter and every
constant converted at compile time.

The grammar (a subset of Qube's: PipelineFX, "Job Requirements", pipelinefx.github.io/docs/
advanced-users-guide/job-reference/Job+Requirements), the names a host offers, and the rules
where Qube is silent (an unknown property is empty, ``not`` binds looser than a comparison,
numeric or string comparison) are in docs/routing.md, "requirements", whose examples
tests/test_docs_routing.py runs. Qube's arithmetic and bitwise operators and its ``job.*``
operands are refused at submit, naming the operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import RoutingSyntaxError
from .hosts import Host
from .requirements_eval import Predicate, compile_expr
from .requirements_syntax import (
    COMPARISONS,
    AllOf,
    AnyOf,
    Compare,
    Expr,
    Literal,
    Name,
    Not,
    Truth,
    Value,
)

MAX_REQUIREMENTS_LENGTH = 4_096
MAX_NESTING = 50


_WORD = re.compile(r"[A-Za-z0-9_.]+")
_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")
_SYMBOLS = ("==", "!=", "<>", "<=", ">=", "&&", "||", "=", "<", ">", "!", "(", ")")
_WORD_OPERATORS = {
    "and": "&&", "or": "||", "not": "!",
    "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
    "in": "in", "has": "has",
}  # fmt: skip
_ARITHMETIC_WORDS = frozenset({"min", "max", "sub", "add", "mul", "div", "xor", "mod", "rs", "ls"})
_ARITHMETIC_SYMBOLS = ("<<", ">>", "+", "-", "*", "/", "^", "%", "&", "|")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # an operator symbol ("==", "&&", "(" ...), "value", "word-op", or "end"
    text: str
    offset: int
    value: Value | None = None


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
        if symbol is not None and not text.startswith(("<<", ">>"), i):
            kind = "!=" if symbol == "<>" else "==" if symbol == "=" else symbol
            tokens.append(_Token(kind, symbol, i))
            i += len(symbol)
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise RoutingSyntaxError(f"the quote {ch} is not closed", i)
            tokens.append(_Token("value", text[i : end + 1], i, Literal(text[i + 1 : end])))
            i = end + 1
        elif (match := _WORD.match(text, i)) is not None:
            tokens.append(_word(match.group(0), i))
            i = match.end()
        else:
            arithmetic = next((s for s in _ARITHMETIC_SYMBOLS if text.startswith(s, i)), None)
            if arithmetic in ("&", "|"):
                raise RoutingSyntaxError(
                    f"bitwise {arithmetic!r} is not supported", i, f"write {arithmetic * 2!r}"
                )
            if arithmetic is not None:
                raise RoutingSyntaxError(
                    f"arithmetic ({arithmetic!r}) is not supported in requirements",
                    i,
                    "compare a host value with a constant; quote values such as 'x86-64'",
                )
            raise RoutingSyntaxError(f"unexpected {ch!r}", i, "quote values with such characters")
    tokens.append(_Token("end", "", n))
    return tokens


def _word(word: str, offset: int) -> _Token:
    operator = _WORD_OPERATORS.get(word.lower())
    if operator is not None:
        return _Token(operator, word, offset)
    if word.lower() in _ARITHMETIC_WORDS:
        return _Token("word-op", word, offset, Literal(word))
    if word.startswith("host."):
        return _Token("value", word, offset, _host_name(word, offset))
    if word.startswith("job."):
        raise RoutingSyntaxError(
            f"{word!r}: job.* operands are not supported", offset, "requirements read the host"
        )
    number = _NUMBER.fullmatch(word)
    if number is not None:
        return _Token("value", word, offset, Literal(float(word) if "." in word else int(word)))
    return _Token("value", word, offset, Literal(word))


_BUILTIN_SCALARS = frozenset(
    {"name", "os", "arch", "architecture", "cores", "groups", "cluster", "state", "restrictions"}
)
_BUILTIN_RESOURCES = frozenset({"processors", "memory", "gpus"})
_RESOURCE_PARTS = ("total", "used", "avail")
RESERVED_PROPERTY_KEYS = _BUILTIN_SCALARS | _BUILTIN_RESOURCES
"""Property keys a requirement cannot reach (a built-in of that name shadows them): the host
registry should refuse them."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _host_name(word: str, offset: int) -> Name:
    parts = word.split(".")
    if len(parts) == 2 and _IDENTIFIER.fullmatch(parts[1]):
        return Name(word, offset)
    if len(parts) == 3 and parts[1] in _BUILTIN_RESOURCES:
        if parts[2] in _RESOURCE_PARTS:
            return Name(word, offset)
        raise RoutingSyntaxError(
            f"unknown part {parts[2]!r} of host.{parts[1]}",
            offset + len(parts[0]) + len(parts[1]) + 2,
            f"use host.{parts[1]}.total, .used or .avail",
        )
    raise RoutingSyntaxError(
        f"{word!r} is neither a host resource nor a property",
        offset,
        "write host.<key> (keys have no dots), e.g. host.os or host.memory.avail",
    )


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
            raise self.unexpected(token, "join conditions with 'and' or 'or'")
        return expr

    def unexpected(self, token: _Token, hint: str) -> RoutingSyntaxError:
        if token.kind == "word-op":
            return RoutingSyntaxError(
                f"arithmetic ({token.text!r}) is not supported in requirements", token.offset
            )
        if token.kind == "end":
            return RoutingSyntaxError("unexpected end", token.offset, hint)
        return RoutingSyntaxError(f"unexpected {token.text!r}", token.offset, hint)

    def disjunction(self) -> Expr:
        operands = [self.conjunction()]
        while self.peek().kind == "||":
            self.take()
            operands.append(self.conjunction())
        return _combine(AnyOf, operands)

    def conjunction(self) -> Expr:
        operands = [self.negation()]
        while self.peek().kind == "&&":
            self.take()
            operands.append(self.negation())
        return _combine(AllOf, operands)

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RoutingSyntaxError(f"nested more than {MAX_NESTING} deep", token.offset)

    def negation(self) -> Expr:
        token = self.peek()
        if token.kind != "!":
            return self.primary()
        self.take()
        self.nest(token)
        operand = self.negation()
        self.depth -= 1
        return Not(operand)

    def primary(self) -> Expr:
        token = self.take()
        if token.kind == "(":
            self.nest(token)
            expr = self.disjunction()
            closing = self.take()
            if closing.kind != ")":
                raise RoutingSyntaxError(f"'(' at {token.offset} is not closed", closing.offset)
            self.depth -= 1
            if self.peek().kind in COMPARISONS:
                raise RoutingSyntaxError(
                    "compare values, not conditions", self.peek().offset, "remove the parentheses"
                )
            return expr
        if token.kind != "value" or token.value is None:
            raise self.unexpected(token, "expected a condition such as host.memory >= 16000")
        left = token.value
        if self.peek().kind not in COMPARISONS:
            return Truth(left)
        operator = self.take().kind
        right = self.take()
        if right.kind != "value" or right.value is None:
            raise self.unexpected(right, f"expected a value after {operator!r}")
        if self.peek().kind in COMPARISONS:
            raise RoutingSyntaxError(
                "comparisons do not chain", self.peek().offset, "join them with 'and'"
            )
        return Compare(operator, left, right.value)


def _combine(kind: type[AllOf] | type[AnyOf], operands: list[Expr]) -> Expr:
    """One operand stays itself; nested operands of the same kind are flattened, so the tree of
    ``(a or b) or c`` is the tree of ``a or b or c`` and printing round-trips."""
    if len(operands) == 1:
        return operands[0]
    flat: list[Expr] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


def parse_requirements(text: str) -> Requirements:
    """``text`` parsed and compiled; raises RoutingSyntaxError (with an offset) on any problem."""
    if len(text) > MAX_REQUIREMENTS_LENGTH:
        raise RoutingSyntaxError(
            f"longer than {MAX_REQUIREMENTS_LENGTH} characters", MAX_REQUIREMENTS_LENGTH
        )
    if not text.strip():
        raise RoutingSyntaxError("empty requirements: expected a condition", 0)
    expr = _Parser(text).parse()
    conjuncts = expr.operands if isinstance(expr, AllOf) else (expr,)
    checks = tuple((part, compile_expr(part)) for part in conjuncts)
    return Requirements(text.strip(), expr, compile_expr(expr), checks)


@dataclass(frozen=True, slots=True, eq=False)
class Requirements:
    """A parsed requirements expression: ``matches(host)`` is the compiled test."""

    text: str
    expr: Expr
    matches: Predicate
    conjuncts: tuple[tuple[Expr, Predicate], ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Requirements) and self.expr == other.expr

    def __hash__(self) -> int:
        return hash(self.expr)

    def format(self) -> str:
        return self.expr.format()

    def failing(self, host: Host) -> str:
        """The first top-level ``and`` part the host fails, as text ("" when it matches), so a
        waiting job can say ``host.memory >= 64000`` rather than the whole expression."""
        for part, check in self.conjuncts:
            if not check(host):
                return part.format()
        return ""
