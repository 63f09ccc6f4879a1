"""Sandboxed Python callbacks: RestrictedPython in limited worker processes.

* :mod:`.policy` decides what callback code may compile, name, read, write and import;
* :mod:`.api` is what the code sees: ``qb`` (Qube's callback API), ``event``, ``job``, ``tree``;
* :mod:`.worker` is the worker process (``python -m latchwork.sandbox.python.worker``);
* :mod:`.pool` is the supervisor's side: ``SandboxPool``, ``check_python``, ``PythonCall``.

This package imports nothing on purpose: the worker process loads only what it needs.
"""
