"""The click group, its error model and the option bundles every command shares.

Exit codes: 0 the run completed (flags and data issues are normal output); 1 `Error: …`
when an input or the rules cannot be used at all; 2 usage errors. A traceback only with
`--debug`. Heavy libraries are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import warnings

import click

from disbursement.money import UNIT_KEYS, UNIT_TABLE
from disbursement.version import __version__

UNITS = UNIT_KEYS  # the one unit table (money.UNIT_TABLE)
AUDIT_DB_HELP = (
    "Audit store: an SQLite file or postgresql://host/database (default: "
    "$DISBURSEMENT_AUDIT_DB or ./disbursement-audit.sqlite)."
)


def _date(ctx, param, value):
    if value is None:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date (use DD/MM/YYYY or YYYY-MM-DD)")


class Group(click.Group):
    """Turns library errors into one `Error: …` line (exit 1); tracebacks only with --debug."""

    def invoke(self, ctx):
        from disbursement.errors import DisbursementError

        try:
            with _quiet_stderr():
                return super().invoke(ctx)
        except DisbursementError as exc:
            if _debug():
                raise
            raise click.ClickException(_one_line(str(exc))) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # `disbursement review … | head`: the reader left; stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:
            if _debug():
                raise
            raise click.ClickException(
                _one_line(
                    f"internal error ({type(exc).__name__}: {exc}); "
                    "run again with --debug for the traceback and report it"
                )
            ) from None


class _Echo:
    """A byte stream for streamed UTF-8 output: buffers ~1 MB, then hands it to click.echo."""

    def __init__(self, size: int = 1 << 20):
        self.parts: list[bytes] = []
        self.pending, self.size = 0, size

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.pending += len(data)
        if self.pending >= self.size:
            self.flush()

    def copy(self, source) -> None:
        """Everything left in the binary file `source`: in pieces to a real stdout (bytes
        need no whole characters), at once to a text-only one (decoded whole)."""
        self.flush()
        if not hasattr(sys.stdout, "buffer"):
            self.write(source.read())
            return
        while piece := source.read(self.size):
            click.echo(piece, nl=False)

    def flush(self) -> None:
        data = b"".join(self.parts)
        # a text-only stdout (a caller's StringIO) gets text; a real one the bytes as they are
        click.echo(data if hasattr(sys.stdout, "buffer") else data.decode("utf-8"), nl=False)
        self.parts, self.pending = [], 0


def _debug() -> bool:
    return "--debug" in sys.argv


def _one_line(message: str) -> str:
    """The exit-1 contract: one `Error:` line, so a newline or CR in a file name is escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


@contextlib.contextmanager
def _quiet_stderr():
    """While a command runs, what libraries write to stderr (Python warnings, notes the Rust
    reader behind calamine prints straight to file descriptor 2) is dropped, so a failing run
    shows only its `Error:` line; --debug keeps them."""
    if _debug():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to protect
        yield
        return
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="disbursement")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug):
    """Review public-investment disbursement in rounds and propose capital reallocation.

    Typical use: disbursement review plan.xlsx --round 1 --out out/
    """


def input_options(f):
    """Options shared by every command that reads workbooks."""
    f = click.option(
        "--unit",
        type=click.Choice(UNITS),
        help="Unit of the amounts when the sheet's unit line is missing or wrong: "
        + ", ".join(f"{u.key} ({u.vi})" for u in UNIT_TABLE)
        + ".",
    )(f)
    f = click.option(
        "--rules",
        "rules_path",
        type=click.Path(dir_okay=False),
        help="Rules file (default: rules/son-la-2022.yaml).",
    )(f)
    f = click.option(
        "--year",
        type=click.IntRange(2000, 2100),
        help="Plan year (default: the rules' plan_year). Shifts every date.",
    )(f)
    f = click.argument("files", nargs=-1, required=True, type=click.Path())(f)
    return f


_KEPT: list[object] = []
_ENDING_FAST = False


def ending_fast() -> bool:
    """Whether the process ends when the command returns (run by `main`, not a test runner)."""
    return _ENDING_FAST


def keep_until_exit(value: object) -> None:
    """Hold `value` until the process ends, when run by `main`: the OS drops a national run's
    heap at once, where freeing it object by object takes 0.2 s and the interpreter's teardown
    0.3 s more (100k lines)."""
    if _ENDING_FAST:
        _KEPT.append(value)


def main() -> None:
    """The console entry point: the command, then the process ends at once (`os._exit`) after
    its output is flushed. A command has renamed every file it writes into place, committed
    every store and reaped its children before it returns; nothing is left for a teardown."""
    global _ENDING_FAST
    _ENDING_FAST = True
    try:
        cli(prog_name="disbursement")
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # a descriptor closed when the process started (`>&-`)
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # a reader that stopped early (`| head`): nothing to tell it
            pass
        except (OSError, ValueError):  # the disk is full, the stream closed: as Python exits
            code = code or 120
    os._exit(code)


def _exit_code(code: object) -> int:
    """What `sys.exit(code)` exits with: None is 0, a number itself, anything else printed
    on stderr and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            print(code, file=sys.stderr)
    return 1
