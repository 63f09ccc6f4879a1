"""The callback policy: what compiles, what the guards let through, the module facades."""

from __future__ import annotations

import datetime
import re

import pytest

from latchwork.sandbox.python import policy
from latchwork.sandbox.python.policy import (
    MODULES,
    SAFE_BUILTINS,
    OutputLimitExceeded,
    PrintCollector,
    SafeModule,
    compile_callback,
    guarded_getattr,
    guarded_getitem,
    guarded_import,
    guarded_inplacevar,
    guarded_iter,
    guarded_write,
)
from latchwork.sandbox.python.pool import Limits, check_python

from .calls import USEFUL_CODE, USEFUL_OUTPUT, run_inline


def test_plain_code_compiles_and_keeps_its_line_numbers() -> None:
    code, message, line = compile_callback("x = 1\n\nprint(x)\n")
    assert code is not None and message == "" and line == 0
    assert code.co_filename == policy.SOURCE_NAME
    assert check_python("import math, json, re, datetime, time\nprint(math.pi)") is None


@pytest.mark.parametrize(
    ("code", "expected", "line"),
    [
        ("x x", "syntax error: invalid syntax", 1),
        ("a = 1\nimport os", "import of 'os' is not allowed", 2),
        ("from os import path", "import of 'os' is not allowed", 1),
        ("import json.decoder", "import of 'json.decoder' is not allowed", 1),
        ("from . import policy", "relative imports are not allowed", 1),
        ("class Spy:\n    pass", "class definitions are not allowed", 1),
        ("\n\ny = x.__class__", '"__class__" is an invalid attribute name', 3),
        ("def f():\n    global _write_", '"_write_" is an invalid variable name', 2),
        ("def f(_getattr_=None, /):\n    pass", '"_getattr_" is an invalid variable name', 1),
        ("try:\n    pass\nexcept* ValueError:\n    pass", "TryStar statements are not allowed", 1),
        ("eval('1')", "Eval calls are not allowed", 1),
        ("x = '\x00'", "null bytes", 0),
        ("x = (" * 300 + ")" * 300, "syntax error", 1),
        ("-" * 30000 + "1", "nested too deeply", 0),
    ],
)
def test_refused_at_compile_time_with_a_line(code: str, expected: str, line: int) -> None:
    problem = check_python(code)
    assert problem is not None
    assert expected in problem[0]
    assert problem[1] == line
    assert len(problem[0]) < 800


def test_several_errors_are_summarised() -> None:
    problem = check_python("a._x\nb._y\nc._z\nd._w\ne._v")
    assert problem is not None
    assert problem[0].endswith("; and 2 more") and problem[1] == 1


def test_source_size_is_capped_before_compiling() -> None:
    problem = check_python("x = 1\n" * 20, Limits(max_source_bytes=64))
    assert problem == ("the code is 120 bytes; callbacks have at most 64", 0)


def test_getattr_allows_only_the_allow_list() -> None:
    assert guarded_getattr("a,b", "split")(",") == ["a", "b"]
    assert guarded_getattr({"a": 1}, "get")("a") == 1
    assert guarded_getattr(datetime.datetime, "now")().year >= 2024
    nothing: tuple[object, ...] = ()
    for obj, name in [
        ("x", "format"),  # GHSA-xjw2-6jm9-rf67
        ("x", "format_map"),
        (str, "format"),
        (int, "mro"),
        (len, "__self__"),
        (lambda: 0, "__globals__"),
        ((x for x in nothing), "gi_frame"),  # GHSA-wqc8-x2pr-7jqh
        (AttributeError("x", name="y", obj=object()), "obj"),  # GHSA-5rfv-66g4-jr8h
        (ValueError(), "with_traceback"),
        ({}.keys(), "mapping"),
        (MODULES["json"], "_members"),
        (object(), "anything"),
    ]:
        with pytest.raises(AttributeError):
            guarded_getattr(obj, name)
        assert guarded_getattr(obj, name, "dflt") == "dflt"
    with pytest.raises(TypeError):
        guarded_getattr("x", 1)  # type: ignore[arg-type]


