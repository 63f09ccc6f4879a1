"""The escape corpus: every attempt is refused at compile time or stopped at run time.

Each case is callback code that tries to get out of the sandbox, to change what other
callbacks see, or to exhaust the machine. It must be either

* ``compile``: refused by ``check_python`` at submit (and by the worker, should it ever run);
* ``error``: stopped at run time with an error (``contains`` names it), no actions;
* ``limit:<kinds>``: stopped by a limit (one of the ``|``-separated kinds), no actions.

A payload that got out would create the marker file or connect to the listening socket; both
are checked after every case, and at the end the pool still serves, other callbacks still
run, and nothing a case wrote is visible to them.

RestrictedPython's published advisories each have cases (the ids are in the comments):
GHSA-xjw2-6jm9-rf67 (str.format / format_map attribute walks, CVE-2023-41039),
GHSA-hp3v-5vw7-fx9w (string.Formatter field resolution, CVE-2026-76825),
GHSA-wqc8-x2pr-7jqh (generator gi_frame stack walk, CVE-2023-37271),
GHSA-5rfv-66g4-jr8h (AttributeError.obj and the string module, CVE-2024-47532),
GHSA-gmj9-h825-chq2 (try/except* type confusion, CVE-2025-22153),
GHSA-ffg3-p8fm-mjx2 (guard hooks shadowed by positional-only parameters, CVE-2026-55830).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from latchwork.sandbox.actions import CallbackAction, Scope, Verb
from latchwork.sandbox.python.pool import Limits, SandboxPool, check_python

from .calls import OWNER, make_call

in_module_loop = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(cpu_seconds=1.0, wall_seconds=4.0, memory_bytes=256 * 2**20)
CANARY = {"untouched": True}


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    expect: str  # "compile", "error", or "limit:cpu|memory"
    contains: str = ""


CORPUS = [
    # --- RestrictedPython advisories ---------------------------------------------------------
    # GHSA-xjw2-6jm9-rf67: str.format walks attributes with the real getattr.
    Case("format_attribute_walk", "print('{0.__class__.__base__}'.format(1))", "error", "format"),
    # GHSA-xjw2-6jm9-rf67: ... and so does format_map.
    Case("format_map_walk", "print('{x.__class__}'.format_map({'x': 1}))", "error", "format_map"),
    # GHSA-xjw2-6jm9-rf67: str.format taken from the class.
    Case("str_class_format", "f = str.format\nprint(f('{0.__class__}', 1))", "error", "format"),
    # GHSA-xjw2-6jm9-rf67: through the getattr builtin.
    Case(
        "format_via_getattr",
        "walk = getattr('{0.__globals__}', 'format')\nprint(walk(qb.jobid))",
        "error",
        "format",
    ),
    # GHSA-xjw2-6jm9-rf67: the format builtin takes no field names.
    Case("format_builtin_spec", "print(format(job, '{0.__class__}'))", "error", "TypeError"),
    # GHSA-hp3v-5vw7-fx9w: string.Formatter().get_field returns live objects.
    Case(
        "string_formatter",
        "import string\nf = string.Formatter().get_field('0.__globals__', [len], {})",
        "compile",
    ),
    # GHSA-hp3v-5vw7-fx9w: from-import of the Formatter class.
    Case("string_formatter_from_import", "from string import Formatter", "compile"),
    # GHSA-hp3v-5vw7-fx9w / GHSA-5rfv-66g4-jr8h: the string module is not importable at all.
    Case("string_module_dunder_import", "s = __import__('string')", "compile"),
    # GHSA-wqc8-x2pr-7jqh: the frame of a generator, then up the stack.
    Case(
        "generator_gi_frame",
        "g = (x for x in [1])\nf = g.gi_frame.f_back.f_back.f_globals",
        "compile",
    ),
    # GHSA-wqc8-x2pr-7jqh: the same through getattr at run time.
    Case("generator_gi_frame_getattr", "g = (x for x in [1])\nf = getattr(g, 'gi_frame')", "error"),
    # GHSA-wqc8-x2pr-7jqh: a generator function's code object.
    Case(
        "generator_gi_code",
        "def gen():\n    yield 1\nc = getattr(gen(), 'gi_code')",
        "error",
        "gi_code",
    ),
    # GHSA-wqc8-x2pr-7jqh: frames through a traceback.
    Case(
        "traceback_frame",
        "try:\n    1 / 0\nexcept Exception as e:\n    t = getattr(e, '__traceback__')",
        "error",
        "__traceback__",
    ),
    # GHSA-5rfv-66g4-jr8h: AttributeError.obj hands out the object behind a facade.
    Case(
        "attributeerror_obj_module",
        "import math\ntry:\n    math.nothing\nexcept AttributeError as e:\n    print(e.obj)",
        "error",
        "'obj'",
    ),
    # GHSA-5rfv-66g4-jr8h: ... behind qb.
    Case(
        "attributeerror_obj_qb",
        "try:\n    qb.nothing\nexcept AttributeError as e:\n    leak = getattr(e, 'obj')",
        "error",
        "'obj'",
    ),
    # GHSA-gmj9-h825-chq2: try/except* is not compiled at all.
    # RestrictedPython 8.5: async generator frames (ag_frame) and lazy imports; neither compiles.
    Case("async_generator_frame", "async def g():\n    yield 1\nf = g().ag_frame", "compile"),
    Case("lazy_import", "lazy import os", "compile"),
    Case("try_except_star", "try:\n    pass\nexcept* ValueError:\n    pass", "compile"),
    # GHSA-gmj9-h825-chq2: nor is ExceptionGroup available.
    Case("exception_group", "raise ExceptionGroup('x', [ValueError()])", "error", "NameError"),
    # GHSA-ffg3-p8fm-mjx2: a positional-only parameter shadowing _getattr_.
    Case(
        "posonly_shadows_getattr",
        "def f(_getattr_=lambda o, n: o, /):\n    return job.status\nf()",
        "compile",
    ),
    # GHSA-ffg3-p8fm-mjx2: ... shadowing _write_.
    Case(
        "posonly_shadows_write",
        "def f(_write_=lambda o: o, /):\n    qb.jobid = 1\nf()",
        "compile",
    ),
    # GHSA-ffg3-p8fm-mjx2: ... shadowing _print_ to capture the internal _getattr_.
    Case("posonly_shadows_print", "def f(_print_=list, /):\n    print(1)\nf()", "compile"),
    # GHSA-ffg3-p8fm-mjx2: ... in a lambda, shadowing _getitem_ and _getiter_.
    Case(
        "posonly_lambda_getitem",
        "f = lambda _getitem_=None, _getiter_=None, /: job['id']",
        "compile",
    ),
    # --- __class__ / __subclasses__ walks ----------------------------------------------------
    Case("subclasses_walk", "x = ().__class__.__bases__[0].__subclasses__()", "compile"),
    Case("class_via_getattr", "c = getattr((), '__cla' + 'ss__')", "error", "__class__"),
    Case("mro_on_a_class", "print(getattr(int, 'mro')())", "error", "mro"),
    Case("type_builtin", "t = type(1)", "error", "NameError"),
    Case("object_builtin", "o = object", "error", "NameError"),
    Case("function_globals", "def f():\n    pass\ng = getattr(f, '__globals__')", "error"),
    Case("function_attributes", "def f():\n    pass\nprint(f.func_globals)", "error"),
    Case("builtin_self_is_a_module", "m = getattr(len, '__self__')", "error", "__self__"),
    Case("qb_method_func", "f = getattr(qb.unblock, '__func__')", "error", "__func__"),
    # qb's action functions are generated from the verb table (closures over their name): a
    # bound method hands unknown attributes on to its function, so these would reach the
    # closure and the module's globals if the guard let them through.
    Case("qb_function_globals", "g = getattr(qb.kill, '__globals__')", "error", "__globals__"),
    Case("qb_function_closure", "c = getattr(qb.workkill, '__closure__')", "error", "__closure__"),
    Case("qb_function_code", "c = getattr(qb.retry, '__code__')", "error", "__code__"),
    Case("facade_internals", "print(getattr(job, '_fields'))", "error", "_fields"),
    Case("facade_dunder_dict", "print(job.__dict__)", "compile"),
    Case("fstring_walk", "print(f'{job.__class__}')", "compile"),
    Case("dict_view_mapping", "print({}.keys().mapping)", "error", "mapping"),
    Case("print_bound_method", "p = print\nprint(getattr(p, '__self__'))", "error"),
    # --- missing-builtins tricks -------------------------------------------------------------
    Case("builtins_by_name", "__builtins__['open']('MARKER', 'w')", "compile"),
    Case("open_builtin", "open(MARKER, 'w').write('escaped')", "error", "NameError"),
    Case("unicode_open", "ᵒpen(MARKER, 'w').write('escaped')", "error", "NameError"),
    Case("globals_builtin", "g = globals()['__builtins__']", "error", "NameError"),
    Case("vars_dir_locals", "print(vars(), dir(), locals())", "error", "NameError"),
    Case("eval_call", "eval('1 + 1')", "compile"),
    Case("compile_builtin", "c = compile('1', 'x', 'eval')", "error", "NameError"),
    Case("dunder_import", "__import__('os').system('touch ' + MARKER)", "compile"),
    Case("breakpoint_builtin", "breakpoint()", "compile"),
    Case("help_and_exit_builtins", "help()\nexit()", "error", "NameError"),
    Case("shadow_guard_by_assignment", "_getattr_ = getattr", "compile"),
    Case("shadow_guard_by_import", "import math as _write_", "compile"),
    Case(
        "shadow_guard_by_except",
        "try:\n    1/0\nexcept Exception as _getattr_:\n    pass",
        "compile",
    ),
    Case("shadow_guard_by_global", "def f():\n    global _getattr_\n", "compile"),
    Case("system_exit", "raise SystemExit(0)", "error", "SystemExit"),
    Case("keyboard_interrupt", "raise KeyboardInterrupt", "error", "KeyboardInterrupt"),
    # --- imports -----------------------------------------------------------------------------
    Case("import_os", "import os\nos.system('touch ' + MARKER)", "compile"),
    Case("import_sys", "import sys\nsys.modules['os'].system('touch ' + MARKER)", "compile"),
    Case("import_builtins", "import builtins\nbuiltins.open(MARKER, 'w')", "compile"),
    Case("import_importlib", "import importlib\nimportlib.import_module('os')", "compile"),
    Case("import_introspection", "import gc, inspect, types", "compile"),
    Case("import_ctypes", "import ctypes", "compile"),
    Case("import_submodule", "import json.decoder", "compile"),
    Case("relative_import", "from . import policy", "compile"),
    # from-import falls back to sys.modules['<module.__name__>.<name>'] on a real module
    Case("from_import_sys_modules_fallback", "from json import decoder", "error", "ImportError"),
    Case("from_import_datetime_sys", "from datetime import sys", "error", "ImportError"),
    Case("facade_module_internals", "import re\nprint(re.sre_compile)", "error", "sre_compile"),
    Case("facade_loader", "import math\nprint(getattr(math, '__loader__'))", "error"),
    # --- writes to shared objects ------------------------------------------------------------
    Case("write_qb", "qb.jobid = lambda: 1", "error", "cannot change qb"),
    Case("delete_qb_command", "del qb.unblock", "error", "cannot change qb"),
    Case("write_module", "import math\nmath.pi = 3", "error", "cannot change module 'math'"),
    Case("write_json_dumps", "import json\njson.dumps = print", "error", "cannot change"),
    Case("write_job_field", "job.status = 'complete'", "error", "cannot change job"),
    Case("write_job_data", "job.data['shot'] = 'x'", "error", "cannot change job.data"),
    Case("write_event", "event.name = 'x'", "error", "cannot change event"),
    Case("write_builtin_class", "ValueError.args = ()", "error", "cannot change class"),
    Case("write_function", "def f():\n    pass\nf.x = 1", "error", "cannot change"),
    Case("write_exception", "e = ValueError()\ne.args = ('x',)", "error", "cannot change"),
    Case("setattr_builtin", "setattr(qb, 'jobid', len)", "error", "NameError"),
    Case("augmented_attribute", "job.id += 1", "compile"),
    Case("class_definition", "class Spy:\n    pass", "compile"),
    Case("metaclass_via_type", "Spy = type('Spy', (), {})", "error", "NameError"),
    # --- exhaustion --------------------------------------------------------------------------
    Case("infinite_loop", "while True:\n    pass", "limit:cpu"),
    Case(
        "caught_infinite_loop",
        "try:\n    while True:\n        pass\nexcept BaseException:\n    pass",
        "limit:cpu",
    ),
    Case("huge_power", "x = 10**10**10", "limit:cpu|memory"),
    Case("huge_string", "x = 'a' * 10**10", "limit:memory"),
    Case("memory_growth", "x = []\nwhile True:\n    x.append('y' * 10**6)", "limit:memory"),
    Case("infinite_iterator", "x = list(iter(int, 1))", "limit:cpu|memory"),
    Case("deep_recursion", "def f(n):\n    return f(n + 1)\nf(0)", "error", "RecursionError"),
    Case(
        "deep_nesting_repr",
        "x = []\nfor i in range(100000):\n    x = [x]\nprint(x)",
        "error",
        "RecursionError",
    ),
    Case(
        "deep_json",
        "import json\njson.loads('[' * 100000 + ']' * 100000)",
        "error",
        "RecursionError",
    ),
    Case("regex_backtracking", "import re\nre.match('(a+)+$', 'a' * 64 + 'b')", "limit:cpu"),
    Case("huge_output", "while True:\n    print('x' * 1000)", "limit:output"),
    Case("huge_single_print", "print('x' * 10**7)", "limit:output"),
    Case(
        "caught_output_limit",
        "try:\n    print('x' * 10**6)\nexcept BaseException:\n    pass\nqb.unblock(1)",
        "limit:output",
    ),
    Case("huge_source", "x = 1\n" * 20000, "limit:source"),
    Case("huge_int_to_str", "print(str(10**100000))", "error", "ValueError"),
    Case(
        "generator_finally_after_the_run",
        "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n"
        "            pass\nx = g()\nnext(x)",
        "limit:cpu",
    ),
    # CPython crashers (C stack overflow): the worker dies, the supervisor does not.
    Case(
        "c_stack_tuple_hash",
        "t = ()\nfor i in range(1000000):\n    t = (t,)\nprint(hash(t))",
        "error",
        "died",
    ),
    Case(
        "c_stack_generator_chain",
        "g = iter([1])\nfor i in range(100000):\n    g = (x for x in g)\nprint(next(g))",
        "error",
        "died",
    ),
    Case("too_many_actions", "for i in range(5000):\n    qb.unblock(1)", "error", "at most 1000"),
    # --- qb.submit: a job is the sanctioned way to run a process; its dicts are bounded ------
    Case(
        "submit_huge_env",
        "qb.submit({'package': {'cmdline': 'true'}, 'env': {'E': 'x' * 200000}})",
        "error",
        "over 131072 bytes",
    ),
    Case(
        "submit_too_many_jobs",
        "for i in range(3):\n    qb.submit([{'package': {'cmdline': 'true'}}] * 40)",
        "error",
        "at most 100 jobs",
    ),
    Case("submit_cyclic_dict", "d = {}\nd['d'] = d\nqb.submit(d)", "error", "nested deeper"),
    Case("submit_live_object", "qb.submit({'data': qb})", "error", "JSON"),
    Case("submit_function", "qb.submit({'data': len})", "error", "JSON"),
    Case("submit_lone_surrogate", "qb.submit({'name': '\\ud800'})", "error", "not valid Unicode"),
    Case("submit_negative_pgrp", "qb.submit({}, pgrp=-1)", "error", "process group id"),
    Case("submit_dict_subclass", "class D(dict):\n    pass\nqb.submit(D(name='x'))", "compile"),
    # --- fork / exec / socket / file ---------------------------------------------------------
    Case("fork", "import os\nos.fork()", "compile"),
    Case("subprocess", "import subprocess\nsubprocess.run(['touch', MARKER])", "compile"),
    Case(
        "socket_connect", "import socket\nsocket.create_connection(('127.0.0.1', PORT))", "compile"
    ),
    Case("print_to_a_file", "print('x', file=open(MARKER, 'w'))", "error"),
    Case("pathlib_write", "import pathlib\npathlib.Path(MARKER).write_text('x')", "compile"),
]


def test_the_corpus_is_big_and_named_uniquely() -> None:
    assert len(CORPUS) >= 40
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.fixture(scope="module")
def marker() -> Iterator[Path]:
    # In /tmp and world-writable: an escaped payload could write it even as a sandbox uid.
    directory = Path(tempfile.mkdtemp(prefix="latchwork-escape-"))
    os.chmod(directory, 0o777)
    yield directory / "escaped"
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(2, LIMITS) as started:
        yield started


def nothing_connected(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


@in_module_loop
@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
async def test_attempt_is_stopped(
    case: Case, pool: SandboxPool, marker: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    code = case.code.replace("MARKER", repr(str(marker))).replace("PORT", str(port))
    problem = check_python(code, LIMITS)
    result = await pool.run(make_call(code))
    assert result.actions == [], result
    if case.expect == "compile":
        assert problem is not None, "check_python let it through"
        assert result.error and result.limit == "", result
    elif case.expect == "error":
        assert problem is None, problem
        assert result.error and result.limit == "", result
        assert case.contains in result.error, result.error
    else:
        kinds = case.expect.removeprefix("limit:").split("|")
        assert result.limit in kinds, result
        assert result.error
        if case.expect == "limit:source":
            assert problem is not None
    assert len(result.output.encode()) <= LIMITS.max_output_bytes
    assert not marker.exists(), "a payload wrote the marker file"
    assert nothing_connected(listener), "a payload connected to the listener"


@in_module_loop
async def test_after_the_corpus_everything_still_works(
    pool: SandboxPool, marker: Path, listener: socket.socket
) -> None:
    assert CANARY == {"untouched": True}
    await asyncio.wait_for(_until_full(pool), 15)
    code = (
        "import math, json\n"
        "print(job.status, job.data.shot, event.name, math.pi == 3.141592653589793)\n"
        "print(json.dumps([1]), qb.jobid())\n"
        "qb.workunblock('%d:%s' % (qb.jobid(), event.binding))\n"
    )
    results = await asyncio.gather(*(pool.run(make_call(code)) for _ in range(4)))
    for result in results:
        assert result.error == "" and result.limit == ""
        assert result.output == f"running sh010 complete True\n[1] {OWNER}\n"
        assert result.actions == [CallbackAction(Verb.UNBLOCK, Scope.WORK, OWNER, work_name="2")]
    assert not marker.exists()
    assert nothing_connected(listener)
    assert pool.replaced > 0  # the limits recycled workers on the way


async def _until_full(pool: SandboxPool) -> None:
    while len(pool.pids) < pool.size:
        await asyncio.sleep(0.02)
