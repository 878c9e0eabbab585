"""The HTTP side: a ``ThreadingHTTPServer`` answering like the Beiwe Data Access API.

Every route, method check, parameter rule and status code follows docs/beiwe-server.md; the
comments name the section a behaviour comes from.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
import random
import re
import socket
import struct
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mano_testing import _endpoints
from mano_testing._faults import Faults
from mano_testing._store import BlobStore
from mano_testing._synth import (
    ALL_DATA_STREAMS,
    FileSpec,
    Participant,
    Researcher,
    Study,
    World,
)
from mano_testing._zipstream import EMPTY_ZIP, ZipBuilder

__all__ = ["EmulatorServer", "RequestRecord", "ServerState"]

logger = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
JSON = "application/json"
MAINTENANCE = b"This server is currently undergoing maintenance, please try again later."
DJANGO_404 = (
    b'<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    b"  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    b"</body>\n</html>\n"
)
DJANGO_500 = (
    b'<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    b"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
MAX_BODY = 128 * 1024 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_FIELDS = 1000  # DATA_UPLOAD_MAX_NUMBER_FIELDS
CHUNK = 1 << 20  # bytes per HTTP chunk while streaming a zip

_STUDY_ID = re.compile(r"[A-Za-z0-9]{24}")
_KEY = re.compile(r"[A-Za-z0-9/+]+")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One answered request, for tests that count transfers.

    Attributes:
        path: Request path (without query string).
        status: HTTP status sent.
        bytes_sent: Body bytes sent (without chunk framing).
        members: Data members in a get-data zip (not the registry, not hostile members).
        method: HTTP method.
        names: Names of those data members, in the order sent.
        fault: The fault applied to this response, or "".
    """

    path: str
    status: int
    bytes_sent: int
    members: int = 0
    method: str = "POST"
    names: tuple[str, ...] = ()
    fault: str = ""


class _Abort(Exception):
    """Turned into ``HttpResponse(b"", status=code)`` like the server's AbortMiddleware."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(slots=True)
class ServerState:
    """Mutable state shared by the handler threads and the Emulator."""

    world: World
    store: BlobStore
    faults: Faults
    profile: str
    v2: bool
    shuffle: bool
    https_redirect: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    generations: dict[str, int] = field(default_factory=dict)
    log: list[RequestRecord] = field(default_factory=list)
    # (name, data, CRC-32 written in the zip or None for the true one)
    hostile: list[tuple[str, bytes, int | None]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    # storage paths the statistics tasks never count (late unchunked uploads: the server's
    # summary statistics and data quantities are computed from chunked data only)
    unstated: set[str] = field(default_factory=set)
    # storage path -> "zstd" (the stored object is damaged: its bytes are no zstd frame) or
    # "crc" (the bytes are damaged on the way: the zip records the true CRC-32 of other bytes)
    damaged: dict[str, str] = field(default_factory=dict)
    # bumped (under ``lock``) whenever stored content changes; keys the per-participant caches
    content_version: int = 0
    cache: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def generation(self, storage_path: str) -> int:
        return self.generations.get(storage_path, 0)

    def changed(self) -> None:
        """Note a change of stored content (call with ``lock`` held)."""
        self.content_version += 1


class _Form:
    """A QueryDict-like view of a form body: ``get`` returns the last value."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.fields: dict[str, list[str]] = {}
        for key, value in pairs:
            self.fields.setdefault(key, []).append(value)

    def get(self, key: str) -> str | None:
        values = self.fields.get(key)
        return values[-1] if values else None

    def getlist(self, key: str) -> list[str]:
        return self.fields.get(key, [])

    def __contains__(self, key: str) -> bool:
        return key in self.fields


class _TooBig(Exception):
    pass


def _parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, str]] = []
    if not message.is_multipart():
        return pairs
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue  # file parts land in request.FILES, which the API ignores
        payload = part.get_payload(decode=True)
        pairs.append(
            (name, payload.decode("utf-8", "replace") if isinstance(payload, bytes) else "")
        )
    return pairs


