"""What sandboxed callback code may compile, name, read, write and import.

Two layers, both needed:

* **compile time** (:func:`compile_callback`): RestrictedPython's transformer, extended by
  :class:`CallbackPolicy`. It rejects names and attributes that start with ``_`` (so no
  ``__class__``, ``__globals__``, ``__builtins__``, no shadowing of the guard hooks, including
  through positional-only parameters), frame and generator internals (``gi_frame``, ...),
  ``try/except*``, ``exec``/``eval``, class definitions, ``global`` of protected names, and every
  import outside :data:`IMPORTS`.
* **run time** (the guard hooks the transformed code calls): :func:`guarded_getattr` reads only
  the attributes allow-listed for the object's exact type (no ``str.format`` or ``format_map``,
  no ``AttributeError.obj``, nothing at all on functions, methods, classes or generators);
  :func:`guarded_write` refuses every write except to the code's own lists and dicts;
  ``__import__`` hands out read-only facades (:class:`SafeModule`), never a live module.

The worker process adds the operating-system layer (rlimits, no new files, no processes, a
CPU budget, a wall-clock kill by the parent): see :mod:`.worker`.
"""

from __future__ import annotations

import ast
import datetime as _datetime
import importlib
import json as _json
import math as _math
import operator
import re as _re
import time as _time
from collections.abc import Callable, Collection, Iterator, Mapping
from types import CodeType
from typing import Any, ClassVar, NoReturn

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

SOURCE_NAME = "<callback>"
"""The file name compiled callbacks carry: tracebacks use it to find lines in the user's code."""

IMPORTS = ("datetime", "json", "math", "re", "time")
"""The modules callback code may import (each one a facade, see :data:`MODULES`)."""

_MESSAGE_LIMIT = 400


