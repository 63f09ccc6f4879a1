"""Mail from callbacks: the ``mail`` language, ``mail-status`` and ``qb.mail()``.

Messages go through the SMTP server of the supervisor's configuration. Bodies are templates
with Qube's variables (``$JOB_ID``, ``${JOB_STATUS}``, ...); a first line ``Subject: ...`` sets
the subject.

Headers are built from values users control (job names, event messages, ``mailaddress``), so
nothing reaches a header as given: a subject is flattened to one line of printable text (line
breaks of any kind and control characters become spaces), and every address is checked, one
bad address refusing the mail with a message naming it. No value can add a header.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from string import Template

SUBJECT_LIMIT = 200
"""Characters of a subject kept; the rest is cut (with "...")."""
BODY_LIMIT = 100_000
"""Characters of a body kept: a template naming a large variable many times still makes a
bounded mail (each value is bounded too: ``mail_variables.VALUE_LIMIT``)."""
_ADDRESS = re.compile(r"[^\s@<>()\[\]\\,;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class MailSettings:
    host: str = ""
    port: int = 25
    tls: str = "none"  # none | starttls | ssl
    username: str = ""
    password: str = ""
    sender: str = "latchwork@localhost"
    timeout_seconds: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host)


class MailError(Exception):
    """A message that could not be sent; the callback's run record shows why."""


def render(template: str, variables: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) of a template: ``$NAME`` and ``${NAME}`` expand, a ``$NAME`` that is
    not a variable is left as written, ``$$`` is a ``$``; the text is cut at
    :data:`BODY_LIMIT` characters (a first line ``Subject: ...`` sets the subject)."""
    text = expand(template, variables)
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first[len("subject:") :].strip(), rest.lstrip("\n")
    subject = f"[latchwork] job {variables.get('JOB_ID', '?')} {variables.get('JOB_STATUS', '')}"
    return subject.strip(), text


def expand(template: str, variables: Mapping[str, str], limit: int = BODY_LIMIT) -> str:
    """``template`` with its variables expanded, as ``string.Template.safe_substitute`` does,
    but never past ``limit`` characters: expansion stops there, so a template naming a large
    variable thousands of times costs no more than the limit."""
    out: list[str] = []
    size = pos = 0
    for match in Template.pattern.finditer(template):
        name = match.group("named") or match.group("braced")
        if match.group("escaped") is not None:
            value = "$"
        elif name is not None and name in variables:
            value = variables[name]
        else:
            value = match.group(0)
        out += [template[pos : match.start()], value]
        size += match.start() - pos + len(value)
        pos = match.end()
        if size > limit:
            break
    else:
        out.append(template[pos:])
    text = "".join(out)
    if len(text) > limit:
        text = text[:limit] + f"\n[cut: the message is over {limit:,} characters]\n"
    return text


def recipients(addresses: str) -> list[str]:
    return [a.strip() for a in addresses.replace(";", ",").split(",") if a.strip()]


def header_text(value: str, limit: int = SUBJECT_LIMIT) -> str:
    """``value`` as one line of printable text, fit for a header (a subject, a name)."""
    flat = "".join(" " if _breaks_header(c) else c for c in value)
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def _breaks_header(char: str) -> bool:
    # Cc: control characters (CR, LF, NUL, U+0085, ...); Zl, Zp: U+2028, U+2029; Cs: lone
    # surrogates. Every line break str.splitlines() knows is among them.
    return unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs")


def address_problem(address: str) -> str:
    """Why ``address`` cannot be a recipient ("" if it can): one plain address, or a name and
    an address ``Name <user@host>``, with no line breaks or control characters."""
    shown = ascii(address)[1:-1] if len(address) <= 80 else ascii(address[:80])[1:-1] + "..."
    if any(_breaks_header(c) for c in address):
        return f"mail address '{shown}' contains a line break or a control character"
    _name, addr = parseaddr(address)
    if not addr or not _ADDRESS.fullmatch(addr) or not addr.isascii():
        return f"'{shown}' is not a mail address (user@host)"
    return ""


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, to: list[str], subject: str, body: str) -> None:
        if not self.settings.configured:
            raise MailError("no SMTP server is configured (smtp_host)")
        if not to:
            raise MailError("no recipients: set the job's mailaddress")
        problems = [p for p in map(address_problem, to) if p]
        if problems:
            raise MailError(f"nothing was sent: {'; '.join(problems)}")
        try:
            message = EmailMessage()
            message["From"] = self.settings.sender
            message["To"] = ", ".join(to)
            message["Subject"] = header_text(subject)
            message.set_content(body)
        except (ValueError, TypeError, LookupError) as error:
            raise MailError(f"the mail could not be written: {error}") from error
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (OSError, smtplib.SMTPException, ValueError, UnicodeError) as error:
            raise MailError(f"SMTP {self.settings.host}:{self.settings.port}: {error}") from error

    def _send_blocking(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with smtp:
            if s.tls == "starttls":
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
            smtp.send_message(message)
