"""A fake requests adapter for unit tests that need responses the emulator cannot give."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    raise_exc: Exception | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    timeout: Any


Handler = Callable[[Seen], Reply]


class FakeAdapter(BaseAdapter):
    """Answers from a queue per path (last reply repeats), recording every request."""

    def __init__(self, routes: Mapping[str, list[Reply] | Handler]):
        super().__init__()
        self.routes = dict(routes)
        self.seen: list[Seen] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        seen = Seen(
            method=request.method or "",
            path=parts.path,
            query=parse_qs(parts.query),
            form=parse_qs(body.decode()),
            timeout=kwargs.get("timeout"),
        )
        self.seen.append(seen)
        route = self.routes.get(parts.path.rstrip("/"))
        if route is None:
            reply = Reply(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"})
        elif callable(route):
            reply = route(seen)
        else:
            reply = route.pop(0) if len(route) > 1 else route[0]
        if reply.raise_exc is not None:
            raise reply.raise_exc
        raw = HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=reply.headers,
            status=reply.status,
            preload_content=False,
            decode_content=False,
        )
        resp = requests.Response()
        resp.status_code = reply.status
        resp.headers = requests.structures.CaseInsensitiveDict(reply.headers)
        resp.raw = raw
        resp.url = request.url or ""
        resp.request = request
        resp.reason = "X"
        return resp

    def close(self) -> None:
        pass


def session_with(adapter: FakeAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
