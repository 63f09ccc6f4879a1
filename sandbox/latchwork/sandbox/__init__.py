"""Callback languages: the ``qube`` command interpreter and the sandboxed Python runner.

The sandbox never touches the store: it receives a snapshot and returns actions.
"""
