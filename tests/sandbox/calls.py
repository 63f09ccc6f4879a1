"""Building PythonCalls and running code in-process (for unit tests of trusted code only)."""

from __future__ import annotations

from typing import Any

from latchwork.sandbox.python.policy import compile_callback
from latchwork.sandbox.python.pool import PythonCall
from latchwork.sandbox.python.worker import execute, warm_up

OWNER = 12
PGRP = 10


def owner_job() -> dict[str, object]:
    return {
        "id": OWNER,
        "pgrp": PGRP,
        "pid": 0,
        "label": "render",
        "name": "shot010 render",
        "user": "ann",
        "status": "running",
        "priority": 50,
        "cpus": 2,
        "data": {"shot": "sh010", "frames": "1-3", "odd key": 1},
        "env": {"RENDERER": "arnold"},
        "work": [
            {"name": "1", "status": "complete"},
            {"name": "2", "status": "running"},
            {"name": "3", "status": "blocked"},
        ],
    }


def other_jobs() -> dict[str, dict[str, object]]:
    return {
        str(PGRP): {"id": PGRP, "pgrp": PGRP, "label": "setup", "status": "complete", "work": []},
        "11": {"id": 11, "pgrp": PGRP, "label": "comp", "status": "blocked", "work": []},
        "99": {"id": 99, "pgrp": 99, "label": "other", "status": "pending", "user": "bob"},
    }


def make_call(code: str, **changes: Any) -> PythonCall:
    fields: dict[str, Any] = {
        "code": code,
        "owner_id": OWNER,
        "binding": "2",
        "event": {
            "seq": 41,
            "name": "complete",
            "type": "work",
            "job_id": OWNER,
            "work_name": "2",
            "subjob_id": 1,
            "host": "node7",
            "status": "complete",
            "message": "",
        },
        "job": owner_job(),
        "jobs": other_jobs(),
        "tree": None,
    }
    fields.update(changes)
    return PythonCall(**fields)


def run_inline(code: str, **changes: Any) -> dict[str, Any]:
    """Compile and run ``code`` in this process, without limits: trusted test code only."""
    warm_up()  # what the worker loads before it locks down (datetime.strptime's _strptime)
    compiled, message, line = compile_callback(code)
    assert compiled is not None, (message, line)
    call = make_call(code, **changes)
    request = {
        "owner_id": call.owner_id,
        "binding": call.binding,
        "event": call.event,
        "job": call.job,
        "jobs": call.jobs,
        "tree": call.tree,
    }
    return execute(compiled, request, 64 * 1024)


# Everyday callback Python: the same output in-process and in a locked-down worker.
USEFUL_CODE = """
import math, json, re, datetime, time
frames = [int(w.name) for w in job.work if w.status != 'complete']
total = 0
for i, f in enumerate(sorted(frames, reverse=True)):
    total += f * i
a, (b, c) = 1, (2, 3)
d = {k: v for k, v in job.data.items() if k != 'odd key'}
d['new'] = 1
s = {1, 2} | {3}
m = re.match(r'(?P<shot>sh\\d+)', job.data.shot)
when = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
print(total, a + b + c, sorted(d), len(s), m.group('shot'), when.isoformat())
print(json.dumps({'job': job.id, 'data': job.data}, sort_keys=True))
print(math.floor(2.5), '%s-%04d' % ('f', 7), f'{total:>4}', max(frames), min(frames, default=0))
print(list(zip('ab', range(2))), tuple(reversed([1, 2])), any(x > 2 for x in frames))
print(time.gmtime(0).tm_year, round(2.567, 2), divmod(7, 2), 'x'.join(['a', 'b']).upper())
größe = datetime.datetime.strptime('2024-02-03', '%Y-%m-%d').strftime('%d/%m')
print(größe, re.sub(r'\\N{BULLET}', '*', '\u2022 x'), time.strptime('2024', '%Y').tm_year)
"""
USEFUL_OUTPUT = (
    "2 6 ['frames', 'new', 'shot'] 3 sh010 2024-05-02T00:00:00+00:00\n"
    '{"data": {"frames": "1-3", "odd key": 1, "shot": "sh010"}, "job": 12}\n'
    "2 f-0007    2 3 2\n"
    "[('a', 0), ('b', 1)] (2, 1) True\n"
    "1970 2.57 (3, 1) AXB\n"
    "03/02 * x 2024\n"
)