def clip(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- compile time ----------------------------------------------------------------------------


class CallbackPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus the rules of Latchwork callbacks."""

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "class definitions are not allowed in callbacks")
        return node

    def visit_Global(self, node: ast.Global) -> Any:
        for name in node.names:
            self.check_name(node, name)
        return super().visit_Global(node)

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            self._check_module(node, alias.name)
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.level:
            self.error(node, "relative imports are not allowed in callbacks")
        else:
            self._check_module(node, node.module or "")
        return super().visit_ImportFrom(node)

    def _check_module(self, node: ast.AST, name: str) -> None:
        if name not in IMPORTS:
            self.error(
                node,
                f"import of {name!r} is not allowed; callbacks may import {', '.join(IMPORTS)}",
            )


_ERROR_LINE = _re.compile(r"Line (\d+|None): (.*)", _re.DOTALL)


_SYNTAX_ERROR = _re.compile(r"^SyntaxError: ")


def compile_callback(source: str) -> tuple[CodeType | None, str, int]:
    """``(code, "", 0)``, or ``(None, message, line)`` when the code cannot run.

    Never raises: deeply nested code, null bytes and the like come back as messages.
    """
    try:
        result = compile_restricted_exec(source, SOURCE_NAME, policy=CallbackPolicy)
    except SyntaxError as error:
        return None, clip(f"syntax error: {error.msg}"), error.lineno or 0
    except (RecursionError, MemoryError):
        return None, "the code is nested too deeply to compile", 0
    except Exception as error:  # e.g. ValueError: source code cannot contain null bytes
        return None, clip(f"{type(error).__name__}: {error}"), 0
    if result.errors:
        messages: list[str] = []
        first_line = 0
        for text in result.errors:
            match = _ERROR_LINE.fullmatch(text)
            line, message = (match.group(1), match.group(2)) if match else ("", text)
            if not first_line and line.isdigit():
                first_line = int(line)
            # In words, not as Python's exception class (which the API never shows a client).
            message = _SYNTAX_ERROR.sub("syntax error: ", message, count=1)
            messages.append(clip(message.removesuffix(" at statement: None"), 200))
        more = len(messages) - 3
        summary = "; ".join(messages[:3]) + (f"; and {more} more" if more > 0 else "")
        return None, summary, first_line
    if result.code is None:  # pragma: no cover - RestrictedPython always gives a reason
        return None, "the code could not be compiled", 0
    return result.code, "", 0


# --- facades -------------------------------------------------------------------------------


NOT_FOUND: Any = object()


class Facade:
    """An object callback code may hold: it says which attributes the code may read."""

    __slots__ = ()
    _sandbox_subscriptable_: ClassVar[bool] = False

    def _sandbox_lookup_(self, name: str) -> Any:
        """``self.name`` if callback code may read it, else :data:`NOT_FOUND`.

        Never called for names starting with "_".
        """
        return NOT_FOUND

    def _sandbox_plain_(self) -> object:
        """The object as plain JSON-able data (for ``json.dumps``)."""
        raise TypeError(f"{self._sandbox_label_()} is not JSON serializable")

    def _sandbox_label_(self) -> str:
        """How messages name the object."""
        return type(self).__name__.lower()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise TypeError(f"{self._sandbox_label_()} is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise TypeError(f"{self._sandbox_label_()} is read-only")


class SafeModule(Facade):
    """What ``import json`` gives callback code: the module's allowed members, nothing else.

    No ``__name__``: so ``from json import decoder`` cannot fall back to ``sys.modules``.
    """

    __slots__ = ("_members", "_module_name")

    def __init__(self, name: str, members: Mapping[str, object]) -> None:
        assert not any(key.startswith("_") for key in members)
        object.__setattr__(self, "_module_name", name)
        object.__setattr__(self, "_members", dict(members))

    def __getattr__(self, name: str) -> Any:
        members: dict[str, object] = object.__getattribute__(self, "_members")
        if name in members:
            return members[name]
        module: str = object.__getattribute__(self, "_module_name")
        raise AttributeError(f"module {module!r} has no attribute {name!r} in callbacks")

    def __repr__(self) -> str:
        return f"<{self._sandbox_label_()}>"

    def _sandbox_label_(self) -> str:
        return f"module {object.__getattribute__(self, '_module_name')!r}"

    def _sandbox_lookup_(self, name: str) -> Any:
        members: dict[str, object] = object.__getattribute__(self, "_members")
        return members.get(name, NOT_FOUND)


def to_plain(value: object) -> object:
    """``json.dumps``'s ``default``: facades become plain data."""
    if isinstance(value, Facade):
        return value._sandbox_plain_()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_dumps(
    obj: object,
    *,
    indent: int | str | None = None,
    sort_keys: bool = False,
    separators: tuple[str, str] | None = None,
    ensure_ascii: bool = True,
) -> str:
    return _json.dumps(
        obj,
        indent=indent,
        sort_keys=sort_keys,
        separators=separators,
        ensure_ascii=ensure_ascii,
        default=to_plain,
    )


def _json_loads(text: str | bytes) -> Any:
    return _json.loads(text)


# time.strptime imports _strptime through the caller's __import__ on every call, which callback
# code's import policy refuses: call the implementation directly.
_STRPTIME = importlib.import_module("_strptime")
_strptime_time: Callable[[str, str], _time.struct_time] = _STRPTIME._strptime_time  # noqa: SLF001


def _time_strptime(text: str, format: str = "%a %b %d %H:%M:%S %Y") -> _time.struct_time:
    return _strptime_time(text, format)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_RE_MEMBERS = _names(
    "compile search match fullmatch split findall finditer sub subn escape error "
    "A ASCII I IGNORECASE M MULTILINE S DOTALL X VERBOSE U UNICODE NOFLAG"
)
_TIME_MEMBERS = _names(
    "time time_ns gmtime localtime mktime strftime strptime asctime ctime monotonic "
    "timezone altzone daylight tzname"
)
_DATETIME_MEMBERS = _names("datetime date time timedelta timezone MINYEAR MAXYEAR UTC")

MODULES: dict[str, SafeModule] = {
    "math": SafeModule(
        "math", {name: getattr(_math, name) for name in dir(_math) if not name.startswith("_")}
    ),
    "json": SafeModule(
        "json",
        {"dumps": _json_dumps, "loads": _json_loads, "JSONDecodeError": _json.JSONDecodeError},
    ),
    "re": SafeModule("re", {name: getattr(_re, name) for name in _RE_MEMBERS}),
    "time": SafeModule(
        "time",
        {name: getattr(_time, name) for name in _TIME_MEMBERS} | {"strptime": _time_strptime},
    ),
    "datetime": SafeModule(
        "datetime", {name: getattr(_datetime, name) for name in _DATETIME_MEMBERS}
    ),
}
assert set(MODULES) == set(IMPORTS)


def guarded_import(
    name: str,
    globals: Mapping[str, object] | None = None,  # the signature of __import__
    locals: Mapping[str, object] | None = None,
    fromlist: Collection[str] | None = (),
    level: int = 0,
) -> SafeModule:
    module = MODULES.get(name) if level == 0 and type(name) is str else None
    if module is None:
        raise ImportError(
            f"import of {name!r} is not allowed; callbacks may import {', '.join(IMPORTS)}"
        )
    return module


# --- reading attributes and items ------------------------------------------------------------

_NUMBER = _names("real imag conjugate")
_INT = _NUMBER | _names("bit_length bit_count numerator denominator as_integer_ratio")
_DATE = _names(
    "year month day weekday isoweekday isocalendar isoformat strftime toordinal replace ctime "
    "timetuple"
)
_TIME_OF_DAY = _names(
    "hour minute second microsecond tzinfo fold isoformat strftime replace utcoffset tzname dst"
)

# Exact type -> the attributes callback code may read on its instances. Everything else (and
# anything starting with "_") is refused: functions, methods, classes, generators, frames,
# code objects, exceptions' attributes other than ``args`` (AttributeError.obj!), dict views.
ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _names(
        "capitalize casefold center count endswith expandtabs find index isalnum isalpha "
        "isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle "
        "isupper join ljust lower lstrip partition removeprefix removesuffix replace rfind "
        "rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title "
        "translate upper zfill"
    ),  # not format, format_map (GHSA-xjw2-6jm9-rf67), encode, maketrans
    list: _names("append clear copy count extend index insert pop remove reverse sort"),
    dict: _names("clear copy get items keys pop popitem setdefault update values"),
    set: _names(
        "add clear copy difference difference_update discard intersection "
        "intersection_update isdisjoint issubset issuperset pop remove symmetric_difference "
        "symmetric_difference_update union update"
    ),
    frozenset: _names(
        "copy difference intersection isdisjoint issubset issuperset symmetric_difference union"
    ),
    tuple: _names("count index"),
    range: _names("start stop step count index"),
    bool: _INT,
    int: _INT,
    float: _NUMBER | _names("is_integer hex as_integer_ratio"),
    complex: _NUMBER,
    _re.Pattern: _names(
        "match search fullmatch findall finditer split sub subn pattern flags groups groupindex"
    ),
    _re.Match: _names(
        "group groups groupdict start end span expand string re pos endpos lastindex lastgroup"
    ),
    _datetime.datetime: _DATE
    | _TIME_OF_DAY
    | _names("date time timetz timestamp astimezone utctimetuple"),
    _datetime.date: _DATE,
    _datetime.time: _TIME_OF_DAY,
    _datetime.timedelta: _names("days seconds microseconds total_seconds"),
    _datetime.timezone: _names("utcoffset tzname dst"),
    _time.struct_time: _names(
        "tm_year tm_mon tm_mday tm_hour tm_min tm_sec tm_wday tm_yday tm_isdst tm_zone "
        "tm_gmtoff count index"
    ),
}

