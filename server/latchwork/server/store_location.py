"""Where the supervisor keeps its state, and how to name that place where people read it.

The ``store`` setting is empty (the SQLite file under the data directory) or a PostgreSQL URL.
A URL may carry a password (``postgresql://farm:secret@db/latchwork``, or ``?password=``),
and start-up refusals, log lines and ``latchwork migrate``'s output all name the store: they
name it through :func:`masked`, and a message that came from elsewhere (the driver, the store)
goes through :func:`redacted` before anyone sees it, so the password never reaches a log.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MASK = "***"

_PASSWORD_PARAMETER = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)
_MASKED_PARAMETER = rf"\g<1>{MASK}"


def is_postgres(location: str | Path) -> bool:
    """Whether ``location`` is a PostgreSQL URL (else it names an SQLite file); as
    the store opens it (``store.opening.open_store``), without importing psycopg."""
    return isinstance(location, str) and location.lower().startswith(POSTGRES_SCHEMES)


def masked(location: str | Path) -> str:
    """``location`` as it may be shown: a URL's password (in its user part or a ``password``
    parameter) replaced by ``***``, whatever its scheme (a wrong one is shown in refusals);
    a path as it is."""
    text = str(location)
    if "://" not in text:
        return text
    scheme, _, rest = text.partition("://")
    userinfo = _userinfo(rest)
    if userinfo is not None and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:{MASK}{rest[len(userinfo) :]}"
    return f"{scheme}://{_PASSWORD_PARAMETER.sub(_MASKED_PARAMETER, rest)}"


def passwords(location: str | Path) -> list[str]:
    """The password(s) a URL carries, as written and decoded, longest first (none for a
    path)."""
    text = str(location)
    if "://" not in text:
        return []
    rest = text.partition("://")[2]
    userinfo = _userinfo(rest)
    found = [userinfo.partition(":")[2]] if userinfo is not None else []
    found += [match.group(2) for match in _PASSWORD_PARAMETER.finditer(rest)]
    found = [secret for secret in found if secret]
    return sorted({*found, *(unquote(secret) for secret in found)}, key=len, reverse=True)


def redacted(message: str, location: str | Path) -> str:
    """``message`` with ``location`` shown :func:`masked` and its password nowhere."""
    text = message.replace(str(location), masked(location))
    for secret in passwords(location):
        text = text.replace(secret, MASK)
    return text


def _userinfo(rest: str) -> str | None:
    """The ``user:password`` before the ``@`` of what follows ``scheme://``, if any. As libpq
    reads a URL: the user part ends at the first ``@`` that comes before any ``/``."""
    for index, char in enumerate(rest):
        if char == "@":
            return rest[:index]
        if char == "/":
            return None
    return None
