"""Global options, consoles and the small helpers every command shares."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mano_cli._errors import ConfirmationRefused, CredentialsProblem, LocalProblem, UsageProblem

if TYPE_CHECKING:
    from rich.console import Console

    from mano_auth import Credentials

logger = logging.getLogger(__name__)

KEYRING_PASS_VAR = "NRG_KEYRING_PASS"
LOCK_PASS_VAR = "MANO_LOCK_PASSPHRASE"
KEYRING_VAR = "MANO_KEYRING"


@dataclass
class Settings:
    """The global options of one `mano` invocation (stored on the root context)."""

    keyring: str | None = None
    keyring_file: Path | None = None
    verbosity: int = 0
    yes: bool = False
    threads: int = 0
    json: bool = False
    log_file: Path | None = None
    retries: int = 5
    timeout: float | None = None
    plain: bool = False
    deadline: float | None = None
    _stderr: Console | None = field(default=None, repr=False)
    _stdout: Console | None = field(default=None, repr=False)

    @property
    def workers(self) -> int:
        """Worker threads: ``--mt 0`` (the default) means every core."""
        return self.threads if self.threads > 0 else (os.cpu_count() or 1)

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    @property
    def err(self) -> Console:
        """Rich console on stderr for messages and progress (NO_COLOR honoured by Rich)."""
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._stderr

    @property
    def out(self) -> Console:
        """Rich console on stdout for tables."""
        if self._stdout is None:
            from rich.console import Console

            self._stdout = Console(highlight=False, soft_wrap=True)
        return self._stdout

    @property
    def err_is_terminal(self) -> bool:
        """Whether stderr is a terminal, as :attr:`err` would say, without loading Rich."""
        if self._stderr is not None:
            return self._stderr.is_terminal
        return _is_terminal(sys.stderr)

    @property
    def chatty(self) -> bool:
        """Whether to print informational lines on stderr (a terminal, or -v; never with -q)."""
        return not self.quiet and (self.verbosity >= 1 or self.err_is_terminal)

    @property
    def show_progress(self) -> bool:
        return not self.quiet and self.err_is_terminal


def _is_terminal(stream: Any) -> bool:
    """Rich's ``Console.is_terminal`` for a new console on ``stream`` (without importing Rich).

    ``TTY_COMPATIBLE=1`` makes any stream a terminal, ``TTY_COMPATIBLE=0`` none, then a set
    ``FORCE_COLOR`` decides (non-empty: a terminal); otherwise it is the stream's ``isatty()``.
    """
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # closed
        return False


_DEFAULT = Settings()


def settings(ctx: typer.Context | None = None) -> Settings:
    """Return the settings of the current invocation (defaults outside a command)."""
    if ctx is None:
        return _DEFAULT
    root = ctx.find_root()
    obj = root.obj
    return obj if isinstance(obj, Settings) else _DEFAULT


def configure_logging(s: Settings) -> None:
    """Send library logs to stderr (level by verbosity) and, with --log-file, to a file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mano_cli", False):
            root.removeHandler(handler)
            handler.close()
    level = logging.WARNING
    if s.verbosity == 1:
        level = logging.INFO
    elif s.verbosity >= 2:
        level = logging.DEBUG
    elif s.verbosity < 0:
        level = logging.ERROR
    console: logging.Handler
    if s.err_is_terminal:
        from rich.logging import RichHandler

        console = RichHandler(
            console=s.err, show_time=False, show_path=False, rich_tracebacks=False, markup=False
        )
    else:
        # Cron and pipes: one plain line per record, never wrapped.
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(_OneLine("mano: %(levelname)s: %(message)s", s.verbosity >= 2))
    console.setLevel(level)
    # Job and error records for --log-file; the command prints its own lines about them.
    console.addFilter(lambda record: not hasattr(record, "mano"))
    setattr(console, "_mano_cli", True)  # noqa: B010 - marks our handlers for removal
    root.addHandler(console)
    root_level = level
    if s.log_file is not None:
        try:
            s.log_file.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(s.log_file, encoding="utf-8")
        except OSError as exc:
            raise LocalProblem(f"cannot open log file {s.log_file}: {exc.strerror or exc}") from exc
        handler.setFormatter(JsonLines())
        handler.setLevel(min(level, logging.INFO))
        setattr(handler, "_mano_cli", True)  # noqa: B010
        root.addHandler(handler)
        root_level = min(level, logging.INFO)
    root.setLevel(root_level)
    for name in ("urllib3", "requests"):
        logging.getLogger(name).setLevel(max(root_level, logging.WARNING))
    # Per-file problems are summarised by the command itself; show them one by one with -v.
    # With -q even their errors stay out of cron mail: the command's own line says it.
    quiet_level = logging.CRITICAL if s.quiet else logging.ERROR
    for name in ("mano_files", "mano_sync"):
        logging.getLogger(name).setLevel(logging.NOTSET if s.verbosity >= 1 else quiet_level)


