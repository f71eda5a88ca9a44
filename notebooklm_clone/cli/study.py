"""`notebooklm-clone notes FILE` (summary, notes, flashcards, quiz) and `notebooklm-clone script FILE` (the podcast
script), both through pipeline.process_document so they share its caching, report.json and usage accounting."""

from __future__ import annotations

import sys

import click

from ..config import Settings, load_settings
from ..errors import UsageError
from ..progress import Display
from ..store import json_text
from .options import ocr_lang_option, source_argument, source_names, sources_option, tier_option

PRODUCT_NAMES = ("summary", "notes", "cards", "quiz")
STYLES = ["deep-dive", "brief", "debate", "critique", "lecture"]


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    return obj.get("settings") or load_settings()


def _only(value: str | None) -> list[str] | None:
    if not value:
        return None
    chosen = [p.strip() for p in value.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PRODUCT_NAMES]
    if unknown or not chosen:
        raise UsageError(f"--only takes a comma-separated list of {', '.join(PRODUCT_NAMES)}; got {value!r}")
    return chosen


def _run(ctx: click.Context, source: str, out_root: str | None, settings: Settings, products: tuple[str, ...],
         password: str | None, only_sources: str | None) -> None:
    from ..notebook.products import process_source
    from ..pipeline import doc_out_dir

    obj = ctx.ensure_object(dict)
    quiet, as_json = obj.get("quiet"), obj.get("json")
    out = doc_out_dir(source, out_root or settings.out_dir)

    progress = Display(as_json=bool(as_json), quiet=bool(quiet))
    result = process_source(source, out, settings, products, password=password, progress=progress,
                            only=source_names(only_sources))
    if as_json:
        click.echo(json_text(result.model_dump()))
    elif not quiet:
        click.echo(f"outputs in {out}/")
        for name, path in result.files.items():
            click.echo(f"  {name}: {path}")
        usage = result.usage
        reread = (f" ({usage.get('prompt_tokens', 0) / result.source_tokens:.1f}x the source)"
                  if result.source_tokens and usage.get("calls") else "")
        click.echo(f"LLM: {usage.get('calls', 0)} calls, {usage.get('prompt_tokens', 0)} prompt{reread} + "
                   f"{usage.get('completion_tokens', 0)} completion tokens"
                   + (f", ${result.cost_usd:.4f}" if result.cost_usd else "")
                   + "; " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    sys.stdout.flush()


def _common(fn):
    options = [
        source_argument(),
        sources_option(),
        click.option("-o", "--out", "out_root", type=click.Path(file_okay=False),
                     help="Output root (default: settings.out_dir); files go to OUT/<document stem>/."),
        click.option("--language", default=None,
                     help="Language of the output (e.g. English, German; default: the document's language)."),
        click.option("--instructions", default=None,
                     help="Your preference for focus, audience or tone (it cannot override the "
                          "document-is-data rule)."),
        click.option("--prompts", "prompts_dir", type=click.Path(exists=True, file_okay=False), default=None,
                     help="Folder with your own prompt templates (*.j2); missing ones come from the "
                          "built-in prompts/."),
        tier_option(),
        click.option("--password", default=None, help="Password for an encrypted PDF."),
        ocr_lang_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("notes")
@_common
@click.option("--only", default=None, metavar="LIST", help="Comma-separated subset of: summary, notes, cards, quiz.")
@click.option("--level", type=click.Choice(["intro", "expert"]), default=None, help="Audience level.")
@click.pass_context
def notes(ctx: click.Context, source: str, only_sources: str | None, out_root: str | None, language: str | None,
          instructions: str | None, prompts_dir: str | None, tier: str | None, password: str | None,
          ocr_lang: str | None, only: str | None, level: str | None) -> None:
    """Study notes for FILE, or for all the sources of notebook NB together: summary.md, notes.md (key points,
    glossary, Q&A), cards.csv + cards.apkg, quiz.md, every item citing its pages (and sources). Output goes to
    OUT/<document stem>/ (OUT/<notebook folder name>/)."""
    settings = _settings(ctx).with_overrides(**{
        "notes.only": _only(only), "notes.language": language, "notes.level": level,
        "notes.instructions": instructions, "prompts_dir": prompts_dir, "llm.tier": tier,
        "extract.ocr_lang": ocr_lang})
    _run(ctx, source, out_root, settings, ("notes",), password, only_sources)


@click.command("script")
@_common
@click.option("--minutes", type=click.FloatRange(min=0.5, max=120), default=None, help="Target length in minutes.")
@click.option("--speakers", type=click.IntRange(min=1, max=4), default=None, help="Number of speakers (1-4).")
@click.option("--style", type=click.Choice(STYLES), default=None, help="Show format.")
@click.option("--script-only", is_flag=True, help="Write only the script (no summary/notes/cards/quiz files).")
@click.pass_context
def script(ctx: click.Context, source: str, only_sources: str | None, out_root: str | None, language: str | None,
           instructions: str | None, prompts_dir: str | None, tier: str | None, password: str | None,
           ocr_lang: str | None, minutes: float | None,
           speakers: int | None, style: str | None, script_only: bool) -> None:
    """A podcast script for FILE: script.json (for `speak`, editable by hand) and script.md, written from the notes.
    Output goes to OUT/<document stem>/."""
    settings = _settings(ctx).with_overrides(**{
        "script.minutes": minutes, "script.speakers": speakers, "script.style": style,
        "script.language": language, "notes.language": language, "script.instructions": instructions,
        "prompts_dir": prompts_dir, "llm.tier": tier, "extract.ocr_lang": ocr_lang})
    products = ("script",) if script_only else ("notes", "script")
    _run(ctx, source, out_root, settings, products, password, only_sources)


commands = [notes, script]
