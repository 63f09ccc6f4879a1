"""Trigger expressions: their syntax tree, parser, resolution against a job, and evaluation."""
