"""The root `chorale` group and what every command shares: errors a user can cause print one
line and exit 1, usage errors exit 2 (Click's convention), Ctrl-C exits 130 and SIGTERM 143
after the same cleanup; anything else is a bug, reported in one line with a file holding
the traceback."""

from __future__ import annotations

import functools
import os
import signal
import sys

import click

from chorale import ChoraleError, __version__


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the same
    cleanup runs (temporary files removed, checkpoints kept) and the command exits 143."""


def _terminate(main_pid: int, signum, frame):
    if os.getpid() != main_pid:  # a worker forked with this handler: die as the default would
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    raise Terminated()


def _interrupted(e: KeyboardInterrupt):
    terminated = isinstance(e, Terminated)
    click.echo("\nTerminated." if terminated else "\nInterrupted.", err=True)
    sys.exit(143 if terminated else 130)


def one_line(text: str) -> str:
    """`text` with line breaks and control characters escaped: a message quoting a file's
    bytes can neither break the one-line rule nor send escape codes to the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


LAST_RESORT = "a bug in chorale; the full report is in"  # tests assert no catalogue case prints it


def _report(what: str, error: Exception) -> str:
    """The path of the traceback's report file (chorale.cli.crash.report), or why there is none."""
    from chorale.cli.crash import report

    return report(what, error) or "(none: it could not be written either)"


class Group(click.Group):
    """A Click group that turns the project's errors into one-line messages.

    ChoraleError and OSError (a disk full, a permission refused) print `Error: ...` and
    exit 1; Ctrl-C exits 130 and SIGTERM 143, after the same cleanup. Anything else is a
    bug: the last resort prints one line saying what failed and where the full report
    was written, and exits 1.
    """

    def main(self, *args, **kwargs):
        import threading

        handle = (threading.current_thread() is threading.main_thread()
                  and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
        if handle:
            signal.signal(signal.SIGTERM, functools.partial(_terminate, os.getpid()))
        try:
            return super().main(*args, **kwargs)
        finally:
            if handle:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def make_context(self, *args, **kwargs):
        try:  # Ctrl-C while Click parses the command line: 130 too, not Click's "Aborted!" and 1
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as e:
            _interrupted(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ChoraleError as e:
            click.echo(f"Error: {one_line(str(e))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as e:
            _interrupted(e)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as e:
            if e.filename is None:
                from chorale.cli.crash import os_error_line

                if (line := os_error_line(e)) is None:
                    raise self._last_resort(ctx, e)
                click.echo(f"Error: {one_line(line)}", err=True)
                ctx.exit(1)
            from chorale.api import os_error

            click.echo(f"Error: {one_line(str(os_error(e.filename, e)))}", err=True)
            ctx.exit(1)
        except Exception as e:
            raise self._last_resort(ctx, e)

    @staticmethod
    def _last_resort(ctx, error: Exception):
        what = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
        detail = one_line(str(error))[:200]
        click.echo(f"Error: {what} failed unexpectedly ({type(error).__name__}"
                   f"{': ' + detail if detail else ''}); {LAST_RESORT} {_report(what, error)}", err=True)
        return click.exceptions.Exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chorale")
def cli():
    """Learn from Bach's four-part chorales and write new ones as MIDI."""
