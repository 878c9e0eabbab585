"""A tiny HTTP helper over http.client (the tests may not depend on mano_api)."""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mano_testing import Emulator

Form = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.body))


def request(
    emu: Emulator,
    path: str,
    form: Form | None = None,
    *,
    method: str = "POST",
    body: bytes | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    timeout: float = 60,
) -> Response:
    """Send one request on a fresh connection and read the whole answer."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        if body is None and form is not None:
            body = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def creds(emu: Emulator, who: str = "default") -> dict[str, str]:
    access, secret = emu.keys[who]
    return {"access_key": access, "secret_key": secret}


def study_form(emu: Emulator, who: str = "default", **extra: str) -> dict[str, str]:
    return {**creds(emu, who), "study_id": emu.study_id, **extra}


def get_data(emu: Emulator, version: int = 1, **extra: str) -> Response:
    return request(emu, f"/get-data/v{version}", study_form(emu, **extra))
