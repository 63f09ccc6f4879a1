"""Mail from callbacks: the ``mail`` language, ``mail-status`` and ``qb.mail()``.

Messages go through the SMTP server of the supervisor's configuration. Bodies are templates
with Qube's variables (``$JOB_ID``, ``${JOB_STATUS}``, ...); a first line ``Subject: ...`` sets
the subject.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from string import Template


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
    """(subject, body) of a template; unknown ``$NAMES`` are left as they are."""
    text = Template(template).safe_substitute(variables)
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first[len("subject:") :].strip(), rest.lstrip("\n")
    subject = f"[latchwork] job {variables.get('JOB_ID', '?')} {variables.get('JOB_STATUS', '')}"
    return subject.strip(), text


def recipients(addresses: str) -> list[str]:
    return [a.strip() for a in addresses.replace(";", ",").split(",") if a.strip()]


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, to: list[str], subject: str, body: str) -> None:
        if not self.settings.configured:
            raise MailError("no SMTP server is configured (smtp_host)")
        if not to:
            raise MailError("no recipients: set the job's mailaddress")
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(body)
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (OSError, smtplib.SMTPException) as error:
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