# Classes whose named constructors and constants callback code may use: datetime.now() etc.
CLASS_ATTRIBUTES: dict[type, frozenset[str]] = {
    _datetime.datetime: _names(
        "now utcnow today fromtimestamp utcfromtimestamp fromisoformat fromisocalendar "
        "fromordinal strptime combine min max resolution"
    ),
    _datetime.date: _names(
        "today fromtimestamp fromisoformat fromisocalendar fromordinal min max resolution"
    ),
    _datetime.time: _names("fromisoformat min max resolution"),
    _datetime.timedelta: _names("min max resolution"),
    _datetime.timezone: _names("utc min max"),
    dict: _names("fromkeys"),
}

SUBSCRIPTABLE: frozenset[type] = frozenset(
    {dict, list, tuple, str, range, _re.Match, _time.struct_time}
)


assert not any(names & INSPECT_ATTRIBUTES for names in ATTRIBUTES.values())
assert not any(name.startswith("_") for names in ATTRIBUTES.values() for name in names)


def _describe(obj: object) -> str:
    if isinstance(obj, Facade):
        return obj._sandbox_label_()
    if isinstance(obj, type):
        return f"class {obj.__name__!r}"
    return f"{type(obj).__name__!r} object"


_MISSING: Any = object()


def guarded_getattr(obj: object, name: str, default: Any = _MISSING) -> Any:
    """``_getattr_`` (and the ``getattr`` builtin): the allow-list, or AttributeError.

    Nothing starting with "_" and none of RestrictedPython's INSPECT_ATTRIBUTES (frames,
    code, generators), whatever the object.
    """
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if not name.startswith("_"):
        names = ATTRIBUTES.get(type(obj))
        if names is not None:
            if name in names:
                return getattr(obj, name)
        elif isinstance(obj, Facade):
            found = obj._sandbox_lookup_(name)
            if found is not NOT_FOUND:
                return found
        elif name not in INSPECT_ATTRIBUTES:
            if isinstance(obj, BaseException):
                # never AttributeError.obj (GHSA-5rfv-66g4-jr8h), .name, .with_traceback, ...
                if name == "args":
                    return obj.args
            elif isinstance(obj, type) and name in CLASS_ATTRIBUTES.get(obj, ()):
                return getattr(obj, name)
    if default is not _MISSING:
        return default
    raise AttributeError(f"{_describe(obj)} has no attribute {name!r} in callbacks")