class _OneLine(logging.Formatter):
    """Console records without a terminal: one line each; tracebacks only with -vv."""

    def __init__(self, fmt: str, tracebacks: bool) -> None:
        super().__init__(fmt)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info:
            return super().format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


class JsonLines(logging.Formatter):
    """--log-file records: one JSON object per line (time, level, logger, message, details).

    Records carrying a ``mano`` dict (a job's result, an error) add its keys, so a log reader
    gets one line per job and per error with the job's name, status and counts.
    """

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        details = getattr(record, "mano", None)
        if isinstance(details, dict):
            entry.update(jsonable(details))
        if record.exc_info and record.levelno >= logging.ERROR:
            entry["exception"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False)


def stdin_is_tty() -> bool:
    """Whether we may ask the user anything (tests patch this)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(s: Settings, question: str, *, flag_hint: str = "-y") -> None:
    """Ask before a destructive action; refuse without a TTY unless -y was given."""
    if s.yes:
        return
    if not stdin_is_tty():
        raise ConfirmationRefused(
            f"{question.rstrip('?')}: refusing without a TTY; pass {flag_hint} to confirm"
        )
    if not typer.confirm(question, default=False, err=True):
        raise ConfirmationRefused("cancelled; nothing was changed")


def ask_secret(prompt: str, *, variable: str, confirm_it: bool = False) -> str:
    """Prompt for a secret on the TTY; without one, fail naming the variable to set."""
    if not stdin_is_tty():
        raise CredentialsProblem(f"{prompt} needed but stdin is not a TTY: set {variable}")
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm_it, err=True)
    if not value:
        raise CredentialsProblem(f"empty {prompt.lower()}")
    return value


def load_credentials(s: Settings, section: str | None = None) -> Credentials:
    """Credentials from --keyring/MANO_KEYRING (a keyring section) or from BEIWE_* variables."""
    name = section if section is not None else s.keyring
    if name is None:
        if not os.environ.get("BEIWE_URL") and not os.environ.get("BEIWE_ACCESS_KEY"):
            raise CredentialsProblem(
                "no credentials: pass --keyring NAME (or set MANO_KEYRING), or set "
                "BEIWE_URL, BEIWE_ACCESS_KEY and BEIWE_SECRET_KEY"
            )
        from mano_auth import load_keyring

        return checked_keys(lambda: load_keyring(None))
    from mano_auth import load_keyring

    # mano-auth takes the passphrase from NRG_KEYRING_PASS, else prompts, only on a TTY.
    return checked_keys(lambda: load_keyring(name, s.keyring_file))


def checked_keys(make: Callable[[], Credentials]) -> Credentials:
    """Credentials about to be used: a key the server would refuse is one clear error here,
    not a Python warning followed by the same error (mano-auth only warns while loading)."""
    from mano_auth import KeyShapeWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyShapeWarning)
        credentials = make()
    credentials.check_keys()
    return credentials


def keyring_path(s: Settings) -> Path:
    """The keyring file in use: --keyring-file, else the library default."""
    if s.keyring_file is not None:
        return s.keyring_file
    from mano_auth import default_keyring_path

    return Path(default_keyring_path())


def parse_when(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` (UTC) into an aware datetime.

    A bare end date means the whole day (through 23:00, the last hour bin).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                return _clamp_end(
                    datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC), end
                )
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace(" ", "T").removesuffix("Z"))
    except ValueError:
        raise UsageProblem(
            f"{option} {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _clamp_end(moment.astimezone(UTC), end)


def _clamp_end(moment: datetime, end: bool) -> datetime:
    """An end in the future means "up to now": there is no data to ask for after that."""
    now = datetime.now(UTC)
    return now if end and moment > now else moment


def check_window(start: datetime | None, end: datetime | None) -> None:
    """Refuse an empty time window."""
    if start is not None and end is not None and start > end:
        raise UsageProblem(f"--start {start:%Y-%m-%d %H:%M} is after --end {end:%Y-%m-%d %H:%M}")


def check_streams(streams: list[str] | None) -> list[str] | None:
    """Validate stream names against the server's list; None/empty means all streams."""
    if not streams:
        return None
    from mano_files import STREAMS

    known = list(STREAMS)
    wanted: list[str] = []
    for item in streams:
        for name in item.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in known:
                raise UsageProblem(
                    f"unknown data stream {name!r}; known streams: {', '.join(sorted(known))}"
                )
            if name not in wanted:
                wanted.append(name)
    return wanted or None


