"""What open mode (no tokens file) may do: serve this machine, not the network.

Without tokens every caller names itself, admin included, and frames run as the supervisor's
own user: whoever can connect can run anything as that user. On a workstation that listens on
loopback this is the user's own machine; on a network address it would give the supervisor's
user (root, often) to anyone who can reach the port. So a non-loopback address without tokens
is refused at start unless ``allow_open_network = true`` (``--insecure-open``) says it is meant,
and an open supervisor running as root says at start that any local account gets root.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket

from .startup import StartupError

log = logging.getLogger("latchwork")

ROOT_OPEN_WARNING = (
    "running as root without a tokens file (open mode): every local account that can reach "
    "the port can run commands as root; configure tokens_file, or run as an ordinary user"
)


def listens_on_loopback(listen: str) -> bool:
    """Whether every address ``listen`` (``host:port``) binds is a loopback address. An empty
    host or a wildcard (``0.0.0.0``, ``[::]``) is every interface; a name that does not resolve
    is left to the bind, which refuses it anyway."""
    host = listen.rpartition(":")[0].strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        resolved = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return True
    addresses = {str(address[4][0]).split("%", 1)[0] for address in resolved}
    return all(ipaddress.ip_address(address).is_loopback for address in addresses)


def check_open_mode(listen: str, has_tokens: bool, allow_open_network: bool) -> None:
    """Refuse (``StartupError``) an open supervisor on a network address unless allowed;
    warn when an open supervisor runs as root."""
    if has_tokens:
        return
    if not allow_open_network and not listens_on_loopback(listen):
        raise StartupError(
            f"refusing to listen on {listen} without a tokens file: in open mode every caller "
            "names its own user (admin included) and frames run as this supervisor's user; "
            "configure tokens_file, listen on a loopback address (localhost:50051), or set "
            "allow_open_network = true (--insecure-open) if this network is trusted"
        )
    if os.geteuid() == 0:
        log.warning(ROOT_OPEN_WARNING)
