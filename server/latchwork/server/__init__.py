"""The Latchwork supervisor: job model, store, event log, scheduler and gRPC adapters.

The domain core (``latchwork.server.core``) is plain typed Python with no I/O; everything
else here is an adapter around it.
"""
