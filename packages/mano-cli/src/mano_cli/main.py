"""The `mano` command: global options, error handling and command registration.

Every command is listed in :data:`COMMANDS` (one line each) and its module is imported only
when it runs or help lists it, so start-up pays for one command. Errors from any command reach
:class:`ManoGroup`, which turns them into one line on stderr and a documented exit code via
:func:`mano_cli._errors.classify` (the only mapping). ``-vv`` adds the traceback.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mano_cli._context import KEYRING_VAR, Settings, configure_logging, settings
from mano_cli._errors import EXIT_INTERRUPTED, EXIT_USAGE, classify, exit_code_epilog
from mano_cli._fastparams import speed_up, speed_up_param

logger = logging.getLogger(__name__)

# "mano": the compatibility package (the 0.6.0 / newest-mano Python API), when installed.
_DISTRIBUTIONS = (
    "mano-cli",
    "mano-auth",
    "mano-api",
    "mano-files",
    "mano-sync",
    "mano-testing",
    "mano",
)


#: Every command and group of ``mano``, in the order help lists them (groups last): name -> (module,
#: attribute). A command's module is imported only when that command runs or help lists it,
#: so ``mano decompress`` never loads the HTTP stack and ``mano --version`` loads no command.
#: An attribute holding a ``typer.Typer`` is a group (``mano keyring ...``).
COMMANDS: dict[str, tuple[str, str]] = {
    "studies": ("mano_cli.metadata", "studies"),
    "participants": ("mano_cli.metadata", "participants"),
    "settings": ("mano_cli.metadata", "study_settings"),
    "download": ("mano_cli.download", "download"),
    "sync": ("mano_cli.sync", "sync"),
    "compress": ("mano_cli.tree", "compress"),
    "decompress": ("mano_cli.tree", "decompress"),
    "lock": ("mano_cli.tree", "lock"),
    "unlock": ("mano_cli.tree", "unlock"),
    "verify": ("mano_cli.tree", "verify"),
    "report": ("mano_cli.report", "report"),
    # `mano report surveys DIR`: routed in ManoGroup.main, hidden from the command list
    "report surveys": ("mano_cli.report_surveys", "report_surveys"),
    "demo": ("mano_cli.sync", "demo"),
    "keyring": ("mano_cli.keyring", "app"),
    "info": ("mano_cli.info", "app"),
}


#: Entries of :data:`COMMANDS` that help does not list.
HIDDEN = frozenset({"report surveys"})


def _load_command(ctx: typer.Context, name: str, module: str, attribute: str) -> Any:
    """Build the Click command of one entry of :data:`COMMANDS` (as ``app.command`` would)."""
    from typer.main import get_command_from_info, get_group_from_info
    from typer.models import CommandInfo, TyperInfo

    target = getattr(importlib.import_module(module), attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = get_group_from_info(
            TyperInfo(target, name=name),
            pretty_exceptions_short=True,
            suggest_commands=True,
            rich_markup_mode="rich",
        )
    else:
        command = get_command_from_info(
            CommandInfo(name=name, callback=target, hidden=name in HIDDEN),
            pretty_exceptions_short=True,
            rich_markup_mode="rich",
        )
    speed_up(command, ctx)
    _plain_flags(command)
    return command


class ManoGroup(TyperGroup):
    """The root group: one-line errors and documented exit codes for everything below it.

    Commands load on demand from :data:`COMMANDS` (commands registered on ``app`` the usual
    way work too, and win over an entry of the same name).
    """

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        eager = super().list_commands(ctx)
        return [*COMMANDS, *(name for name in eager if name not in COMMANDS)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = _load_command(ctx, cmd_name, *COMMANDS[cmd_name])
            self.commands[cmd_name] = command
        return command

    def get_help_option(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        option = super().get_help_option(ctx)
        speed_up_param(option)
        return option

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            s = settings(ctx)
            failure = classify(exc)
            if s.verbosity >= 2:
                s.err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
            logger.debug("exit %d after %s", failure.exit_code, type(exc).__name__)
            s.err.print(f"mano: error: {failure.message}", markup=False, highlight=False)
            raise typer.Exit(failure.exit_code) from None

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from mano_cli._argv import ArgvError, normalise_argv

        speed_up(self)
        _plain_flags(self)
        try:
            try:
                args = normalise_argv(list(sys.argv[1:] if args is None else args))
            except ArgvError as exc:
                raise typer.BadParameter(str(exc)) from None
            if "surveys" in args:
                from mano_cli.report_surveys import route_report_surveys

                args = route_report_surveys(args)
            result = super().main(
                args=args,
                prog_name=prog_name or "mano",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = result if isinstance(result, int) else 0
        except typer.Abort:
            code = EXIT_INTERRUPTED
            settings(None).err.print("mano: error: interrupted", markup=False)
        except typer.TyperException as exc:
            code = getattr(exc, "exit_code", EXIT_USAGE)
            if type(exc).__name__ == "NoArgsIsHelpError":
                # Typer has already printed the help.
                pass
            else:
                ectx = getattr(exc, "ctx", None)
                where = getattr(ectx, "command_path", None) or "mano"
                hint = f" (see '{where} --help')" if code == EXIT_USAGE else ""
                message = " ".join(exc.format_message().split())
                settings(None).err.print(f"{where}: error: {message}{hint}", markup=False)
        if standalone_mode:
            sys.exit(code)
        return code


def _no_type(ctx: Any) -> None:
    return None


def _plain_flags(command: Any) -> None:
    """Help shows what a value is (its METAVAR) and nothing for plain flags.

    Typer prints its type placeholders (``<bool>`` on ``--json``, ``<int>`` on ``-v``, ``<str>``
    beside ``STUDY``) where we give a metavar or no value at all; drop them.
    """
    for param in getattr(command, "params", ()):
        flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
        if flag or (param.param_type_name == "argument" and param.metavar):
            setattr(param, "display_type_rich", _no_type)  # noqa: B010 - per instance
    original = getattr(command, "get_help_option", None)
    if original is not None and not getattr(original, "_mano_plain", False):

        def help_option(ctx: Any) -> Any:
            option = original(ctx)
            if option is not None:
                setattr(option, "display_type_rich", _no_type)  # noqa: B010
            return option

        setattr(help_option, "_mano_plain", True)  # noqa: B010
        setattr(command, "get_help_option", help_option)  # noqa: B010
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)


def _dist_versions(dists: tuple[str, ...]) -> dict[str, str]:
    """Installed versions from ``*.dist-info/METADATA`` on ``sys.path`` (first match wins).

    What ``importlib.metadata.version`` finds, without importing ``importlib.metadata`` (and
    ``email``, ``zipfile``, ``csv`` with it) and listing each folder once for all of them:
    ``mano --version`` stays as fast as ``--help``. Missing ones are left out.
    """
    wanted = {re.sub(r"[-_.]+", "_", d).lower(): d for d in dists}
    found: dict[str, str] = {}
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            dist = wanted.get(re.sub(r"[-_.]+", "_", name.partition("-")[0]).lower())
            if dist is None or dist in found:
                continue
            try:
                with open(os.path.join(folder, name, "METADATA"), encoding="utf-8") as fh:
                    for line in fh:
                        if line.startswith("Version:"):
                            found[dist] = line.split(":", 1)[1].strip()
                            break
                        if not line.strip():  # end of the headers
                            break
            except OSError:
                continue
        if len(found) == len(wanted):
            break
    return found


def _versions(value: bool) -> None:
    if not value:
        return
    lines = []
    versions = _dist_versions(_DISTRIBUTIONS)
    for dist in _DISTRIBUTIONS:
        version = versions.get(dist)
        if version is None:
            from importlib import metadata  # unusual installs (eggs, zips): the full lookup

            try:
                version = metadata.version(dist)
            except metadata.PackageNotFoundError:
                version = "not installed"
        lines.append(f"{dist} {version}")
    lines.append(f"python {sys.version.split()[0]}")
    typer.echo("\n".join(lines))
    raise typer.Exit()


app = typer.Typer(
    name="mano",
    cls=ManoGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=exit_code_epilog(),
    rich_markup_mode="rich",
)


#: Longest --timeout accepted: one day (larger values overflow the socket layer).
_MAX_TIMEOUT = 86_400.0
#: Longest --deadline accepted: a week.
_MAX_DEADLINE = 604_800.0


def _finite_timeout(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number of seconds")
    return value


@app.callback()
def _root(
    ctx: typer.Context,
    keyring: str | None = typer.Option(
        None,
        "--keyring",
        "-k",
        envvar=KEYRING_VAR,
        metavar="NAME",
        help="Keyring section to use (default: $MANO_KEYRING, else BEIWE_URL/BEIWE_ACCESS_KEY/BEIWE_SECRET_KEY).",
    ),
    keyring_file: Annotated[
        Path | None,
        typer.Option(
            "--keyring-file",
            envvar="MANO_KEYRING_FILE",
            metavar="PATH",
            help="Keyring file (default: ~/.nrg-keyring.enc). Passphrase: $NRG_KEYRING_PASS or a prompt.",
        ),
    ] = None,
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More logging; -vv shows tracebacks."
    ),
    quiet: int = typer.Option(
        0, "--quiet", "-q", count=True, help="Less output; no progress bars."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Confirm destructive actions without asking."
    ),
    threads: int = typer.Option(
        0, "--mt", min=0, metavar="N", help="Worker threads (0 = all cores, the default)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="JSON output for listings and summaries."
    ),
    plain: bool = typer.Option(
        False, "--plain", help="Tables as tab-separated text (header line first), for scripts."
    ),
    retries: int = typer.Option(
        5,
        "--retries",
        min=0,
        envvar="MANO_RETRIES",
        metavar="N",
        help="Retries per request on 5xx, maintenance or dropped connections (with backoff).",
    ),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=1,
        max=_MAX_TIMEOUT,
        callback=_finite_timeout,
        metavar="SECONDS",
        help="Read timeout per request (default: 300; at most one day).",
    ),
    deadline: float | None = typer.Option(
        None,
        "--deadline",
        min=1,
        max=_MAX_DEADLINE,
        callback=_finite_timeout,
        envvar="MANO_DOWNLOAD_DEADLINE",
        metavar="SECONDS",
        help="Longest one download may take before it is cut off and retried (default: 7200).",
    ),
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            envvar="MANO_LOG_FILE",
            metavar="PATH",
            help="Also append logs to this file.",
        ),
    ] = None,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_versions,
        is_eager=True,
        help="Show every package's version and exit.",
    ),
) -> None:
    """Get Beiwe data off the server and keep it safe, complete and verifiable on your disks.

    STUDY arguments accept a study id, a unique id prefix or the exact study name.
    """
    s = Settings(
        keyring=keyring or None,
        keyring_file=keyring_file,
        verbosity=verbose - quiet,
        yes=yes,
        threads=threads,
        json=json_output,
        plain=plain,
        log_file=log_file,
        retries=retries,
        timeout=timeout,
        deadline=deadline,
    )
    ctx.obj = s
    configure_logging(s)


# ---- command registration: see COMMANDS (one line per command or group, loaded on use) ----


def main() -> None:
    """Console-script entry point."""
    app()
