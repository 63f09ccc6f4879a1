"""The domain core: jobs, work, subjobs, their state machines and the events they emit.

Nothing in this package performs I/O, so every rule can be tested without a store,
a socket or a process.
"""
