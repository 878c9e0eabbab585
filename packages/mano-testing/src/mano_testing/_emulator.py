"""The :class:`Emulator`: a running emulated Beiwe server you can inspect and mutate."""

from __future__ import annotations

import logging
import random
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Literal

from mano_testing._errors import EmulatorStateError, InvalidOptionError, UnknownFileError
from mano_testing._faults import Faults
from mano_testing._server import EmulatorServer, RequestRecord, ServerState
from mano_testing._store import DEFAULT_CACHE_BYTES, BlobStore
from mano_testing._surveys import Delivery as SurveyDelivery
from mano_testing._synth import (
    ALL_DATA_STREAMS,
    CHUNKED_STREAMS,
    DEFAULT_START,
    IOS,
    UNCHUNKED_STREAMS,
    FileSpec,
    _spec,
    build_world,
    hash_key_name,
)

__all__ = ["Emulator", "SyntheticFile"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyntheticFile:
    """A snapshot of one stored file as the server would serve it.

    A snapshot keeps the content it was taken with: after :meth:`Emulator.late_data` rewrites
    the file, an old snapshot still returns the old bytes; call :meth:`Emulator.files` again
    for the new version.

    Attributes:
        zip_name: v1 member name (docs/beiwe-server.md#member-names), before any ``_2`` collision suffix; the v2
            member name is ``zip_name + ".zst"``.
        storage_path: Registry key (docs/beiwe-server.md#storage-paths), ``CHUNKED_DATA/...`` for chunked streams.
        stream: Data stream (zip folder name).
        participant: Patient id.
        survey_id: Survey object id for survey answers/timings and audio, else None.
        time_bin: Aware UTC datetime (hour start for chunked streams).
        study_id: Study object id.
        generation: 0 for the original file, +1 per late-data rewrite.
    """

    zip_name: str
    storage_path: str
    stream: str
    participant: str
    survey_id: str | None
    time_bin: datetime
    study_id: str
    generation: int
    _spec: FileSpec = field(repr=False, compare=False)
    _store: BlobStore = field(repr=False, compare=False)

    def data(self) -> bytes:
        """Plain (decompressed) content: the bytes of a v1 member."""
        return self._store.plain(self._spec, self.generation)

    def zst(self) -> bytes:
        """Stored zstd content: the bytes of a v2 member (one frame, content size set)."""
        return self._store.zst(self._spec, self.generation)

    @property
    def sha1_b64(self) -> str:
        """base64 SHA-1 of the plain content (28 chars), the registry value after a registry."""
        return self._store.meta(self._spec, self.generation).sha1_b64

    @property
    def md5_b64(self) -> str:
        """base64 MD5 of the plain content (24 chars), the chunk hash."""
        return self._store.meta(self._spec, self.generation).md5_b64

    @property
    def size(self) -> int:
        """Plain content size in bytes."""
        return self._store.meta(self._spec, self.generation).plain_size

    @property
    def chunked(self) -> bool:
        """True for hourly chunked streams."""
        return self.stream in CHUNKED_STREAMS

    @property
    def v2_name(self) -> str:
        """Member name in a get-data/v2 zip."""
        return self.zip_name + ".zst"

    @property
    def registry_value(self) -> str:
        """Value in a registry answered to a request without a registry (MD5 or "")."""
        return self.md5_b64 if self.chunked else ""

    @property
    def hash_key(self) -> str:
        """Key of this file in get-participant-file-hashes (``T`` separator, no ``.zst``)."""
        folder, _, base = self.zip_name.rpartition("/")
        return f"{folder}/{hash_key_name(self.time_bin)}.{base.rpartition('.')[2]}"


class Emulator:
    """An emulated Beiwe server with a deterministic synthetic study, in a background thread.

    Use as a context manager (or call :meth:`start` / :meth:`stop`)::

        with Emulator(participants=3, days=2, seed=7) as emu:
            requests.post(emu.url + "/get-studies/v1", data={"access_key": emu.access_key,
                                                             "secret_key": emu.secret_key})

    Args:
        participants: Non-deleted participants of the main study (even index: Android, odd:
            iOS; with 4+ participants the third stops early, with 3+ the last has no data).
        days: Days of data from ``start``.
        seed: Everything (ids, keys, files, bytes) derives from it; same seed, same bytes.
        profile: ``"current"`` reproduces the deployed server (file-hashes answers 500);
            ``"fixed"`` answers file-hashes with base64 SHA-1 values.
        faults: A faults string or :class:`Faults` (see :mod:`mano_testing._faults`).
        data_dir: Folder to persist rendered objects in (bounded memory for big studies,
            reused across runs with the same seed and scale).
        host: Interface to bind.
        port: Port; 0 picks a free one.
        v2: When False, ``/get-data/v2`` answers Django's 404 page like an older server.
        scale: Multiplies rows per file (1.0: small files; 100: ~100x bigger).
        shuffle: Randomise member order per response like the real server; False gives the
            stable (participant, stream, time) order.
        edge_cases: Add colliding names (``_2``), a legacy ``unknown_survey_id`` chunk and a
            fractional-seconds name to the first participant.
        deleted_participants: Extra deleted participants in the main study.
        start: First day of data (aware UTC datetime at midnight).
        cache_bytes: Memory budget for cached zstd objects (in front of ``data_dir`` if given).
        auth_iterations: PBKDF2-SHA256 iterations per authenticated request (the real server
            uses 310,000, about 0.1-0.3 s of CPU; the default keeps tests fast).
        https_redirect: Answer every request with 301 to ``https://`` like a production
            server reached over plain http.
    """

    def __init__(
        self,
        *,
        participants: int = 5,
        days: int = 14,
        seed: int = 1,
        profile: Literal["current", "fixed"] = "current",
        faults: str | Faults | None = None,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        v2: bool = True,
        scale: float = 1.0,
        shuffle: bool = True,
        edge_cases: bool = False,
        deleted_participants: int = 0,
        start: datetime = DEFAULT_START,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        auth_iterations: int = 1000,
        https_redirect: bool = False,
    ) -> None:
        if participants < 0 or days < 0 or deleted_participants < 0:
            raise InvalidOptionError(
                "participants, days and deleted_participants must not be negative"
            )
        if profile not in ("current", "fixed"):
            raise InvalidOptionError(f"profile must be 'current' or 'fixed', not {profile!r}")
        if not scale > 0:
            raise InvalidOptionError(f"scale must be a positive number, not {scale!r}")
        if auth_iterations < 1:
            raise InvalidOptionError("auth_iterations must be at least 1")
        active_faults = faults if isinstance(faults, Faults) else Faults(faults)
        world = build_world(
            participants=participants,
            days=days,
            seed=seed,
            scale=scale,
            start=start,
            edge_cases=edge_cases,
            deleted_participants=deleted_participants,
            auth_iterations=auth_iterations,
        )
        store = BlobStore(
            world,
            data_dir=Path(data_dir) if data_dir is not None else None,
            cache_bytes=cache_bytes,
        )
        self._state = ServerState(
            world=world,
            store=store,
            faults=active_faults,
            profile=profile,
            v2=v2,
            shuffle=shuffle,
            https_redirect=https_redirect,
        )
        self._host, self._port = host, port
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._late = random.Random(f"{seed}:late")
        main = world.studies[world.main_study]
        self.study_id: str = main.object_id
        self.study_name: str = main.name
        self.keys: dict[str, tuple[str, str]] = dict(world.keys)
        self.access_key, self.secret_key = world.keys["default"]
        self.participants: list[str] = sorted(
            p.patient_id for p in main.participants if not p.deleted
        )
        self.deleted_participants: list[str] = sorted(
            p.patient_id for p in main.participants if p.deleted
        )
        default = world.researchers[self.access_key]
        self.studies: dict[str, str] = {
            s.object_id: s.name
            for s in world.studies.values()
            if s.object_id in default.studies and not s.deleted
        }
        self.seed = seed

    def __repr__(self) -> str:
        return f"<Emulator {self.url if self._server else '(stopped)'} study={self.study_id}>"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise EmulatorStateError("the emulator is already running")
        self._server = EmulatorServer((self._host, self._port), self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"mano-emulator-{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("emulator serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI uses this)."""
        if self._server is None:
            self._server = EmulatorServer((self._host, self._port), self._state)
        self._server.serve_forever(poll_interval=0.2)

    def bind(self) -> None:
        """Bind the socket without serving yet (so :attr:`url` is known)."""
        if self._server is None:
            self._server = EmulatorServer((self._host, self._port), self._state)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- connection facts ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:41234``."""
        if self._server is None:
            raise EmulatorStateError("the emulator is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def credentials(self) -> dict[str, str]:
        """The default researcher as a keyring-section dict (``URL``, ``ACCESS_KEY``, ``SECRET_KEY``)."""
        return {"URL": self.url, "ACCESS_KEY": self.access_key, "SECRET_KEY": self.secret_key}

    @property
    def profile(self) -> str:
        """``"current"`` or ``"fixed"``."""
        return self._state.profile

    @property
    def start_date(self) -> datetime:
        """First day of data."""
        return self._state.world.start

    @property
    def days(self) -> int:
        """Days of data."""
        return self._state.world.days

    def participant_os(self, participant: str) -> str:
        """``"ANDROID"`` or ``"IOS"``."""
        try:
            return self._state.world.participants[participant].os_type
        except KeyError:
            raise UnknownFileError(f"no participant {participant!r}") from None

    def survey_deliveries(self, participant: str | None = None) -> list[SurveyDelivery]:
        """Every scheduled delivery of a tracking survey and what came of it (ground truth).

        Each :class:`SurveyDelivery` says when the survey was sent, opened (or never) and
        submitted (or never), the final answers and the survey_timings rows the phone wrote.

        Args:
            participant: Only this patient id (default: every participant of the main study).
        """
        world = self._state.world
        if participant is not None and participant not in world.participants:
            raise UnknownFileError(f"no participant {participant!r}")
        pids = [participant] if participant else self.participants
        return [d for pid in pids for d in world.deliveries.get(pid, [])]

    # -- files --------------------------------------------------------------------------------

    def files(
        self,
        participant: str | None = None,
        stream: str | None = None,
        *,
        study: str | None = None,
    ) -> list[SyntheticFile]:
        """Files currently stored (and downloadable), sorted by participant, stream, time.

        Args:
            participant: Only this patient id (any study).
            stream: Only this data stream.
            study: Study object id when ``participant`` is None (default: the main study).

        Raises:
            UnknownFileError: Unknown participant or stream.
        """
        state = self._state
        world = state.world
        if stream is not None and stream not in ALL_DATA_STREAMS:
            raise UnknownFileError(f"unknown data stream {stream!r}")
        if participant is not None:
            if participant not in world.participants:
                raise UnknownFileError(f"no participant {participant!r}")
            pids = [participant]
        else:
            sid = study or self.study_id
            if sid not in world.studies:
                raise UnknownFileError(f"no study {sid!r}")
            pids = sorted(p.patient_id for p in world.studies[sid].participants)
        streams = sorted(ALL_DATA_STREAMS) if stream is None else [stream]
        out: list[SyntheticFile] = []
        with state.lock:
            for spec in world.query(pids, streams, None, None):
                if spec.storage_path in state.missing:
                    continue
                out.append(self._snapshot(spec, state.generation(spec.storage_path)))
        return out

    def _snapshot(self, spec: FileSpec, generation: int) -> SyntheticFile:
        return SyntheticFile(
            zip_name=spec.zip_name,
            storage_path=spec.storage_path,
            stream=spec.stream,
            participant=spec.participant,
            survey_id=spec.survey_id,
            time_bin=spec.time_bin,
            study_id=spec.study_id,
            generation=generation,
            _spec=spec,
            _store=self._state.store,
        )

    def prerender(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Render, compress and hash every file of every study now (else on first request).

        Useful before timing downloads; with ``data_dir`` the work is kept for later runs.

        Args:
            progress: Called as ``progress(done, total)`` every 500 files and at the end.

        Returns:
            Total bytes of the stored (zstd) objects.
        """
        state = self._state
        with state.lock:
            todo = [(spec, state.generation(path)) for path, spec in state.world.files.items()]
        total = 0
        for done, (spec, generation) in enumerate(todo, 1):
            total += state.store.meta(spec, generation).zst_size
            if progress is not None and (done % 500 == 0 or done == len(todo)):
                progress(done, len(todo))
        return total

    def late_data(
        self, participant: str | None = None, count: int = 3, *, age_days: float | None = None
    ) -> list[str]:
        """Rewrite ``count`` existing hourly chunks with late-arriving rows.

        The files keep their names and storage paths but get new rows, so new content, new
        MD5 and SHA-1 (as the server's chunk merger does when late uploads arrive); the
        statistics of their days change with their sizes, as the server's do.

        Args:
            participant: Only chunks of this participant (default: any in the main study).
            count: How many chunks to rewrite.
            age_days: Rewrite the chunks of the latest hour with data at least this many days
                before the participant's newest data (an hour older than any re-check window)
                instead of random ones; with ``participant=None`` the first participant with
                data is used.

        Returns:
            The v1 zip names of the rewritten files, sorted.
        """
        candidates = [f for f in self.files(participant) if f.chunked]
        if participant is None:
            candidates = [f for f in candidates if f.study_id == self.study_id]
        if not candidates:
            raise UnknownFileError("no hourly chunk to rewrite")
        if age_days is None:
            chosen = self._late.sample(candidates, min(count, len(candidates)))
        else:
            pid = candidates[0].participant
            limit = self._newest(pid) - timedelta(days=age_days)
            older = [f for f in candidates if f.participant == pid and f.time_bin <= limit]
            if not older:
                raise UnknownFileError(
                    f"{pid} has no hourly chunk {age_days} days before its newest data"
                )
            hour = max(f.time_bin for f in older)
            chosen = [f for f in older if f.time_bin == hour][:count]
        with self._state.lock:
            for f in chosen:
                self._state.generations[f.storage_path] = f.generation + 1
            self._state.changed()
        return sorted(f.zip_name for f in chosen)

    def _newest(self, participant: str) -> datetime:
        """Time bin of the participant's newest stored file."""
        newest = max((f.time_bin for f in self.files(participant)), default=None)
        if newest is None:
            raise UnknownFileError(f"{participant} has no data")
        return newest

    def late_upload(
        self,
        participant: str | None = None,
        stream: str = "survey_answers",
        age_days: float = 10,
        count: int = 1,
        *,
        twice: bool = False,
    ) -> list[str]:
        """Add unchunked files that a phone uploads late, as the server receives them.

        An unchunked file's time bin is its creation time on the phone (whole seconds), so a
        backlog uploaded after days offline lands in old time bins. The server stores it
        under its raw upload path and does not touch summary statistics or data quantities
        (its statistics come from chunked data only), so nothing but the file itself shows
        that it arrived.

        Args:
            participant: The patient id (default: the first participant of the main study
                with data).
            stream: ``"survey_answers"``, ``"audio_recordings"`` or ``"ambient_audio"``.
            age_days: How many days before the participant's newest data the files were
                created (more than the data's span puts them before its first day).
            count: Files to add, one minute apart.
            twice: Each file is submitted twice in the same second (two storage paths, one
                zip name: the server serves the second as ``_2``).

        Returns:
            The v1 zip names of the new files, sorted (a name twice with ``twice``).

        Raises:
            UnknownFileError: Unknown participant, a participant without data or (for
                survey answers and audio) without such a survey, or a chunked stream.
        """
        if stream not in UNCHUNKED_STREAMS:
            raise UnknownFileError(
                f"late_upload adds unchunked files ({', '.join(sorted(UNCHUNKED_STREAMS))}); "
                f"use late_data for {stream!r}"
            )
        state = self._state
        world = state.world
        if participant is None:
            with_data = [p for p in self.participants if self.files(p)]
            if not with_data:
                raise UnknownFileError("no participant has data")
            participant = with_data[0]
        if participant not in world.participants:
            raise UnknownFileError(f"no participant {participant!r}")
        person = world.participants[participant]
        study = world.studies[person.study_id]
        survey_id: str | None = None
        rows, ext = 16, "mp4"
        if stream != "ambient_audio":
            kind = "tracking_survey" if stream == "survey_answers" else "audio_survey"
            surveys = [x for x in study.surveys if x.survey_type == kind and not x.deleted]
            if not surveys:
                raise UnknownFileError(f"the study of {participant} has no {kind}")
            survey_id = surveys[0].object_id
            if stream == "survey_answers":
                rows, ext = len(surveys[0].questions), "csv"
            else:
                ext = "mp4" if person.os_type == IOS else "wav"
        rows = max(1, round(rows * (world.scale if stream != "survey_answers" else 1)))
        first = self._newest(participant) - timedelta(days=age_days)
        first = first.replace(microsecond=0) + timedelta(seconds=self._late.randrange(3600))
        new: list[FileSpec] = []
        with state.lock:
            for i in range(count):
                second = int(first.timestamp()) + 60 * i
                time_bin = datetime.fromtimestamp(second, UTC)
                for copy in range(2 if twice else 1):
                    t_ms = second * 1000 + (117 if copy == 0 else 862)
                    spec = _spec(world, person, stream, time_bin, t_ms, survey_id, ext, rows)
                    if spec.storage_path in world.files:
                        continue
                    world.add_file(spec)
                    state.unstated.add(spec.storage_path)
                    new.append(spec)
            state.changed()
        return sorted(spec.zip_name for spec in new)

    def damage(self, zip_name: str, kind: str = "zstd") -> None:
        """Serve a file damaged until :meth:`repair`: ``"zstd"``, its stored object is no valid
        zstd frame (v2; the zip's CRC-32 matches the bad bytes); ``"crc"``, its bytes fail
        the CRC-32 the zip records (damaged on the way). The rest of every zip stays sound."""
        if kind not in ("zstd", "crc"):
            raise InvalidOptionError(f"damage kind must be 'zstd' or 'crc', not {kind!r}")
        for f in self.files(study=None):
            if f.zip_name == zip_name:
                with self._state.lock:
                    self._state.damaged[f.storage_path] = kind
                return
        raise UnknownFileError(f"no file named {zip_name!r}")

    def repair(self) -> None:
        """Serve every damaged file intact again."""
        with self._state.lock:
            self._state.damaged.clear()

    def remove_object(self, zip_name: str) -> None:
        """Make a file's stored object vanish (the server silently omits it, docs/beiwe-server.md#registry)."""
        for f in self.files(study=None):
            if f.zip_name == zip_name:
                with self._state.lock:
                    self._state.missing.add(f.storage_path)
                    self._state.changed()
                return
        raise UnknownFileError(f"no file named {zip_name!r}")

    # -- faults and hostile members ------------------------------------------------------------

    def set_faults(self, faults: str | Faults | None) -> None:
        """Replace the active faults (``None`` clears them); takes effect for the next request."""
        self._state.faults = faults if isinstance(faults, Faults) else Faults(faults)

    @property
    def faults(self) -> Faults:
        """The active fault rules."""
        return self._state.faults

    def add_hostile_member(self, name: str, data: bytes, *, bad_crc: bool = False) -> None:
        """Append a member with this exact name and content to every get-data zip (before the
        registry, not listed in it) to test clients against path traversal and junk.

        With ``bad_crc`` the zip records a CRC-32 that does not match the bytes (a member
        damaged in storage or on the way; the rest of the zip stays sound).
        """
        crc = (zlib.crc32(data) ^ 0xFFFFFFFF) if bad_crc else None
        with self._state.lock:
            self._state.hostile.append((name, bytes(data), crc))

    def clear_hostile_members(self) -> None:
        """Remove every hostile member."""
        with self._state.lock:
            self._state.hostile.clear()

    # -- request log --------------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of the answered requests, oldest first."""
        with self._state.lock:
            return list(self._state.log)

    def reset_log(self) -> None:
        """Forget the recorded requests."""
        with self._state.lock:
            self._state.log.clear()
