"""A streaming ZIP_STORED writer like the server's ``libs/streaming_zip.py`` (docs/beiwe-server.md#zip-layout).

Local headers carry the real CRC-32 and sizes (general-purpose flag 0, no data descriptors), so
members can be parsed incrementally; ZIP64 extra fields and end records appear only when sizes,
offsets or the entry count need them; entries are Unix mode 0600 with the generation time.
"""

from __future__ import annotations

import struct
from datetime import datetime

__all__ = ["EMPTY_ZIP", "ZipBuilder"]

_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
#: The 22-byte empty zip (end of central directory only).
EMPTY_ZIP = b"PK\x05\x06" + b"\x00" * 18


def _dos_time(when: datetime) -> tuple[int, int]:
    year = max(when.year, 1980)
    date = ((year - 1980) << 9) | (when.month << 5) | when.day
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    return time, date


class ZipBuilder:
    """Produces the bytes around member data; the caller writes the member data itself.

    Usage: ``out(builder.local_header(name, crc, size)); out(data)`` per member, then
    ``out(builder.central_directory())``.
    """

    def __init__(self, when: datetime) -> None:
        self._time, self._date = _dos_time(when)
        self.offset = 0
        self._central: list[bytes] = []

    @property
    def count(self) -> int:
        """Members written so far."""
        return len(self._central)

    def local_header(self, name: str, crc: int, size: int) -> bytes:
        """Local file header for a stored member; advances the offset past header and data."""
        raw = name.encode("utf-8")
        flags = 0 if raw.isascii() else 0x800
        zip64 = size >= _U32
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        version = 45 if zip64 else 20
        small = _U32 if zip64 else size
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            flags,
            0,
            self._time,
            self._date,
            crc & _U32,
            small,
            small,
            len(raw),
            len(extra),
        )
        offset = self.offset
        central_extra_fields: list[int] = []
        if zip64:
            central_extra_fields += [size, size]
        if offset >= _U32:
            central_extra_fields.append(offset)
        central_extra = (
            struct.pack("<HH", 1, 8 * len(central_extra_fields))
            + struct.pack(f"<{len(central_extra_fields)}Q", *central_extra_fields)
            if central_extra_fields
            else b""
        )
        cversion = 45 if central_extra else 20
        self._central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | cversion,
                cversion,
                flags,
                0,
                self._time,
                self._date,
                crc & _U32,
                small,
                small,
                len(raw),
                len(central_extra),
                0,
                0,
                0,
                (0o100600 << 16),
                min(offset, _U32),
            )
            + raw
            + central_extra
        )
        out = header + raw + extra
        self.offset += len(out) + size
        return out

    def central_directory(self) -> bytes:
        """Central directory and end records (ZIP64 ones when needed)."""
        body = b"".join(self._central)
        start, size, count = self.offset, len(body), len(self._central)
        tail = b""
        if count >= _U16 or start >= _U32 or size >= _U32:
            eocd64_offset = start + size
            tail += struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count, size, start
            )
            tail += struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
        tail += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            min(count, _U16),
            min(count, _U16),
            min(size, _U32),
            min(start, _U32),
            0,
        )
        return body + tail