def guarded_hasattr(obj: object, name: str) -> bool:
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``_getitem_``: ``obj[key]`` on containers and facades that allow it."""
    if type(obj) in SUBSCRIPTABLE or (isinstance(obj, Facade) and obj._sandbox_subscriptable_):
        return obj[key]
    raise TypeError(f"{_describe(obj)} is not subscriptable in callbacks")


def guarded_write(obj: Any) -> Any:
    """``_write_``: a callback may change its own lists and dicts, and nothing else.

    Facades (``qb``, ``event``, ``job``, modules), classes, functions: all refused, so no
    callback can change what another one sees.
    """
    if type(obj) is dict or type(obj) is list:
        return obj
    raise TypeError(
        f"cannot change {_describe(obj)}: callbacks may only change their own lists and dicts"
    )


def guarded_iter(obj: Any, *sentinel: Any) -> Iterator[Any]:
    """``_getiter_`` and the ``iter`` builtin.

    Nothing a callback can reach guards its items (no security-proxied containers), so the
    builtins that iterate in C (sorted, zip, tuple, ...) need no wrapper here.
    """
    if isinstance(obj, Facade) and not obj._sandbox_subscriptable_:
        raise TypeError(f"{_describe(obj)} is not iterable")
    return iter(obj, *sentinel) if sentinel else iter(obj)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    """``_inplacevar_``: ``x += y`` on a name (item and attribute targets do not compile)."""
    function = _INPLACE.get(op)
    if function is None:
        raise TypeError(f"unsupported augmented assignment {op!r}")
    return function(target, value)


def guarded_apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``_apply_``: calls with ``*args`` / ``**kwargs``."""
    return function(*args, **kwargs)


