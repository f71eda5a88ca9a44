"""`notebooklm-clone extract`: a document's text (or its chunks) as Markdown, JSON or plain text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import Settings
from ..llm.model_files import model_status
from ..llm.tokens import get_tokenizer
from ..models import Chunk, Document
from ..stages.chunk import chunk_document
from ..store import atomic_write_text
from .options import ocr_lang_option


@click.command("extract")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (atomically) instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["md", "json", "txt"]),
              help="md (default; json with the global --json): headings and page markers; json: the Document "
                   "(or the chunks); txt: plain text.")
@click.option("--chunks", is_flag=True, help="Output the chunks the later stages use instead of the text.")
@click.option("--budget", type=click.IntRange(min=16), help="Chunk size limit in tokens (default from config: 700).")
@click.option("--overlap", type=click.IntRange(min=0), help="Overlap between chunks in tokens (default: 50).")
@click.option("--tokenizer", "tokenizer_spec", metavar="SPEC",
              help="tiktoken:<model>, gguf:<path> or fallback (default: llm.tokenizer, else the embedded model's "
                   "own vocabulary when the LLM is the embedded one and its model is already assembled, else "
                   "fallback).")
@click.option("--password", help="Password of an encrypted PDF.")
@click.option("--no-ocr", is_flag=True, help="Do not OCR pages that have no text layer.")
@ocr_lang_option
@click.pass_context
def extract(ctx: click.Context, file: Path, out: Path | None, fmt: str, chunks: bool, budget: int | None,
            overlap: int | None, tokenizer_spec: str | None, password: str | None, no_ocr: bool,
            ocr_lang: str | None) -> None:
    """Extract FILE (PDF, EPUB, HTML, Markdown or text): text per page in reading order, headings, references marked.

    \b
    Exit codes:
      0  ok (warnings, e.g. pages left empty, go to stderr)
      2  FILE is missing or is a directory, or a flag is wrong
      3  FILE cannot be used: empty, damaged, encrypted (give --password)
         or wrong password, not what its extension says, no text even after OCR
    """
    from ..sources import extract_document

    obj = ctx.obj or {}
    fmt = fmt or ("json" if obj.get("json") else "md")
    settings: Settings = (obj.get("settings") or Settings()).with_overrides(**{"extract.ocr_lang": ocr_lang})
    document = extract_document(file, password=password, ocr=not no_ocr, ocr_lang=settings.extract.ocr_lang)
    warnings = list(document.warnings)
    if chunks:
        chunk_settings = settings.chunk.model_copy(update={k: v for k, v in
                                                           (("budget_tokens", budget), ("overlap_tokens", overlap))
                                                           if v is not None})
        if chunk_settings.overlap_tokens >= chunk_settings.budget_tokens:  # refused in a config file too
            raise click.BadParameter(f"{chunk_settings.overlap_tokens} tokens is not smaller than the chunk budget "
                                     f"({chunk_settings.budget_tokens})", param_hint="'--overlap'")
        spec, why = (tokenizer_spec, "") if tokenizer_spec else default_tokenizer_spec(settings)
        if why:
            warnings.append(why)
        tokenizer = get_tokenizer(spec)
        if getattr(tokenizer, "note", ""):
            warnings.append(tokenizer.note)
        pieces = chunk_document(document, chunk_settings, tokenizer)
        text = render_chunks(pieces, fmt, tokenizer.name)
    else:
        text = render_document(document, fmt)
    if not obj.get("quiet"):
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    if out:
        atomic_write_text(out, text)
    else:
        sys.stdout.write(text)


def default_tokenizer_spec(settings: Settings) -> tuple[str, str]:
    """The tokenizer spec to count with, and why it is the estimate when the model's own vocabulary was meant.

    llm.tokenizer if set; the embedded model's vocabulary when the LLM is the embedded one and its GGUF is already
    assembled and verified (extracting never joins the 1.1 GB file as a side effect); else the estimate."""
    if settings.llm.tokenizer:
        return settings.llm.tokenizer, ""
    if settings.llm.model != "embedded" or settings.llm.base_url:
        return "fallback", ""
    status = model_status(settings.llm.tier, settings.cache_dir)
    if status["file"] == "verified":
        return f"gguf:{status['path']}", ""
    state = "is not assembled yet" if status["file"] == "missing" else "does not verify"
    return "fallback", (f"the embedded model ({settings.llm.tier} tier) {state}, so token counts are estimated "
                        "(fallback tokenizer); any LLM command assembles it")


def render_document(document: Document, fmt: str) -> str:
    if fmt == "json":
        return document.model_dump_json(indent=2) + "\n"
    if fmt == "txt":
        return "\n\n".join(b.text for b in document.blocks) + "\n"
    lines = [f"# {document.title}", ""]
    if document.authors:
        lines += [", ".join(document.authors), ""]
    page = None
    for block in document.blocks:
        if block.page != page:
            page = block.page
            lines += [f"<!-- page {page} -->", ""]
        if block.kind == "heading":
            lines += [f"{'#' * min(6, block.level + 1)} {block.text}", ""]
        elif block.kind == "references" and block.level:
            lines += [f"{'#' * min(6, block.level + 1)} {block.text}", ""]
        else:
            lines += [block.text, ""]
    return "\n".join(lines)


def render_chunks(chunks: list[Chunk], fmt: str, tokenizer_name: str) -> str:
    if fmt == "json":
        return json.dumps([c.model_dump(mode="json") for c in chunks], indent=2, ensure_ascii=False) + "\n"
    if fmt == "txt":
        return "\n\n".join(c.text for c in chunks) + "\n"
    lines = []
    for c in chunks:
        pages = f"p. {c.page_start}" if c.page_start == c.page_end else f"pp. {c.page_start}-{c.page_end}"
        flag = " · references" if c.is_references else ""
        where = " > ".join(c.section)
        lines += [f"## Chunk {c.index + 1} · {c.tokens} tokens ({tokenizer_name}) · {pages}{flag}",
                  *([f"_{where}_"] if where else []), "", c.text, ""]
    return "\n".join(lines)


commands = [extract]
