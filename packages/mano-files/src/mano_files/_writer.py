"""A helper process that stores small data files on a second core.

Saving a Beiwe archive means thousands of small files. In one Python process every file's
decompression, hashing and five system calls share the GIL with the caller's bookkeeping, and
a second thread only trades the GIL back and forth. :class:`WriterProcess` hands the per-file
work to a child process instead: the caller sends batches of ``(offset, size, crc, target,
form)`` jobs that point into a zip file on disk; the child reads each member with ``pread``,
checks its CRC-32, decompresses it when it is one intact zstd frame, hashes it and writes it
atomically (hidden temp file, ``os.replace``), then answers with what it stored.

The child only handles that common case. For anything else (a damaged member, several zstd
frames, an OS error) it answers ``None`` and leaves nothing behind, and the caller redoes the
file itself with :func:`mano_files.write_data_file`, which reports the problem properly. The
child stops at the next file boundary when its parent dies, so a killed run leaves no more
than a killed single process would.

The child runs this file as a script under ``python -I -S`` (no site, no environment, no
package import): it starts in ~10 ms plus zstandard's import, while the caller does other work.
"""

from __future__ import annotations

import base64
import collections
import marshal
import os
import struct
import sys
import zlib
from typing import TYPE_CHECKING, Any

try:
    import zstandard
except ImportError:  # pragma: no cover - run as a script: the entry point puts it on sys.path
    zstandard = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import subprocess

__all__ = ["Job", "Stored", "WriterProcess", "one_frame"]

#: One file to store: (offset of the member's bytes, their size, CRC-32, plain target path,
#: form to store: ``plain`` or ``zst``).
Job = tuple[int, int, int, str, str]
#: What was stored: (base64 SHA-1 of the plain content, plain size, stored size, mtime in ns).
Stored = tuple[str, int, int, int]

_HEADER = struct.Struct("<I")
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_MAGIC = (0xFD2FB528).to_bytes(4, "little")
_SUFFIX = {"plain": "", "zst": ".zst"}
#: Largest plain content decompressed in one call, here and when ``write_data_file`` gets
#: bytes (bigger files stream).
ONE_SHOT_MAX = 8 << 20
#: Results of one batch must fit a pipe buffer (64 KiB) so the child never blocks on writing.
MAX_BATCH = 256


def one_frame(data: bytes | bytearray | memoryview, dctx: object, max_size: int) -> bytes | None:
    """The plain content of ``data`` when it is exactly one intact zstd frame of known size.

    libzstd verifies the content size and the checksum (when present) and refuses trailing
    bytes. ``None`` for anything else (several or skippable frames, unknown, empty or too big
    content, damage): callers then take a careful path that also names the problem.
    """
    if bytes(data[:4]) != _MAGIC:
        return None
    try:
        size = zstandard.frame_content_size(data)
        if size <= 0 or size > max_size:
            return None
        plain: bytes = dctx.decompress(  # type: ignore[attr-defined]
            data, max_output_size=size, allow_extra_data=False
        )
    except zstandard.ZstdError:
        return None
    return plain if len(plain) == size else None


