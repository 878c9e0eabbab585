"""The command line as users of the newest mano type it, rewritten into what Click parses.

Kept free of heavy imports (only ``re``): it runs before anything else on every invocation.

* Global options may come anywhere on the line, before or after the subcommand, as the newest
  mano documents (``mano compress DIR -8 --mt4 -y``): ``-y``/``--yes``, ``--mt N``,
  ``--mt=N``, ``--mtN``, ``--keyring``/``-k``, ``--keyring-file`` and ``-v``/``-q``. They are
  moved in front of the subcommand, where Click expects them. Nothing after ``--`` is touched.
* ``mano compress DIR -N`` (``-0`` … ``-22``) becomes ``--level N``; ``-0`` means zstd's
  default level (3).
"""

from __future__ import annotations

import re

__all__ = ["ArgvError", "ZSTD_DEFAULT_LEVEL", "normalise_argv"]

#: What ``-0`` means (zstd's own default level).
ZSTD_DEFAULT_LEVEL = 3

_FLAGS = re.compile(r"^(-y|--yes|-v+|--verbose|-q+|--quiet)$")
_WITH_VALUE = frozenset({"--mt", "--keyring", "-k", "--keyring-file"})
_INLINE = re.compile(r"^(--mt|--keyring|--keyring-file)=.*$")
_MT_GLUED = re.compile(r"^--mt(\d+)$")
_LEVEL = re.compile(r"^-(\d|1\d|2[0-2])$")


class ArgvError(ValueError):
    """The line cannot be read (e.g. the compression level given twice)."""


def _hoist(args: list[str]) -> tuple[list[str], list[str]]:
    """Split ``args`` into (global options, everything else), keeping each side's order."""
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        glued = _MT_GLUED.match(a)
        if glued:
            hoisted.extend(["--mt", glued.group(1)])
        elif _FLAGS.match(a) or _INLINE.match(a):
            hoisted.append(a)
        elif a in _WITH_VALUE and i + 1 < len(args):
            hoisted.extend([a, args[i + 1]])
            i += 1
        else:
            rest.append(a)
        i += 1
    return hoisted, rest


def _levels(rest: list[str]) -> list[str]:
    """``compress … -N`` → ``--level N`` (the first word that is no option is the command)."""
    command = next((k for k, a in enumerate(rest) if not a.startswith("-")), None)
    if command is None or rest[command] != "compress":
        return rest
    head, tail = rest[: command + 1], rest[command + 1 :]
    cut = tail.index("--") if "--" in tail else len(tail)
    tail, after = tail[:cut], tail[cut:]
    levels = [a for a in tail if _LEVEL.match(a)]
    if not levels:
        return rest
    if len(levels) > 1 or any(a in ("--level", "-l") or a.startswith("--level=") for a in tail):
        raise ArgvError("give the compression level once (-0 … -22 or --level N)")
    out: list[str] = []
    for a in tail:
        if _LEVEL.match(a):
            level = int(a[1:]) or ZSTD_DEFAULT_LEVEL
            out.extend(["--level", str(level)])
        else:
            out.append(a)
    return head + out + after


def normalise_argv(args: list[str]) -> list[str]:
    """The arguments (without the program name) rewritten for Click.

    Raises:
        ArgvError: the compression level is given twice.
    """
    hoisted, rest = _hoist(list(args))
    return hoisted + _levels(rest)