class _ChunkedWriter:
    """Chunked transfer encoding with large writes (few syscalls, no per-byte work)."""

    def __init__(
        self,
        sock_write: Callable[[bytes | memoryview], Any],
        before_first: Callable[[], None] | None = None,
    ) -> None:
        self._sock_write = sock_write
        self._before_first = before_first
        self._parts: list[bytes] = []
        self._pending = 0
        self.sent = 0

    def _write(self, data: bytes | memoryview) -> None:
        if self._before_first is not None:
            # status and headers leave together with the first body bytes, as under gunicorn
            hook, self._before_first = self._before_first, None
            hook()
        self._sock_write(data)

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.sent += len(data)
        if len(data) >= CHUNK // 4:
            self.flush()
            self._write(b"%x\r\n" % len(data))
            self._write(data)
            self._write(b"\r\n")
            return
        self._parts.append(data)
        self._pending += len(data)
        if self._pending >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            joined = b"".join(self._parts)
            self._write(b"%x\r\n%b\r\n" % (len(joined), joined))
            self._parts.clear()
            self._pending = 0

    def finish(self) -> None:
        self.flush()
        self._write(b"0\r\n\r\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    server_version = "gunicorn"
    sys_version = ""
    # TCP_NODELAY, as gunicorn and Apache set it: headers and body go out in separate writes,
    # and with Nagle on, every small response waited ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    # -- plumbing ---------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    @property
    def state(self) -> ServerState:
        return self.server.state

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise _TooBig
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _TooBig
        return self.rfile.read(length) if length > 0 else b""

    def _form(self, method: str, body: bytes) -> _Form:
        if method != "POST":
            return _Form()
        ctype = self.headers.get("Content-Type", "")
        main = ctype.split(";")[0].strip().lower()
        if main == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=None
            )
        elif main == "multipart/form-data":
            pairs = _parse_multipart(ctype, body)
        else:
            return _Form()  # a JSON body is not parsed: request.POST is empty
        if len(pairs) > MAX_FIELDS:
            raise _Abort(400)  # TooManyFieldsSent
        return _Form(pairs)

    def _finish_log(self, record: RequestRecord) -> None:
        with self.state.lock:
            self.state.log.append(record)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = HTML,
        headers: dict[str, str] | None = None,
        *,
        path: str = "",
        method: str = "POST",
    ) -> None:
        """Send a complete (non-streamed) response, applying content-type and reset faults."""
        fault = ""
        if status == 200 and self.state.faults.take("content_type", path):
            content_type = "application/octet-stream" if content_type == HTML else HTML
            fault = "content_type"
        cut = status == 200 and len(body) > 1 and self.state.faults.take("reset", path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if cut:
            fault = "reset"
        self.end_headers()
        sent = len(body) // 2 if cut else len(body)
        self._finish_log(RequestRecord(path, status, sent, 0, method, (), fault))
        if method != "HEAD":
            self.wfile.write(body[:sent])
        if cut:
            self._reset()

    def _trickling(self, path: str) -> Callable[[bytes | memoryview], None] | None:
        """A body writer sending one byte per ``trickle`` interval, or None without the fault."""
        interval = self.state.faults.trickle(path)
        if interval <= 0:
            return None
        write = self.wfile.write

        def trickle(data: bytes | memoryview) -> None:
            for i in range(len(data)):  # ends when the client hangs up (the write fails)
                write(bytes(data[i : i + 1]))
                time.sleep(interval)

        return trickle

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a dying worker would."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:  # pragma: no cover - already gone
            pass
        self.close_connection = True

    def _send_json(self, obj: object, path: str, content_type: str = JSON, **kw: Any) -> None:
        self._send(200, _dumps(obj), content_type, path=path, **kw)

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        raw_path, _, query = self.path.partition("?")
        path = raw_path[:-1] if raw_path.endswith("/") and len(raw_path) > 1 else raw_path
        state = self.state
        try:
            body = self._read_body()
        except _TooBig:
            self.close_connection = True
            self._send(400, path=path, method=method)
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, path=path, method=method)
            return
        if state.https_redirect:
            host = self.headers.get("Host") or "localhost"
            self._send(
                301, b"", HTML, {"Location": f"https://{host}{self.path}"}, path=path, method=method
            )
            return
        if state.faults.take("downtime", path):
            self._send(503, MAINTENANCE, HTML, path=path, method=method)
            return
        route = ROUTES.get(path)
        if route is None or (path == "/get-data/v2" and not state.v2):
            self._send(404, DJANGO_404, HTML, path=path, method=method)
            return
        handler, allowed = route
        if method not in allowed:
            self._send(405, b"", HTML, {"Allow": ", ".join(allowed)}, path=path, method=method)
            return
        if state.faults.take("5xx", path):
            self._send(500, DJANGO_500, HTML, path=path, method=method)
            return
        delay = state.faults.delay(path)
        if delay:
            time.sleep(delay)
        try:
            form = self._form(method, body)
            handler(self, form, urllib.parse.parse_qs(query, keep_blank_values=True), path)
        except _Abort as abort:
            self._send(abort.status, b"", HTML, path=path, method=method)
        except _ServerError:
            self._send(500, DJANGO_500, HTML, path=path, method=method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- the checks of docs/beiwe-server.md#checks -------------------------------------------------------------

    def _study(self, form: _Form) -> Study:
        world = self.state.world
        study_id = form.get("study_id")
        study_pk = form.get("study_pk")
        if not study_id and not study_pk:
            raise _Abort(400)
        study: Study | None
        if study_id:
            if study_id.startswith("b'"):
                raise _ServerError
            if not _STUDY_ID.fullmatch(study_id):
                raise _Abort(400)
            study = world.studies.get(study_id)
        else:
            try:
                pk = int(study_pk or "")
            except ValueError:
                raise _Abort(400) from None
            study = world.studies_by_pk.get(pk)
        if study is None or study.deleted:
            raise _Abort(404)
        return study

    def _researcher(self, form: _Form) -> Researcher:
        access, secret = form.get("access_key"), form.get("secret_key")
        if not access or not secret:
            raise _Abort(400)
        if not _KEY.fullmatch(access) or not _KEY.fullmatch(secret):
            raise _Abort(400)
        researcher = self.state.world.researchers.get(access)
        if researcher is None or not researcher.active:
            raise _Abort(403)
        if not researcher.check_secret(secret):
            raise _Abort(403)
        return researcher

    @staticmethod
    def _access(researcher: Researcher, study: Study) -> None:
        if not researcher.site_admin and study.object_id not in researcher.studies:
            raise _Abort(403)

    def _study_scoped(self, form: _Form) -> Study:
        study = self._study(form)
        self._access(self._researcher(form), study)
        return study

    def _participant_scoped(self, form: _Form) -> Participant:
        researcher = self._researcher(form)
        pid = form.get("participant_id")
        if not pid:
            raise _Abort(400)
        participant = self.state.world.participants.get(pid)
        if participant is None:
            raise _Abort(404)
        self._access(researcher, self.state.world.studies[participant.study_id])
        return participant

    # -- simple endpoints -------------------------------------------------------------------

    def ep_check_credentials(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        self._researcher(form)
        self._send(200, b"The provided credentials are valid", HTML, path=path)

    def ep_get_studies(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        researcher = self._researcher(form)
        studies = {
            s.object_id: s.name
            for s in self.state.world.studies.values()
            if not s.deleted and (researcher.site_admin or s.object_id in researcher.studies)
        }
        # orjson output served with Django's default content type (docs/beiwe-server.md#get-studies, quirk 3)
        self._send(200, _dumps(studies), HTML, path=path)

    def ep_participant_ids(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        study = self._study_scoped(form)
        self._send_json([p.patient_id for p in study.participants], path)

    def ep_other(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        name = path.strip("/").split("/")[0]
        if name in _endpoints.PARTICIPANT_SCOPED:
            participant = self._participant_scoped(form)
            result = _endpoints.participant_endpoint(self.state, name, participant, form.fields)
        else:
            study = self._study_scoped(form)
            result = _endpoints.study_endpoint(self.state, name, study, form.fields, query)
        if result.status != 200:
            self._send(result.status, result.body, result.content_type, path=path)
            return
        if result.streamed:
            self._send_streamed(
                result.body, result.content_type, result.headers, path, tiny=result.tiny_chunks
            )
        else:
            self._send(200, result.body, result.content_type, result.headers, path=path)

    def _send_streamed(
        self, body: bytes, content_type: str, headers: dict[str, str], path: str, *, tiny: bool
    ) -> None:
        fault = ""
        if self.state.faults.take("content_type", path):
            content_type = "application/octet-stream"
            fault = "content_type"
        cut = self.state.faults.take("reset", path)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        out = _ChunkedWriter(self.wfile.write)
        if cut:
            out.write(body[: len(body) // 2])
            out.flush()
            self._finish_log(RequestRecord(path, 200, out.sent, 0, "POST", (), "reset"))
            self._reset()
            return
        if tiny:
            # FileResponse over a str: one chunk per character, as the real server sends it
            self._finish_log(RequestRecord(path, 200, len(body), 0, "POST", (), fault))
            write = self.wfile.write
            for char in body.decode():
                piece = char.encode()
                write(b"%x\r\n%b\r\n" % (len(piece), piece))
            write(b"0\r\n\r\n")
            return
        for start in range(0, len(body), 64 * 1024):
            out.write(body[start : start + 64 * 1024])
        self._finish_log(RequestRecord(path, 200, out.sent, 0, "POST", (), fault))
        out.finish()

    # -- get-data (docs/beiwe-server.md#get-data) ----------------------------------------------------------------

    def ep_get_data_v1(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        self._get_data(form, path, version=1)

    def ep_get_data_v2(self, form: _Form, query: dict[str, list[str]], path: str) -> None:
        self._get_data(form, path, version=2)

    def _get_data(self, form: _Form, path: str, *, version: int) -> None:
        state = self.state
        world = state.world
        study = self._study_scoped(form)
        streams = _parse_streams(form)
        pids = _parse_participants(form, world)
        start = _parse_time(form.get("time_start")) if "time_start" in form else None
        end = _parse_time(form.get("time_end")) if "time_end" in form else None
        registry = _parse_registry(form)
        web_form = "web_form" in form
        if registry and any(not isinstance(v, str) for v in registry.values()):
            raise _ServerError  # .strip() on a non-string, before the first byte (docs/beiwe-server.md#registry)
        wanted = pids or [p.patient_id for p in study.participants]
        in_study = [pid for pid in wanted if world.participants[pid].study_id == study.object_id]
        with state.lock:
            specs = [
                (spec, state.generation(spec.storage_path))
                for spec in world.query(in_study, streams, start, end)
                if spec.storage_path not in state.missing
            ]
            hostile = list(state.hostile)
        if state.shuffle:
            random.shuffle(specs)  # imap_unordered + unordered query: nondeterministic order
        clean = {k: str(v).strip() for k, v in registry.items()} if registry else {}
        self._stream_zip(specs, clean, hostile, path, version=version, web_form=web_form)

    def _stream_zip(
        self,
        specs: list[tuple[FileSpec, int]],
        registry: dict[str, str],
        hostile: list[tuple[str, bytes, int | None]],
        path: str,
        *,
        version: int,
        web_form: bool,
    ) -> None:
        state = self.state
        store = state.store
        fault = ""
        content_type = "application/zip"
        if state.faults.take("content_type", path):
            content_type, fault = HTML, "content_type"
        cut_mode = ""
        if state.faults.take("truncate", path):
            cut_mode = "truncate"
        elif state.faults.take("reset", path):
            cut_mode = "reset"
        fault = cut_mode or fault
        cut_at = len(specs) // 2 if cut_mode else -1
        disposition = "attachment" if web_form else "inline"

        def send_headers() -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Disposition", f'{disposition}; filename="data.zip"')
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Frame-Options", "DENY")
            self.end_headers()

        out = _ChunkedWriter(self._trickling(path) or self.wfile.write, send_headers)
        sent_registry = bool(registry)
        values = set(registry.values()) if registry else set()
        builder = ZipBuilder(datetime.now())
        used: set[str] = set()
        names: list[str] = []
        out_registry: dict[str, str | None] = {}

        def cut(header: bytes, data: bytes) -> None:
            out.write(header)
            out.write(data[: len(data) // 2])
            out.flush()
            self._finish_log(
                RequestRecord(path, 200, out.sent, len(names), "POST", tuple(names), cut_mode)
            )
            if cut_mode == "reset":
                self._reset()
            else:
                out.finish()

        for spec, generation in specs:
            blob = store.meta(spec, generation)
            if registry and _skip(spec, blob.sha1_b64, blob.md5_b64, registry, values):
                continue
            name = _dedupe(spec.zip_name, used)
            if version == 2:
                name += ".zst"
                data, crc = store.zst(spec, generation), blob.zst_crc
            else:
                data, crc = store.plain(spec, generation), blob.plain_crc
            damage = state.damaged.get(spec.storage_path)
            if damage == "zstd":
                data = b"\x28\xb5\x2f\xfd" + bytes(reversed(data[4:]))
                crc = _crc(data)
            elif damage == "crc":
                crc ^= 0xFFFFFFFF
            header = builder.local_header(name, crc, len(data))
            if len(names) == cut_at:
                cut(header, data)
                return
            out.write(header)
            out.write(data)
            names.append(name)
            if len(names) == 1:
                out.flush()  # the first member goes out at once (no silent start)
            if sent_registry:
                out_registry[spec.storage_path] = blob.sha1_b64
            else:
                out_registry[spec.storage_path] = blob.md5_b64 if spec.chunked else ""
        for name, data, recorded in hostile:
            member_crc = _crc(data) if recorded is None else recorded
            out.write(builder.local_header(name, member_crc, len(data)))
            out.write(data)
        if not web_form:
            reg = json.dumps(out_registry).encode()
            header = builder.local_header("registry", _crc(reg), len(reg))
            if cut_mode:
                cut(header, reg)
                return
            out.write(header)
            out.write(reg)
        elif cut_mode and builder.count:
            # nothing left to cut into: end without the central directory
            out.flush()
            self._finish_log(
                RequestRecord(path, 200, out.sent, len(names), "POST", tuple(names), cut_mode)
            )
            if cut_mode == "reset":
                self._reset()
            else:
                out.finish()
            return
        tail = builder.central_directory() if builder.count else EMPTY_ZIP
        self._finish_log(
            RequestRecord(path, 200, out.sent + len(tail), len(names), "POST", tuple(names), fault)
        )
        out.write(tail)
        out.finish()


class _ServerError(Exception):
    """An unhandled exception in the view: Django/gunicorn answer an HTML 500."""


def _crc(data: bytes) -> int:
    return zlib.crc32(data)


def _dumps(obj: object) -> bytes:
    """Compact JSON like orjson."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _dedupe(name: str, used: set[str]) -> str:
    """Insert ``_2``, ``_3`` ... before the extension of names already used (docs/beiwe-server.md#member-names)."""
    if name not in used:
        used.add(name)
        return name
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    n = 2
    while True:
        candidate = f"{folder}/{stem}_{n}{dot}{ext}" if folder else f"{stem}_{n}{dot}{ext}"
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


def _skip(spec: FileSpec, sha1: str, md5: str, registry: dict[str, str], values: set[str]) -> bool:
    """The server's ``filter_chunks_by_registry`` (docs/beiwe-server.md#registry), including its full-path bug."""
    if registry.get(spec.storage_path):
        return True  # rule 1: presence of a non-empty value skips, the value is never compared
    prefix = "CHUNKED_DATA/"
    key = (
        spec.storage_path[len(prefix) :]
        if spec.storage_path.startswith(prefix)
        else spec.storage_path
    )
    if registry.get(key) in (sha1, md5):
        return True  # rule 2: hash comparison on the stripped key
    return spec.stream == "audio_recordings" and sha1 in values  # rule 3


def _json_list(form: _Form, key: str) -> object:
    """Dual list encoding: json.loads on the last value, else every value (docs/beiwe-server.md#get-data-parameters)."""
    values = form.getlist(key)
    if not values:
        return None
    try:
        return json.loads(values[-1])
    except ValueError:
        return values


def _parse_streams(form: _Form) -> list[str]:
    parsed = _json_list(form, "data_streams")
    if not parsed:
        return list(ALL_DATA_STREAMS)
    if isinstance(parsed, int | float | bool):
        raise _ServerError  # iterating a number: unhandled TypeError
    entries = list(parsed) if isinstance(parsed, list | str | dict) else [parsed]
    for entry in entries:
        if entry not in ALL_DATA_STREAMS:
            raise _Abort(404)
    seen: list[str] = []
    for entry in entries:
        if isinstance(entry, str) and entry not in seen:
            seen.append(entry)
    return seen


def _parse_participants(form: _Form, world: World) -> list[str]:
    key = "participant_ids" if "participant_ids" in form else "user_ids"
    parsed = _json_list(form, key)
    if not parsed:
        return []
    if isinstance(parsed, int | float | bool):
        raise _Abort(400)  # "bad patient id": not iterable
    entries = list(parsed) if isinstance(parsed, list | str | dict) else [parsed]
    found = sum(1 for pid in set(map(str, entries)) if pid in world.participants)
    if found != len(entries):
        raise _Abort(404)  # count of matching rows must equal the list length
    return [str(e) for e in entries]


def _parse_time(text: str | None) -> datetime:
    try:
        return datetime.strptime(text or "", _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        if "does not match format" in str(exc):
            raise _Abort(400) from None
        raise _ServerError from None  # trailing data or impossible date: re-raised -> 500


def _parse_registry(form: _Form) -> dict[str, object]:
    if "registry" not in form:
        return {}
    try:
        parsed = json.loads(form.get("registry") or "")
    except ValueError:
        raise _Abort(400) from None
    if not isinstance(parsed, dict):
        raise _Abort(400)
    return parsed


_Route = tuple[Callable[[_Handler, _Form, dict[str, list[str]], str], None], tuple[str, ...]]
_POST = ("POST",)
ROUTES: dict[str, _Route] = {
    "/get-data/v1": (_Handler.ep_get_data_v1, ("POST", "GET")),
    "/get-data/v2": (_Handler.ep_get_data_v2, ("POST", "GET")),
    "/get-studies/v1": (_Handler.ep_get_studies, _POST),
    "/check-my-credentials/v1": (_Handler.ep_check_credentials, _POST),
    "/get-participant-ids/v1": (_Handler.ep_participant_ids, _POST),
    "/get-users/v1": (_Handler.ep_participant_ids, _POST),
}
for _name in _endpoints.STUDY_SCOPED | _endpoints.PARTICIPANT_SCOPED:
    ROUTES[f"/{_name}/v1"] = (_Handler.ep_other, _POST)


class EmulatorServer(ThreadingHTTPServer):
    """The HTTP server; one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        super().__init__(address, _Handler)