# --------------------------------------------------------------------------- wire format


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _send(fd: int, obj: Any) -> None:
    payload = marshal.dumps(obj)
    _write_all(fd, _HEADER.pack(len(payload)) + payload)


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _recv(fd: int) -> object:
    """The next message, or ``None`` at end of stream."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(head)[0])
    return None if body is None else marshal.loads(body)


# --------------------------------------------------------------------------- child side


def _store(src: int, dctx: object, job: Job, zst: bool, tmp_suffix: str) -> Stored | None:
    offset, size, crc, target, form = job
    data = os.pread(src, size, offset)
    if len(data) != size or zlib.crc32(data) != crc:
        return None
    if zst:
        plain = one_frame(data, dctx, ONE_SHOT_MAX)
        if plain is None:
            return None
        stored = plain if form == "plain" else data
    elif form == "plain":
        plain = stored = data
    else:
        return None  # compressing is the caller's job
    import hashlib  # loads OpenSSL: only callers that hash pay for it

    sha1 = base64.b64encode(hashlib.sha1(plain, usedforsecurity=False).digest()).decode()
    final = target + _SUFFIX[form]
    folder, name = os.path.split(final)
    tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}{tmp_suffix}")
    try:
        fd = os.open(tmp, _FLAGS, 0o666)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, _FLAGS, 0o666)
    try:
        try:
            _write_all(fd, stored)
            mtime_ns = os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return sha1, len(plain), len(stored), mtime_ns


def serve(rfd: int, wfd: int, tmp_suffix: str, parent: int) -> None:
    """The child's loop: one reply per batch, until end of input or the parent's death.

    ``parent`` is the caller's pid as the caller saw it (it may be dead before we start).
    """
    dctx = zstandard.ZstdDecompressor()
    spool_path: str | None = None
    spool = -1
    try:
        while True:
            msg = _recv(rfd)
            if msg is None:
                return
            path: str | None
            source_form: str
            jobs: list[Job]
            path, source_form, jobs = msg  # type: ignore[misc]
            if path is None or path != spool_path:
                if spool >= 0:
                    os.close(spool)
                spool, spool_path = -1, None
                if path is None:  # "close the spool": the caller is done with that zip
                    continue
                try:
                    spool, spool_path = (
                        os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)),
                        path,
                    )
                except OSError:
                    pass
            results: list[Stored | None] = []
            for job in jobs:
                if os.getppid() != parent:
                    return  # the caller died: stop at a file boundary
                try:
                    done = _store(spool, dctx, job, source_form == "zst", tmp_suffix)
                except Exception:
                    done = None
                results.append(done)
            _send(wfd, results)
    finally:
        if spool >= 0:
            os.close(spool)


# --------------------------------------------------------------------------- parent side


class WriterProcess:
    """A child process storing small data files (see the module docstring).

    Send batches with :meth:`send`; :meth:`receive` returns the results of the oldest batch
    not yet received, one per job, in order: a :data:`Stored` tuple or ``None`` ("store this
    one yourself"). Keep at most two batches in flight. When the child is gone, :meth:`send`
    and :meth:`receive` return ``False`` / ``None`` and :attr:`alive` turns false; the caller
    then stores the affected files itself (writing a file twice is harmless: each write is
    atomic and has the same content).
    """

    def __init__(self, proc: subprocess.Popen[bytes], tmp_suffix: str) -> None:
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self._in = proc.stdin.fileno()
        self._out = proc.stdout.fileno()
        self._tmp_suffix = tmp_suffix
        # final paths of the batches sent and not yet answered, oldest first
        self._unanswered: collections.deque[list[str]] = collections.deque()
        self.alive = True

    @staticmethod
    def usable() -> bool:
        """Whether a helper can help here: a second usable core, and an interpreter to run it
        (a frozen app's executable is the app, not Python)."""
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        return (
            cores > 1
            and bool(sys.executable)
            and zstandard is not None
            and not getattr(sys, "frozen", False)
        )

    @classmethod
    def start(cls, tmp_suffix: str) -> WriterProcess | None:
        """Start the child; ``None`` when it cannot run here (see :meth:`usable`)."""
        if not cls.usable():
            return None
        import subprocess

        zstd_dir = os.path.dirname(os.path.dirname(os.path.abspath(zstandard.__file__ or "")))
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    os.path.abspath(__file__),
                    zstd_dir,
                    tmp_suffix,
                    str(os.getpid()),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        except OSError:
            return None
        return cls(proc, tmp_suffix)

    def send(self, zip_path: str, source_form: str, jobs: list[Job]) -> bool:
        """Queue a batch (at most :data:`MAX_BATCH` jobs) of members of ``zip_path``."""
        if not self.alive:
            return False
        self._unanswered.append([job[3] + _SUFFIX.get(job[4], "") for job in jobs])
        try:
            _send(self._in, (zip_path, source_form, jobs))
        except OSError:
            self._gone()
        return self.alive

    def release(self) -> None:
        """Tell the child to close the zip it reads (the caller is about to delete it)."""
        if self.alive:
            try:
                _send(self._in, (None, None, []))
            except OSError:
                self.alive = False

    def receive(self) -> list[Stored | None] | None:
        """Results of the oldest batch sent, or ``None`` when the child is gone."""
        if not self.alive:
            return None
        try:
            msg = _recv(self._out)
        except (OSError, ValueError, EOFError):
            msg = None
        if not isinstance(msg, list):
            self._gone()
            return None
        self._unanswered.popleft()
        return msg

    def _gone(self) -> None:
        """The child died or misbehaved: make sure it is dead, then remove its temp files.

        Its unanswered files are the caller's to store again; a temp file of one it was
        writing when it died would otherwise stay in the tree until the next run.
        """
        self.alive = False
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        folders: dict[str, set[str]] = {}
        while self._unanswered:
            for final in self._unanswered.popleft():
                folder, name = os.path.split(final)
                folders.setdefault(folder, set()).add(name)
        suffix = self._tmp_suffix
        for folder, targets in folders.items():
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                # ".<target name>.<random hex><suffix>"
                if not (name.startswith(".") and name.endswith(suffix)):
                    continue
                cut = name.rfind(".", 0, len(name) - len(suffix))
                if cut > 1 and name[1:cut] in targets:
                    try:
                        os.unlink(os.path.join(folder, name))
                    except OSError:
                        pass

    def close(self) -> None:
        """End the child (it finishes the batch in hand) and reap it."""
        self.alive = False
        for pipe in (self._proc.stdin, self._proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()
            self._proc.wait()


def _main(argv: list[str]) -> None:  # pragma: no cover - runs in the child
    global zstandard
    sys.path.insert(0, argv[1])
    import zstandard as _zstd

    zstandard = _zstd
    serve(sys.stdin.fileno(), sys.stdout.fileno(), argv[2], int(argv[3]))


if __name__ == "__main__":  # pragma: no cover - the child
    _main(sys.argv)
