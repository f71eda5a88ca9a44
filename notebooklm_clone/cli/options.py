"""Options several commands share."""

from __future__ import annotations

import click

from ..llm.model_files import MODELS

TIERS = click.Choice(list(MODELS))  # the embedded model tiers, from their registry


def _given_tier(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--tier` when given, else what the `--model` alias set (click handles the options on the command line first)."""
    return value if value is not None else ctx.params.get("tier")


def _alias_to_tier(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.params["tier"] = value


def ocr_lang_option(fn):
    """`--ocr-lang` on every command that extracts: the setting extract.ocr_lang."""
    return click.option("--ocr-lang", "ocr_lang", default=None, metavar="LANG",
                        help="Language of scanned pages for OCR (e.g. French, fr, fra+eng; default: extract.ocr_lang, "
                             "auto = detected page by page).")(fn)


def tier_option(help_text: str = "Embedded LLM tier (small = 0.5B, default = 1.5B)."):
    """`--tier` (the `tier` parameter) picks the embedded LLM's size. `--model` is its former name, still accepted
    but not shown: it chose a tier, never a model, so the name misled."""

    def decorate(fn):
        fn = click.option("--model", "model_alias", type=TIERS, default=None, hidden=True, expose_value=False,
                          callback=_alias_to_tier)(fn)
        return click.option("--tier", "tier", type=TIERS, default=None, help=help_text, callback=_given_tier)(fn)

    return decorate


def source_argument():
    """FILE, or NB: a notebook folder (see `notebook add`), whose sources are studied together."""
    return click.argument("source", metavar="FILE|NB", type=click.Path(exists=True))


def sources_option():
    return click.option("--sources", "only_sources", default=None, metavar="LIST",
                        help="For a notebook: only these sources (comma-separated file names).")


def source_names(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] or None if value else None
