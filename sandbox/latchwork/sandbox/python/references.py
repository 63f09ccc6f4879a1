"""Which snapshots a callback's source can reach, read from its tokens before it runs.

A run carries snapshots to the worker process: the owner job with its work list, the other
jobs ``qb.jobinfo`` may return, and for tree triggers the whole job tree. For a 4,000-frame
job with a per-frame callback, copying and encoding the owner's work list on every firing
costs far more than the callback itself. The sandbox has no ``globals``, ``vars`` or frames,
and its only dynamic attribute lookup is the guarded ``getattr`` builtin; so a source that
names none of ``job``, ``jobinfo`` and ``getattr`` cannot see the job snapshots, one that never
names ``tree`` cannot see the tree, and the supervisor need not send them. A source that does
not tokenize is treated as reaching everything (it will fail to compile anyway).
"""

from __future__ import annotations

import functools
import io
import tokenize

# The global holding the owner's snapshot, the qb method returning job snapshots, and the one
# builtin that could look either up by a computed name.
JOB_SNAPSHOT_NAMES = frozenset({"job", "jobinfo", "getattr"})


def reads_job_snapshots(code: str) -> bool:
    """True when ``code`` names ``job``, ``jobinfo`` or ``getattr`` (or cannot be tokenized)."""
    names = _names(code)
    return names is None or not names.isdisjoint(JOB_SNAPSHOT_NAMES)


def reads_tree(code: str) -> bool:
    """True when ``code`` names the ``tree`` global (a global no attribute leads to)."""
    names = _names(code)
    return names is None or "tree" in names


@functools.lru_cache(maxsize=1024)
def _names(code: str) -> frozenset[str] | None:
    """Every NAME token of ``code``; None when it does not tokenize."""
    try:
        return frozenset(
            token.string
            for token in tokenize.generate_tokens(io.StringIO(code).readline)
            if token.type == tokenize.NAME
        )
    except (tokenize.TokenError, SyntaxError):
        return None