def split_values(values: list[str] | None) -> list[str] | None:
    """Accept repeated options and comma-separated lists alike."""
    if not values:
        return None
    found: list[str] = []
    for item in values:
        for part in item.split(","):
            part = part.strip()
            if part and part not in found:
                found.append(part)
    return found or None


def ensure_output_folder(path: Path) -> Path:
    """Create the output folder (and parents) or fail with exit code 5."""
    if path.exists() and not path.is_dir():
        raise LocalProblem(f"output {path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalProblem(f"cannot create output folder {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise LocalProblem(f"output folder {path} is not writable")
    return path


@contextmanager
def output_folder(path: Path) -> Iterator[Path]:
    """Create the output folder for a run; if the run fails, remove it again when this run
    created it and it holds nothing but mano's own hidden state (no empty folders left)."""
    existed = path.exists()
    ensure_output_folder(path)
    try:
        yield path
    except BaseException:
        if not existed:
            _remove_if_only_state(path)
        raise


def _remove_if_only_state(path: Path) -> None:
    try:
        entries = list(path.iterdir())
        if any(not (e.name.startswith(".mano-") and e.is_file()) for e in entries):
            return
        for entry in entries:
            entry.unlink()
        path.rmdir()
    except OSError as exc:  # best effort: never hide the original error
        logger.debug("could not remove %s: %s", path, exc)


def check_output_folder(path: Path) -> Path:
    """Fail early (exit 5) if PATH cannot become a writable folder; create nothing yet."""
    if path.exists():
        if not path.is_dir():
            raise LocalProblem(f"output {path} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise LocalProblem(f"output folder {path} is not writable")
        return path
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise LocalProblem(f"cannot create output folder {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LocalProblem(f"cannot create output folder {path}: {parent} is not writable")
    return path


def existing_folder(path: Path, *, file_ok: bool = False) -> Path:
    """A folder that must already exist (tree commands; with ``file_ok`` also one file)."""
    if not path.exists():
        raise LocalProblem(f"{'' if file_ok else 'folder '}{path} does not exist")
    if not path.is_dir() and not (file_ok and path.is_file()):
        kind = "a folder or a data file" if file_ok else "a folder"
        raise LocalProblem(f"{path} is not {kind}")
    return path


def jsonable(value: Any) -> Any:
    """Convert library values (dataclasses, enums, datetimes, paths) into JSON values."""
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
