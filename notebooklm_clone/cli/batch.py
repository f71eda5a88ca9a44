"""`notebooklm-clone batch DIR`: a whole folder, resumable, in parallel locally or on a Ray cluster."""

from __future__ import annotations

from pathlib import Path

import click

from ..batch import DEFAULT_TIME_LIMIT, Reporter, run_batch, summary_table
from ..errors import PartialFailure
from ..store import json_text, portable_name
from .options import ocr_lang_option, tier_option


@click.command("batch")
@click.argument("input_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder (default: <settings.out_dir>/<DIR name>).")
@click.option("--products", default="notes,podcast", show_default=True,
              help="Comma-separated: extract, notes, script, podcast.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Documents in parallel (default: 1 locally, the cluster's CPUs on Ray).")
@click.option("--glob", "pattern", default=None, help="Only documents matching this glob, e.g. '*.pdf'.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (e.g. ray://head:10001 or head:6379).")
@tier_option()
@click.option("--prompts", "prompts_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder with your own prompt templates (*.j2); missing ones come from the built-in prompts/. "
                   "Editing one redoes the documents it shaped on the next run.")
@click.option("--follow-symlinks", is_flag=True,
              help="Read symbolic links under DIR (by default they are listed as skipped, never read).")
@click.option("--time-limit", type=click.FloatRange(min=0), default=DEFAULT_TIME_LIMIT, show_default=True,
              metavar="SECONDS", help="A document taking longer is recorded as failed (0 = no limit).")
@click.option("--password", default=None, help="Password for encrypted documents.")
@ocr_lang_option
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the manifest summary as JSON on stdout, and progress as JSON lines on stderr.")
@click.pass_context
def batch(ctx: click.Context, input_dir: str, out_dir: str | None, products: str, jobs: int | None,
          pattern: str | None, executor: str, address: str | None, tier: str | None, prompts_dir: str | None,
          follow_symlinks: bool, time_limit: float, password: str | None, ocr_lang: str | None, quiet: bool,
          as_json: bool) -> None:
    """Process every document under DIR (pdf, epub, html, md, txt) into OUT/<path>/, with OUT/batch.json and
    OUT/index.html. Rerunning resumes: finished, unchanged documents are skipped."""
    obj = ctx.ensure_object(dict)
    settings = obj.get("settings")
    if settings is None:
        from ..config import load_settings

        settings = load_settings()
    settings = settings.with_overrides(**{"llm.tier": tier, "extract.ocr_lang": ocr_lang,
                                          "prompts_dir": str(Path(prompts_dir).resolve()) if prompts_dir else None})
    quiet = quiet or obj.get("quiet", False)
    as_json = as_json or obj.get("json", False)
    out = Path(out_dir) if out_dir else Path(settings.out_dir) / portable_name(Path(input_dir).resolve().name)
    manifest = run_batch(input_dir, out, settings, products=products,
                         jobs=jobs or (None if executor == "ray" else 1), pattern=pattern, executor=executor,
                         address=address, password=password, reporter=Reporter(quiet=quiet, as_json=as_json),
                         follow_symlinks=follow_symlinks, time_limit=time_limit)
    if as_json:
        click.echo(json_text(manifest.summary()))
    elif not quiet:
        click.echo(summary_table(manifest))
        click.echo(f"index: {portable_name(str(out / 'index.html'))}")
    failed = manifest.counts()["failed"]
    if failed:
        raise PartialFailure(f"{failed} of {len(manifest.documents)} documents failed; "
                             f"see {portable_name(str(out / 'batch.json'))}")


commands = [batch]