def test_write_guard_allows_own_lists_and_dicts_only() -> None:
    mine: dict[str, int] = {}
    assert guarded_write(mine) is mine
    assert guarded_write([]) == []
    for shared in (MODULES["math"], ValueError, "text", (1,), len, frozenset[object]()):
        with pytest.raises(TypeError, match="cannot change"):
            guarded_write(shared)


def test_getitem_and_iteration() -> None:
    assert guarded_getitem({"a": 1}, "a") == 1
    assert guarded_getitem("abc", slice(1, None)) == "bc"
    assert guarded_getitem(re.match("(a)", "a"), 1) == "a"
    with pytest.raises(TypeError, match="not subscriptable"):
        guarded_getitem(MODULES["math"], "pi")
    with pytest.raises(TypeError, match="not iterable"):
        guarded_iter(MODULES["math"])
    assert list(guarded_iter([1, 2])) == [1, 2]
    assert guarded_inplacevar("+=", [1], [2]) == [1, 2]
    with pytest.raises(TypeError):
        guarded_inplacevar("=", 1, 2)


def test_imports_are_facades() -> None:
    json_facade = guarded_import("json")
    assert isinstance(json_facade, SafeModule)
    assert json_facade.loads("[1]") == [1]
    for name in ("os", "sys", "string", "json.decoder", "builtins", "importlib"):
        with pytest.raises(ImportError):
            guarded_import(name)
    with pytest.raises(ImportError):
        guarded_import("json", level=1)
    with pytest.raises(AttributeError):
        json_facade.decoder  # noqa: B018
    with pytest.raises(AttributeError):  # no __name__: from-import cannot reach sys.modules
        json_facade.__name__  # noqa: B018
    with pytest.raises(TypeError, match="read-only"):
        json_facade.dumps = None
    assert not any(hasattr(module, "__dict__") for module in MODULES.values())


def test_builtins_leave_out_the_dangerous_ones() -> None:
    for name in (
        "open",
        "type",
        "object",
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "dir",
        "id",
        "setattr",
        "delattr",
        "__build_class__",
        "breakpoint",
        "input",
        "memoryview",
        "super",
        "ExceptionGroup",
    ):
        assert name not in SAFE_BUILTINS, name
    assert SAFE_BUILTINS["getattr"] is guarded_getattr
    assert SAFE_BUILTINS["__import__"] is guarded_import


def test_print_collector_caps_bytes() -> None:
    collector = PrintCollector(10)
    collector._call_print("héllo")  # noqa: SLF001 - what compiled print calls
    with pytest.raises(OutputLimitExceeded):
        collector._call_print("wörld")  # noqa: SLF001
    assert collector.exceeded
    assert len(collector().encode()) <= 10
    with pytest.raises(OutputLimitExceeded):
        collector._call_print("more")  # noqa: SLF001


def test_print_goes_to_one_collector_across_functions() -> None:
    reply = run_inline("def f():\n    print('in f')\nprint('top')\nf()\nprint(len(printed))")
    assert reply["output"] == "top\nin f\n9\n"


def test_print_to_a_file_is_refused() -> None:
    for target in ("None", "job", "qb"):
        reply = run_inline(f"print('x', file={target})")
        assert reply["error"].startswith("TypeError") and "'file'" in reply["error"]


def test_runtime_errors_name_the_line_in_the_users_code() -> None:
    reply = run_inline("a = 1\n\ndef f(x):\n    return x['missing']\n\nf({})\n")
    assert reply["error"] == "KeyError: 'missing'"
    assert reply["error_line"] == 4
    reply = run_inline("'{0.__class__}'.format(1)")
    assert reply["error"].startswith("AttributeError: 'str' object has no attribute 'format'")
    assert reply["error_line"] == 1


def test_useful_python_works() -> None:
    reply = run_inline(USEFUL_CODE)
    assert reply["error"] == "", reply
    assert reply["output"] == USEFUL_OUTPUT
