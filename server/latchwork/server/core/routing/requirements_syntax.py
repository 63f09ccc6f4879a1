"""The syntax tree of a requirements expression, and its canonical printed form.

Kept apart from the parser (as triggers/syntax.py is) so that what a requirement *is* can be
read without the tokenizer. Printing is the inverse of parsing: ``parse(format(e))`` is ``e``,
so a waiting job can show its author exactly the condition the supervisor understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "has"})

_BARE = re.compile(r"[A-Za-z0-9_.]+")
_KEYWORDS = frozenset(
    {"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "in", "has"}
    | {"min", "max", "sub", "add", "mul", "div", "xor", "mod", "rs", "ls"}
)


@dataclass(frozen=True, slots=True)
class Name:
    """``host.<name>``; ``offset`` (where it stands in the text) is not part of its identity."""

    name: str
    offset: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("name", self.name))

    def format(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: a number, or a string (a bare word or a quoted one)."""

    value: str | int | float

    def format(self) -> str:
        if isinstance(self.value, float):
            # Never "1e-06": the parser reads plain decimals only.
            text = f"{self.value:.15f}".rstrip("0")
            return text + "0" if text.endswith(".") else text
        if isinstance(self.value, int):
            return str(self.value)
        text = self.value
        bare = (
            _BARE.fullmatch(text) is not None
            and text.lower() not in _KEYWORDS
            and not text.startswith(("host.", "job."))
            and not text[0].isdigit()
        )
        if bare:
            return text
        return f'"{text}"' if "'" in text else f"'{text}'"


Value = Name | Literal


@dataclass(frozen=True, slots=True)
class Compare:
    operator: str  # one of COMPARISONS, in symbolic form
    left: Value
    right: Value

    def format(self) -> str:
        return f"{self.left.format()} {self.operator} {self.right.format()}"


@dataclass(frozen=True, slots=True)
class Truth:
    """A value alone used as a condition."""

    value: Value

    def format(self) -> str:
        return self.value.format()


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr

    def format(self) -> str:
        inner = self.operand.format()
        return (
            f"not {inner}" if isinstance(self.operand, Compare | Truth | Not) else f"not ({inner})"
        )


@dataclass(frozen=True, slots=True)
class AllOf:
    operands: tuple[Expr, ...]

    def format(self) -> str:
        return " and ".join(
            f"({op.format()})" if isinstance(op, AnyOf) else op.format() for op in self.operands
        )


@dataclass(frozen=True, slots=True)
class AnyOf:
    operands: tuple[Expr, ...]

    def format(self) -> str:
        return " or ".join(op.format() for op in self.operands)


Expr = Compare | Truth | Not | AllOf | AnyOf


def names(expr: Expr) -> set[str]:
    """The ``host.*`` names ``expr`` reads."""
    if isinstance(expr, Compare):
        return {v.name for v in (expr.left, expr.right) if isinstance(v, Name)}
    if isinstance(expr, Truth):
        return {expr.value.name} if isinstance(expr.value, Name) else set()
    if isinstance(expr, Not):
        return names(expr.operand)
    return {name for op in expr.operands for name in names(op)}
