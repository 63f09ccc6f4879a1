"""Requirements compiled to closures over a host: the part that runs for every (job, host) pair.

The parser (requirements.py) settles every question it can once, at submit; what is left here
is the evaluation rules of that module's docstring, specialised as far as the tree allows:
names resolve to attribute getters, constants are converted to numbers once, and the common
shape ``host.<name> OP constant`` compiles to a single small function.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .hosts import Host
from .requirements_syntax import AllOf, Compare, Expr, Literal, Not, Truth, Value

Scalar = str | int | float
Predicate = Callable[[Host], bool]
Getter = Callable[[Host], Scalar]

_NUMBER = re.compile(r"\s*[0-9]{1,15}(?:\.[0-9]{1,15})?\s*")

_TOTALS: dict[str, Getter] = {
    "processors": lambda h: h.slots_total,
    "memory": lambda h: h.resources.memory_mb,
    "gpus": lambda h: h.resources.gpus,
}
GETTERS: dict[str, Getter] = {
    "host.name": lambda h: h.name,
    "host.os": lambda h: h.resources.os,
    "host.arch": lambda h: h.resources.arch,
    "host.architecture": lambda h: h.resources.arch,
    "host.cores": lambda h: h.resources.cores,
    "host.groups": lambda h: ",".join(sorted(h.groups)),
    "host.cluster": lambda h: h.cluster,
    "host.state": lambda h: h.state.value,
    "host.restrictions": lambda h: h.restrictions.text if h.restrictions else "",
    **{f"host.{key}": getter for key, getter in _TOTALS.items()},
    **{f"host.{key}.total": getter for key, getter in _TOTALS.items()},
    "host.processors.used": lambda h: h.in_use.slots,
    "host.memory.used": lambda h: h.in_use.memory_mb,
    "host.gpus.used": lambda h: h.in_use.gpus,
    "host.processors.avail": lambda h: h.free_slots,
    "host.memory.avail": lambda h: h.free_memory_mb,
    "host.gpus.avail": lambda h: h.free_gpus,
}
"""Every built-in ``host.*`` name; any other ``host.<key>`` reads the property ``key``."""


def number(value: Scalar) -> float | None:
    """``value`` as a number, or None when it does not read as one."""
    if type(value) is int or type(value) is float:
        return value
    if _NUMBER.fullmatch(str(value)) is None:
        return None
    return float(value)


def truthy(value: Scalar) -> bool:
    """A value alone as a condition: false when empty or numerically zero."""
    as_number = number(value)
    return as_number != 0 if as_number is not None else value != ""


def _items(value: Scalar) -> set[str]:
    return {item.strip() for item in str(value).split(",")}


def _getter(value: Value) -> Getter:
    if isinstance(value, Literal):
        constant = value.value
        return lambda _h: constant
    builtin = GETTERS.get(value.name)
    if builtin is not None:
        return builtin
    key = value.name.removeprefix("host.")
    return lambda h: h.properties.get(key, "")


def _equal(a: Scalar, b: Scalar) -> bool:
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a) == str(b)


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _compare_constant(operator: str, get: Getter, constant: Scalar) -> Predicate:
    """``get(host) OP constant``, the constant converted once."""
    as_number = number(constant)
    as_text = str(constant)
    if operator in _ORDER:
        if as_number is None:
            return lambda _h: False
        order = _ORDER[operator]

        def ordered(h: Host) -> bool:
            value = number(get(h))
            return value is not None and order(value, as_number)

        return ordered

    def equal(h: Host) -> bool:
        value = get(h)
        if as_number is not None:
            value_number = number(value)
            if value_number is not None:
                return value_number == as_number
        return str(value) == as_text

    if operator == "==":
        return equal
    return lambda h: not equal(h)


def _compare(expr: Compare) -> Predicate:
    operator, left, right = expr.operator, expr.left, expr.right
    if operator in _MIRROR:
        if isinstance(right, Literal) and not isinstance(left, Literal):
            return _compare_constant(operator, _getter(left), right.value)
        if isinstance(left, Literal) and not isinstance(right, Literal):
            return _compare_constant(_MIRROR[operator], _getter(right), left.value)
    get_left, get_right = _getter(left), _getter(right)
    if operator == "==":
        return lambda h: _equal(get_left(h), get_right(h))
    if operator == "!=":
        return lambda h: not _equal(get_left(h), get_right(h))
    if operator == "in":
        return lambda h: str(get_left(h)).strip() in _items(get_right(h))
    if operator == "has":
        return lambda h: str(get_right(h)).strip() in _items(get_left(h))
    order = _ORDER[operator]

    def ordered(h: Host) -> bool:
        a, b = number(get_left(h)), number(get_right(h))
        return a is not None and b is not None and order(a, b)

    return ordered


def compile_expr(expr: Expr) -> Predicate:
    """``expr`` as a function of a host."""
    if isinstance(expr, Compare):
        return _compare(expr)
    if isinstance(expr, Truth):
        get = _getter(expr.value)
        return lambda h: truthy(get(h))
    if isinstance(expr, Not):
        inner = compile_expr(expr.operand)
        return lambda h: not inner(h)
    parts = tuple(compile_expr(op) for op in expr.operands)
    if isinstance(expr, AllOf):

        def all_of(h: Host) -> bool:
            # A loop, not all(...): no generator per call on the scheduler's hot path.
            for part in parts:  # noqa: SIM110
                if not part(h):
                    return False
            return True

        return all_of

    def any_of(h: Host) -> bool:
        for part in parts:  # noqa: SIM110
            if part(h):
                return True
        return False

    return any_of
