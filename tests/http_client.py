"""A plain HTTP client for tests of the supervisor's HTTP side: JSON calls with a cookie jar,
and a reader of server-sent events (standard library only, real sockets)."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.body["error"]
        return error


class Http:
    """One browser: its cookies persist across calls."""

    def __init__(self, base: str, token: str = "") -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if method == "POST" and csrf:
            sent["X-Latchwork"] = "1"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data, sent, method=method)
        try:
            with self.opener.open(request, timeout=30) as response:
                raw, status, got = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as refused:
            raw, status, got = refused.read(), refused.code, dict(refused.headers)
        kind = got.get("Content-Type", "")
        return Reply(status, json.loads(raw) if "json" in kind else raw.decode(), got)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, {} if body is None else body, **kwargs)


@dataclass
class SseEvent:
    event: str = "message"
    id: str = ""
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    """``GET path`` as text/event-stream; iterate for events (comments are attached to the
    next event, or yielded alone as event ``comment``)."""

    def __init__(self, base: str, path: str, headers: dict[str, str] | None = None) -> None:
        host_port = base.split("://", 1)[1].rstrip("/")
        host, _, port = host_port.rpartition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()

    def __iter__(self) -> Iterator[SseEvent]:
        current = SseEvent()
        while True:
            line = self.response.readline()
            if not line:
                return
            text = line.decode().rstrip("\n")
            if text == "":
                if current.data or current.id or current.event != "message":
                    yield current
                current = SseEvent()
            elif text.startswith(":"):
                yield SseEvent(event="comment", data=text[1:].strip())
            else:
                name, _, value = text.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    current.data += value
                elif name == "id":
                    current.id = value
                elif name == "event":
                    current.event = value

    def close(self) -> None:
        self.connection.close()