# --- print -----------------------------------------------------------------------------------


class OutputLimitExceeded(Exception):
    """Raised by print once a callback's output reached the cap."""


class PrintCollector:
    """Where ``print`` writes, for the whole run (every function shares it); capped in bytes.

    Callback code never holds this object: ``print`` is compiled to ``_print._call_print``
    and ``printed`` to ``_print()``.
    """

    __slots__ = ("_limit", "_parts", "_size", "exceeded")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.exceeded = False

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        room = self._limit - self._size
        if len(data) > room:
            self._parts.append(data[:room].decode("utf-8", "ignore"))
            self._size = self._limit
            self.exceeded = True
            raise OutputLimitExceeded(f"print output is capped at {self._limit} bytes")
        self._parts.append(text)
        self._size += len(data)

    def _call_print(
        self, *objects: object, sep: str | None = " ", end: str | None = "\n", flush: bool = False
    ) -> None:
        if self.exceeded:
            raise OutputLimitExceeded(f"print output is capped at {self._limit} bytes")
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        if type(sep) is not str or type(end) is not str:
            raise TypeError("print(): sep and end must be strings")
        self.write(sep.join(str(item) for item in objects) + end)

    def __call__(self) -> str:
        return "".join(self._parts)

    def text(self) -> str:
        return "".join(self._parts)


# --- builtins --------------------------------------------------------------------------------

_SAFE_EXCEPTIONS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    BaseException,
    EOFError,
    Exception,
    FloatingPointError,
    GeneratorExit,
    ImportError,
    IndexError,
    KeyError,
    LookupError,
    MemoryError,
    ModuleNotFoundError,
    NameError,
    NotImplementedError,
    OverflowError,
    RecursionError,
    RuntimeError,
    StopIteration,
    TimeoutError,
    TypeError,
    UnboundLocalError,
    UnicodeError,
    ValueError,
    ZeroDivisionError,
    OutputLimitExceeded,
)

# No: __build_class__, type, object, id, open, compile, eval, exec, globals, locals, vars, dir,
# input, breakpoint, help, setattr, delattr, memoryview, bytearray, classmethod, staticmethod,
# property, super, exit, quit.
SAFE_BUILTINS: dict[str, object] = {
    "None": None,
    "True": True,
    "False": False,
    "Ellipsis": Ellipsis,
    "__import__": guarded_import,
    "getattr": guarded_getattr,
    "hasattr": guarded_hasattr,
    "iter": guarded_iter,
    **{
        function.__name__: function
        for function in (
            abs,
            all,
            any,
            ascii,
            bin,
            bool,
            callable,
            chr,
            complex,
            dict,
            divmod,
            enumerate,
            filter,
            float,
            format,
            frozenset,
            hash,
            hex,
            int,
            isinstance,
            issubclass,
            len,
            list,
            map,
            max,
            min,
            next,
            oct,
            ord,
            pow,
            range,
            repr,
            reversed,
            round,
            set,
            slice,
            sorted,
            str,
            sum,
            tuple,
            zip,
        )
    },
    **{exception.__name__: exception for exception in _SAFE_EXCEPTIONS},
}


def run_globals(collector: PrintCollector, names: Mapping[str, object]) -> dict[str, object]:
    """Fresh globals for one run: builtins (a copy), the guard hooks, and ``names``."""

    def print_factory(_getattr: object = None) -> PrintCollector:
        return collector

    glb: dict[str, object] = {
        "__builtins__": dict(SAFE_BUILTINS),
        "__name__": "callback",
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_write_": guarded_write,
        "_getiter_": guarded_iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_inplacevar_": guarded_inplacevar,
        "_apply_": guarded_apply,
        "_print_": print_factory,
    }
    for name, value in names.items():
        assert not name.startswith("_")
        glb[name] = value
    return glb
