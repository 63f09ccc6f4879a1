"""The size limits of a request: the one place where they live (documented in docs/limits.md).

Every string, map and list a client sends is bounded, so that no single request can hold the
supervisor's event loop (and with it every other RPC, health checks included) for long, fill
its memory, or store something no process can ever start with. The numbers come from three
kinds of reasons, given next to each:

* the kernel: a work item runs as ``/bin/sh -c CMDLINE`` with the job's environment, and Linux
  refuses (E2BIG) any single argument or ``NAME=value`` string longer than MAX_ARG_STRLEN
  (32 pages, 131,072 bytes) and all of them together beyond ARG_MAX (a quarter of the stack
  limit, 2 MiB with the usual 8 MiB stack); a path is at most PATH_MAX (4,096 bytes with its
  terminating NUL). See execve(2), "Limits on size of arguments and environment".
* the event loop: a large Submit is written staged (staging.py, ``Stager.submit``): its
  rows in short transactions of ~2,000 rows (a few ms each), then one final step on the loop
  that checks it again, compiles its callbacks and makes it visible with its events. That
  step costs about 20 us per job (its event, its row shown) and 30 us per callback on the
  reference machine, and nothing per work item or instance (docs/benchmarks.md, "Health
  latency during the largest legal Submit"); the per-Submit budgets keep it under ~50 ms.
* what a studio submits: a shot has hundreds of frames, a long sequence thousands (10,000
  frames are 7 minutes at 24 fps; a sequence of 50 shots of 240 frames is 12,000), a million
  is not; names and labels are read by people. Larger batches go in several Submits into
  the same process group.

Sizes of process strings are in UTF-8 bytes (what the kernel counts); names and labels, which
people read, are in characters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may contain. The defaults are the documented limits."""

    # --- per Submit ------------------------------------------------------------------------
    jobs_per_submit: int = 2_000
    """~20 us each in the final step on the loop (its event, its row made visible): 2,000
    jobs ~40 ms; a 300-job pipeline or 50 shots x 20 passes fit."""
    work_items_per_submit: int = 100_000
    """Written staged, ~2,000 rows per transaction (a few ms of loop time each), so they
    cost the loop no long step; bounded by the memory and the time (~1.5 s) a Submit takes."""
    instances_per_submit: int = 10_000
    """Instances (``cpus``) are rows too, staged like work items."""
    callbacks_per_submit: int = 500
    """~30 us each in the final step (trigger parsed and resolved, registered, row); a
    ``dependency`` becomes a callback and counts too: 500 ~15 ms."""
    code_bytes_per_submit: int = 512 * 2**10
    """All callback code of one Submit: 8 callbacks of the largest size. Checked in another
    process, but stored on the loop, and it bounds how long a Submit keeps the checker busy."""
    request_bytes: int = 4 * 2**20
    """A whole SubmitRequest as encoded: 2,000 jobs of 2 KiB. gRPC decodes it on the loop
    (~5 ms per MiB); it is checked and converted in a thread and its specs written staged.
    The gRPC transport refuses (RESOURCE_EXHAUSTED, unread) a message over twice this."""

    # --- per job ---------------------------------------------------------------------------
    work_items_per_job: int = 50_000
    """Frames of one job: 50,000 frames are about 35 minutes of film at 24 fps; a longer
    sequence goes in several jobs."""
    cpus_per_job: int = 10_000
    """As many as a Submit may have in all (``instances_per_submit``)."""
    name_chars: int = 256
    """A job name, a work item name, a user name: shown in listings and mail subjects."""
    label_chars: int = 128
    """A label is an identifier used in trigger expressions (``done-job-render``)."""
    cmdline_bytes: int = 64 * 2**10
    """Run as one argument of ``sh -c``: half of MAX_ARG_STRLEN (131,072), leaving room."""
    frame_range_chars: int = 640 * 2**10
    """Room for 50,000 frames of up to 12 digits written out one by one (``10001,10003,...``)."""
    padding: int = 16
    """Zero-padding of frame numbers; frames have at most 13 characters (12 digits, a sign)."""
    env_vars: int = 256
    env_name_bytes: int = 256
    env_value_bytes: int = 32 * 2**10
    env_total_bytes: int = 256 * 2**10
    """All ``NAME=value`` strings of a job: an eighth of ARG_MAX (2 MiB); the worker's own
    environment and the variables Latchwork adds must fit in the rest."""
    cwd_bytes: int = 4_095
    """PATH_MAX is 4,096 bytes, its terminating NUL included."""
    data_entries: int = 256
    data_key_bytes: int = 256
    data_value_bytes: int = 64 * 2**10
    data_total_bytes: int = 256 * 2**10
    """Job data travels with the job into callback snapshots (``qb.jobinfo``, trees)."""
    mailaddress_bytes: int = 1_024
    """RFC 5321 (4.5.3.1.3) allows 256 octets per address: room for a few addresses."""
    dependency_chars: int = 10_000
    """Same as a trigger: a dependency becomes one."""
    other_text_bytes: int = 4_096
    """Any other text field of a job (one added later with no limit of its own): a field
    nobody chose a size for is still bounded and still refuses NUL bytes."""

    # --- per callback ----------------------------------------------------------------------
    callbacks_per_job: int = 100
    """Over the job's life, AddCallbacks included."""
    trigger_chars: int = 10_000
    """The trigger parser's own limit (core/triggers/parser.py, MAX_TRIGGER_LENGTH)."""
    code_bytes: int = 64 * 2**10
    """The Python sandbox's source limit (sandbox/latchwork/sandbox/python/pool.py,
    Limits.max_source_bytes)."""
    language_chars: int = 16
    criteria_entries: int = 64
    criteria_key_bytes: int = 256
    criteria_value_bytes: int = 4 * 2**10
    include_data_entries: int = 256
    """Names of data keys, each at most ``data_key_bytes``."""


DEFAULT_LIMITS = Limits()
