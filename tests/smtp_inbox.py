"""A real SMTP server for the mail tests (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """What the server received: each message, and every recipient of every envelope."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


@contextmanager
def running_inbox() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on 127.0.0.1 while the block runs: its inbox and its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
