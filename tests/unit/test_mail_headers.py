"""Mail headers built from values users control cannot break a message or add a header."""

from __future__ import annotations

import pytest

from latchwork.server.mailer import address_problem, header_text


@pytest.mark.parametrize(
    ("value", "flat"),
    [
        ("shot\r010 is complete", "shot 010 is complete"),
        ("shot\u2028020\u2029done", "shot 020 done"),
        ("a\nBcc: evil@example.com", "a Bcc: evil@example.com"),
        ("tab\tnul\x00nel\x85vt\x0bff\x0c", "tab nul nel vt ff"),
        ("  spaced   out  ", "spaced out"),
        ("plan ☃ ünïcode", "plan ☃ ünïcode"),
    ],
)
def test_a_subject_is_one_line_of_printable_text(value: str, flat: str) -> None:
    assert header_text(value) == flat


def test_a_long_subject_is_cut() -> None:
    assert header_text("x" * 500) == "x" * 197 + "..."


@pytest.mark.parametrize(
    "address", ["td@example.com", "Wrangler <w@example.com>", "a@localhost", "a.b+c@x-y.org"]
)
def test_good_addresses(address: str) -> None:
    assert address_problem(address) == ""


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("w@example.com\r\nBcc: evil@example.com", "contains a line break"),
        ("w@example.com\u2028", "contains a line break"),
        ("nobody", "is not a mail address"),
        ("a b@example.com", "is not a mail address"),
        ("ü@example.com", "is not a mail address"),
        ("<>", "is not a mail address"),
    ],
)
def test_bad_addresses_are_named(address: str, problem: str) -> None:
    found = address_problem(address)
    assert problem in found
    assert ascii(address)[1:-1] in found
