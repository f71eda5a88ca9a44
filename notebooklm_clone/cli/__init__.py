"""The thin click CLI: parse flags into Settings, call a stage, map errors to exit codes.

Each area keeps its commands in its own module here (extract, llm, study, audio, batch) as a list named `commands`.
Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input, 4 backend unavailable, 5 partial batch failure, 130 Ctrl-C.
"""

from __future__ import annotations

import importlib
import os

import click

from ..config import load_settings
from ..errors import NotebookError

AREAS = ("extract", "llm", "study", "audio", "batch", "check", "notebook")


def usage_error(exc: click.UsageError) -> click.exceptions.Exit:
    """A bad flag or argument as one line on stderr, like every other error (click prints usage, hint and error)."""
    where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
    click.echo(f"error: {exc.format_message()}{where}", err=True)
    return click.exceptions.Exit(exc.exit_code)


class Group(click.Group):
    """Turns our errors into one line on stderr and a distinct exit code; never a traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise usage_error(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise usage_error(exc) from None
        except NotebookError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is kept; rerun to resume", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: one line, not a traceback
            if os.environ.get("NOTEBOOKLM_CLONE_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (set NOTEBOOKLM_CLONE_DEBUG=1 for details)", err=True)
            ctx.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file (default ./notebooklm-clone.toml).")
@click.option("--quiet", "-q", is_flag=True, help="Only errors.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@click.version_option(package_name="notebooklm-clone")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, quiet: bool, as_json: bool) -> None:
    """Documents in; study notes, flashcards, a quiz and a two-host podcast out. Offline by default."""
    ctx.ensure_object(dict)
    try:
        ctx.obj["settings"] = load_settings(config_file)
    except NotebookError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(exc.exit_code)
    ctx.obj["quiet"] = quiet
    ctx.obj["json"] = as_json


for _area in AREAS:
    for _command in importlib.import_module(f"{__name__}.{_area}").commands:
        main.add_command(_command)
