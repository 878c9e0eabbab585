"""``python -m mano_testing serve ...``: run the emulator until interrupted.

The first line on stdout is one JSON object with ``url``, ``access_key``, ``secret_key``,
``study_id``, ``study_name`` and ``participants`` so scripts can read it; logs go to stderr.

While it serves, each line written to its stdin is a command for the running study, one JSON
object naming an :class:`~mano_testing.Emulator` method and its keyword arguments::

    {"late_upload": {"stream": "survey_answers", "age_days": 100}}
    {"late_data": {"count": 2, "age_days": 100}}
    {"set_faults": {"faults": "5xx=2"}}
    {"reset_log": {}}

and gets one JSON line back on stdout: ``{"ok": <the method's result>}`` or
``{"error": "<message>"}``. A test in another process changes the server's data this way.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from mano_testing._emulator import Emulator
from mano_testing._errors import ManoTestingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mano_testing", description="A Beiwe Data Access API emulator."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a synthetic study until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    serve.add_argument("--participants", type=int, default=5, help="participants (default 5)")
    serve.add_argument("--days", type=int, default=14, help="days of data (default 14)")
    serve.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    serve.add_argument("--scale", type=float, default=1.0, help="rows-per-file multiplier")
    serve.add_argument(
        "--profile", choices=("current", "fixed"), default="current",
        help="current: file-hashes answers 500 like the deployed server; fixed: it works",
    )  # fmt: skip
    serve.add_argument("--faults", default=None, help='e.g. "5xx=2,reset=1,get-studies:slow=1"')
    serve.add_argument("--data-dir", default=None, help="persist rendered objects here")
    serve.add_argument("--no-v2", action="store_true", help="answer 404 on /get-data/v2")
    serve.add_argument(
        "--edge-cases", action="store_true", help="add _2 collisions and legacy names"
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    return parser


def _commands(emu: Emulator) -> dict[str, Callable[..., Any]]:
    return {
        "late_upload": emu.late_upload,
        "late_data": emu.late_data,
        "remove_object": emu.remove_object,
        "damage": emu.damage,
        "repair": emu.repair,
        "set_faults": emu.set_faults,
        "reset_log": emu.reset_log,
    }


def _answer(emu: Emulator, line: str) -> dict[str, Any]:
    """Run one stdin command line (see the module docstring)."""
    try:
        command = json.loads(line)
        if not isinstance(command, dict) or len(command) != 1:
            raise ValueError("a command is one JSON object with one key, the method's name")
        ((name, kwargs),) = command.items()
        method = _commands(emu).get(name)
        if method is None:
            raise ValueError(f"unknown command {name!r}; choose from {sorted(_commands(emu))}")
        if not isinstance(kwargs, dict):
            raise ValueError(f"the arguments of {name!r} must be a JSON object")
        return {"ok": method(**kwargs)}
    except (ManoTestingError, ValueError, TypeError) as exc:
        return {"error": str(exc)}


def _read_commands(emu: Emulator, source: TextIO, sink: TextIO) -> None:
    """Answer commands from ``source`` until it ends (a daemon thread of ``serve``)."""
    for line in source:
        if line.strip():
            print(json.dumps(_answer(emu, line)), file=sink, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        emu = Emulator(
            participants=args.participants,
            days=args.days,
            seed=args.seed,
            scale=args.scale,
            profile=args.profile,
            faults=args.faults,
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            v2=not args.no_v2,
            edge_cases=args.edge_cases,
        )
        emu.bind()
    except (ManoTestingError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = {
        "url": emu.url,
        "access_key": emu.access_key,
        "secret_key": emu.secret_key,
        "study_id": emu.study_id,
        "study_name": emu.study_name,
        "participants": emu.participants,
    }
    print(json.dumps(info), flush=True)
    threading.Thread(target=_read_commands, args=(emu, sys.stdin, sys.stdout), daemon=True).start()
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
