"""An incremental parser for a top-level JSON array arriving in chunks.

Histories and summary statistics can be hundreds of megabytes; this yields one element at a
time while holding only the unparsed tail of the text (plus one element) in memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["JSONStreamError", "iter_json_array"]

_WHITESPACE = " \t\n\r"
_DELIMITERS = _WHITESPACE + ",]"
_TRIM_AT = 1 << 16


class JSONStreamError(ValueError):
    """The text is not a JSON array (or ends before the array does)."""


def iter_json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield the elements of the JSON array spread over ``chunks`` (UTF-8 bytes).

    Raises:
        JSONStreamError: the text is not one JSON array, or it ends early.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    source = iter(chunks)
    buf = ""
    pos = 0
    eof = False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        for chunk in source:
            if chunk:
                if pos > _TRIM_AT:
                    buf = buf[pos:]
                    pos = 0
                buf += utf8.decode(chunk)
                return True
        buf += utf8.decode(b"", final=True)
        eof = True
        return False

    def skip_ws() -> bool:
        """Advance past whitespace; False at end of input."""
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            if pos < len(buf):
                return True
            if not more():
                return False

    if not skip_ws():
        raise JSONStreamError("empty response where a JSON list was expected")
    if buf[pos] != "[":
        raise JSONStreamError(
            f"expected a JSON list, the response starts with {buf[pos : pos + 40]!r}"
        )
    pos += 1
    first = True
    while True:
        if not skip_ws():
            raise JSONStreamError("the JSON list ended early (connection cut?)")
        if buf[pos] == "]":
            pos += 1
            if skip_ws():
                raise JSONStreamError(
                    f"unexpected data after the JSON list: {buf[pos : pos + 40]!r}"
                )
            return
        if not first:
            if buf[pos] != ",":
                raise JSONStreamError(
                    f"expected ',' in the JSON list, found {buf[pos : pos + 40]!r}"
                )
            pos += 1
            if not skip_ws():
                raise JSONStreamError("the JSON list ended early (connection cut?)")
        first = False
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if more():
                    continue
                raise JSONStreamError(f"invalid JSON in the list: {exc.msg}") from None
            # A number is only complete once a delimiter follows it ("-4" may be "-4.5e3").
            if (
                isinstance(value, int | float)
                and (end == len(buf) or buf[end] not in _DELIMITERS)
                and more()
            ):
                continue
            break
        pos = end
        yield value
