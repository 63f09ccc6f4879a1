"""What every side of Latchwork shares: small, pure rules of the job language.

The client, the sandbox and the supervisor's core may all import this package, so it stands
below all of them: it imports the standard library and itself, nothing else
(``tests/unit/test_layers.py`` checks). Put a rule here only when more than one side must
apply it the same way, e.g. Qube's frame-range syntax, which ``qb.genframes`` expands on the
client and the supervisor expands on Submit.
"""
