"""`notebooklm-clone batch DIR`: a whole folder, resumable, in parallel locally or on a Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..batch import run_batch, summary_table
from ..errors import PartialFailure


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
@click.option("--model", "tier", type=click.Choice(["small", "default"]), default=None,
              help="Embedded model tier (small = 0.5B, default = 1.5B).")
@click.option("--password", default=None, help="Password for encrypted documents.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest summary as JSON on stdout.")
@click.pass_context
def batch(ctx: click.Context, input_dir: str, out_dir: str | None, products: str, jobs: int | None,
          pattern: str | None, executor: str, address: str | None, tier: str | None, password: str | None,
          quiet: bool, as_json: bool) -> None:
    """Process every document under DIR (pdf, epub, html, md, txt) into OUT/<path>/, with OUT/batch.json and
    OUT/index.html. Rerunning resumes: finished, unchanged documents are skipped."""
    obj = ctx.ensure_object(dict)
    settings = obj.get("settings")
    if settings is None:
        from ..config import load_settings

        settings = load_settings()
    settings = settings.with_overrides(**{"llm.tier": tier})
    quiet = quiet or obj.get("quiet", False)
    as_json = as_json or obj.get("json", False)
    out = Path(out_dir) if out_dir else Path(settings.out_dir) / Path(input_dir).resolve().name
    from ..batch import Reporter

    manifest = run_batch(input_dir, out, settings, products=products,
                         jobs=jobs or (None if executor == "ray" else 1), pattern=pattern, executor=executor,
                         address=address, password=password, reporter=Reporter(quiet=quiet))
    if as_json:
        click.echo(json.dumps(manifest.summary(), indent=2, ensure_ascii=False))
    elif not quiet:
        click.echo(summary_table(manifest))
        click.echo(f"index: {out / 'index.html'}")
    failed = manifest.counts()["failed"]
    if failed:
        raise PartialFailure(f"{failed} of {len(manifest.documents)} documents failed; see {out / 'batch.json'}")


commands = [batch]
