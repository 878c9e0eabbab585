"""Plain option values without Pydantic: the start-up cost of every `mano` command.

Typer (0.2x) turns every option value through a Pydantic ``TypeAdapter``; importing Pydantic
and building the adapters costs more than the rest of ``mano``'s start-up together. Most of our
options are plain ``bool``, ``str``, ``int``, ``float`` and ``Path`` values (or lists of them), whose
conversion needs no schema. :func:`speed_up` gives such parameters a converter that handles
the unambiguous cases itself and hands everything else (bad numbers, out-of-range values,
enums, dates, path checks) to Typer's own converter, so messages and results stay Typer's.

Everything here leans on Typer internals (``_runtime_param``, ``type_descriptor``); when they
are missing, :func:`speed_up` changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, get_args, get_origin

__all__ = ["speed_up", "speed_up_param"]

#: ParameterInfo attributes and the values under which a parameter needs no special handling
_PLAIN_INFO: Final = {
    "parser": None,
    "click_type": None,
    "exists": False,
    "resolve_path": False,
    "allow_dash": False,
    "path_type": None,
    "file_okay": True,
    "dir_okay": True,
    "writable": False,
    "clamp": False,
}


class _Slow(Exception):
    """This value needs Typer's own converter."""


def _is_int(text: str) -> bool:
    """``[+-]?[0-9]+`` (anything else, even what ``int()`` accepts, is Typer's to judge)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


def _is_float(text: str) -> bool:
    """``[+-]?`` digits with at most one ``.`` (no exponent, no ``inf``/``nan``)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    whole, _dot, frac = digits.partition(".")
    return (
        bool(whole or frac)
        and digits.isascii()
        and (not whole or whole.isdigit())
        and (not frac or frac.isdigit())
    )


def _leaf(annotation: Any, info: Any) -> Any:
    """A converter ``value -> value`` for a leaf annotation, or None when it has none."""
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if annotation is bool:  # flags (their unset value is None, which Typer handles first)

        def to_bool(value: Any) -> Any:
            if isinstance(value, bool):
                return value
            raise _Slow

        return to_bool
    if annotation is str:
        if low is not None or high is not None:
            return None

        def to_str(value: Any) -> Any:
            if isinstance(value, str):
                return value
            raise _Slow

        return to_str
    if annotation is int or annotation is float:
        plain = _is_int if annotation is int else _is_float

        def to_number(value: Any) -> Any:
            if isinstance(value, str) and plain(value):
                number = annotation(value)
            elif type(value) is annotation:
                number = value
            else:
                raise _Slow
            if (low is not None and number < low) or (high is not None and number > high):
                raise _Slow  # Typer's message for an out-of-range value
            return number

        return to_number
    if annotation is Path:
        if low is not None or high is not None:
            return None

        def to_path(value: Any) -> Any:
            if isinstance(value, Path):
                return value
            if isinstance(value, str):
                return Path(value)
            raise _Slow

        return to_path
    return None


def _converter(annotation: Any, info: Any) -> Any:
    for name, plain in _PLAIN_INFO.items():
        if getattr(info, name, plain) != plain:
            return None
    if get_origin(annotation) is list:
        args = get_args(annotation)
        item = _leaf(args[0], info) if len(args) == 1 else None
        if item is None:
            return None

        def to_list(value: Any) -> Any:
            values = value if isinstance(value, list | tuple) else [value]
            return [item(v) for v in values]

        return to_list
    return _leaf(annotation, info)


def _runtime_param_class() -> Any:
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # another Typer: leave its parameters alone
        return None

    @dataclass(frozen=True)
    class FastRuntimeParam(RuntimeParam):
        convert: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value)
            except _Slow:
                slow = build_runtime_param(param.type_descriptor)
                param._runtime_param = slow  # this parameter goes Typer's way from now on
                return slow._coerce_value(value, param=param, ctx=ctx)

    return FastRuntimeParam


_CLASS: Any = None


def speed_up(command: Any, ctx: Any = None) -> None:
    """Give the plain parameters of ``command`` (and of its subcommands) fast converters.

    With the context the command will be invoked under (its parent's: the help option names
    are inherited), its ``--help`` option is included too.
    """
    params = list(getattr(command, "params", ()))
    if ctx is not None and hasattr(command, "get_help_option"):
        params.append(command.get_help_option(ctx))
    for param in params:
        speed_up_param(param)
    for sub in getattr(command, "commands", {}).values():
        speed_up(sub)


def speed_up_param(param: Any) -> None:
    """Give one Typer parameter a fast converter when its type is plain (else do nothing)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _runtime_param_class() or False
    descriptor = getattr(param, "type_descriptor", None)
    if _CLASS is False or descriptor is None or getattr(param, "_runtime_param", "") is not None:
        return
    if getattr(descriptor, "file_annotation", None) is not None:
        return
    info = descriptor.parameter_info
    convert = _converter(descriptor.annotation, info)
    if convert is not None:
        param._runtime_param = _CLASS(
            parameter_info=info, annotation=descriptor.annotation, convert=convert
        )
