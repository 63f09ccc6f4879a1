"""The worker: ``latchwork worker`` runs work for a supervisor from another machine.

A package of its own because it is another process: a gRPC client of the supervisor's Worker
service (:mod:`latchwork.worker.remote_worker`) that runs each item with the server's runner
(:mod:`latchwork.server.runner`). The worker may import the server's shared pieces (runner,
core types, instance lock); the server never imports the worker (tests/unit/test_layers.py).
"""
