"""Rendered file objects: hashes, sizes, CRCs and the zstd bytes, cached in memory or on disk.

Every stored file is identified by ``(storage_path, generation)``. Its metadata (sizes, CRC-32s,
MD5, SHA-1) is kept for every object ever rendered (a few hundred bytes each); the zstd bytes are
kept in a bounded LRU cache in memory, or written to ``data_dir`` when one is given, so memory
stays bounded for multi-GB studies. Evicted objects are re-rendered (deterministic) when needed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import zstandard

from mano_testing._synth import FileSpec, World, render

__all__ = ["Blob", "BlobStore"]

logger = logging.getLogger(__name__)

#: Bump when rendering changes so stale ``data_dir`` objects are not reused.
FORMAT_VERSION = "4"
ZSTD_LEVEL = 2
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Blob:
    """Metadata of one rendered object."""

    plain_size: int
    plain_crc: int
    md5_b64: str
    sha1_b64: str
    zst_size: int
    zst_crc: int


class BlobStore:
    """Renders, hashes and caches file objects; thread-safe."""

    def __init__(
        self,
        world: World,
        *,
        data_dir: Path | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._meta: dict[tuple[str, int], Blob] = {}
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._cached = 0
        self._cache_limit = cache_bytes
        self._local = threading.local()
        self._data_dir = data_dir
        self._index_path: Path | None = None
        self._disk: dict[str, Blob] = {}
        if data_dir is not None:
            (data_dir / "objects").mkdir(parents=True, exist_ok=True)
            self._index_path = data_dir / "index.tsv"
            self._load_index()

    # -- disk -------------------------------------------------------------------------------

    def _digest(self, key: tuple[str, int]) -> str:
        text = f"{FORMAT_VERSION}|{self._world.seed}|{self._world.scale!r}|{key[0]}|{key[1]}"
        return hashlib.sha1(text.encode()).hexdigest()

    def _object_path(self, digest: str) -> Path:
        assert self._data_dir is not None
        return self._data_dir / "objects" / digest[:2] / f"{digest}.zst"

    def _load_index(self) -> None:
        assert self._index_path is not None
        if not self._index_path.exists():
            return
        with self._index_path.open(encoding="ascii") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 7:
                    continue  # a torn last line from an interrupted run
                digest, psize, pcrc, md5, sha1, zsize, zcrc = parts
                self._disk[digest] = Blob(int(psize), int(pcrc), md5, sha1, int(zsize), int(zcrc))

    def _save(self, digest: str, blob: Blob, zst: bytes) -> None:
        path = self._object_path(digest)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(zst)
        os.replace(tmp, path)
        assert self._index_path is not None
        line = (
            f"{digest}\t{blob.plain_size}\t{blob.plain_crc}\t{blob.md5_b64}\t{blob.sha1_b64}"
            f"\t{blob.zst_size}\t{blob.zst_crc}\n"
        )
        with self._lock, self._index_path.open("a", encoding="ascii") as fh:
            fh.write(line)
            self._disk[digest] = blob

    # -- rendering --------------------------------------------------------------------------

    def _compressor(self) -> zstandard.ZstdCompressor:
        comp = getattr(self._local, "comp", None)
        if comp is None:
            comp = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
            self._local.comp = comp
        return comp

    def _build(self, spec: FileSpec, generation: int) -> tuple[Blob, bytes, bytes]:
        plain = render(spec, generation, self._world)
        zst = self._compressor().compress(plain)
        blob = Blob(
            plain_size=len(plain),
            plain_crc=zlib.crc32(plain),
            md5_b64=base64.b64encode(hashlib.md5(plain).digest()).decode(),
            sha1_b64=base64.b64encode(hashlib.sha1(plain).digest()).decode(),
            zst_size=len(zst),
            zst_crc=zlib.crc32(zst),
        )
        return blob, plain, zst

    def _remember(self, key: tuple[str, int], zst: bytes) -> None:
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = zst
            self._cached += len(zst)
            while self._cached > self._cache_limit and self._cache:
                _, old = self._cache.popitem(last=False)
                self._cached -= len(old)

    def meta(self, spec: FileSpec, generation: int) -> Blob:
        """Metadata of a file (renders it the first time)."""
        key = (spec.storage_path, generation)
        blob = self._meta.get(key)
        if blob is not None:
            return blob
        if self._data_dir is not None:
            digest = self._digest(key)
            blob = self._disk.get(digest)
            if blob is not None and self._object_path(digest).exists():
                self._meta[key] = blob
                return blob
        blob, _, _ = self._materialise(spec, generation)
        return blob

    def _materialise(self, spec: FileSpec, generation: int) -> tuple[Blob, bytes, bytes]:
        key = (spec.storage_path, generation)
        blob, plain, zst = self._build(spec, generation)
        if self._data_dir is not None:
            self._save(self._digest(key), blob, zst)
        else:
            self._remember(key, zst)
        self._meta[key] = blob
        return blob, plain, zst

    def zst(self, spec: FileSpec, generation: int) -> bytes:
        """The stored (zstd) bytes of a file, a v2 member."""
        key = (spec.storage_path, generation)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        if self._data_dir is not None:
            # the same memory budget in front of the disk: opening one object file per member
            # was two thirds of the emulator's time serving a small-file study
            self.meta(spec, generation)
            path = self._object_path(self._digest(key))
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return self._materialise(spec, generation)[2]
            self._remember(key, data)
            return data
        return self._materialise(spec, generation)[2]

    def plain(self, spec: FileSpec, generation: int) -> bytes:
        """The decompressed bytes of a file, a v1 member."""
        key = (spec.storage_path, generation)
        if self._data_dir is None:
            with self._lock:
                cached = self._cache.get(key)
            if cached is None:
                return self._materialise(spec, generation)[1]
        else:
            cached = self.zst(spec, generation)
        dctx = getattr(self._local, "dctx", None)
        if dctx is None:
            dctx = self._local.dctx = zstandard.ZstdDecompressor()
        return bytes(dctx.decompress(cached))
