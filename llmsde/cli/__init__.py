"""The ``llmsde`` command line: one module per command group, each with ``register(app)``.

This package and :mod:`llmsde.render` are the only places that print or choose an exit code. Every
:class:`~llmsde.errors.LlmsdeError` is caught once in :func:`main`, printed as one line, and mapped to its exit code;
``--debug`` re-raises it with the traceback. Locals are never shown in tracebacks, so API keys cannot leak there.
"""

from __future__ import annotations

import importlib
import sys

import typer

from llmsde.errors import LlmsdeError

__all__ = ["app", "main"]

app = typer.Typer(
    name="llmsde",
    help="Run iterative LLM code-refinement studies and fit SDEs to the score trajectories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

_COMMAND_MODULES: tuple[str, ...] = (
    "llmsde.cli.run_cmd",
    "llmsde.cli.fit_cmd",
    "llmsde.cli.score_cmd",
    "llmsde.cli.tasks_cmd",
    "llmsde.cli.serve_cmd",
    "llmsde.cli.export_cmd",
    "llmsde.cli.rescore_cmd",
    "llmsde.cli.simulate_cmd",
    "llmsde.cli.calibrate_cmd",
    "llmsde.cli.report_cmd",
    "llmsde.cli.compare_cmd",
    "llmsde.cli.check_cmd",
)
"""Modules that add commands to :data:`app`; each defines ``register(app: typer.Typer) -> None``."""

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


_INTERRUPTED = 130
"""Exit code of Ctrl-C; typer turns KeyboardInterrupt into ``Exit(130)``, which non-standalone mode returns."""


def _interrupted() -> None:
    sys.stderr.write(
        "\nerror: interrupted - every scored iteration is stored; continue with `llmsde run --resume RUN_DIR`\n"
    )
    sys.stderr.flush()
    sys.exit(_INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: run the app and turn LlmsdeError into one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
    try:
        code = app(args=args, standalone_mode=False)
        if code == _INTERRUPTED:
            _interrupted()
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except LlmsdeError as err:
        if debug:
            raise
        from llmsde.render import print_error

        print_error(err.one_line())
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
