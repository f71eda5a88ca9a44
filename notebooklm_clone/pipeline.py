"""One document through the stages: extract -> chunk -> notes -> script -> podcast.

`process_document` is what the CLI commands and the batch runner (local or Ray) call. It is a plain function over
plain data so it can be shipped to another process or machine. Each stage caches its own artifacts, so calling it
again after an interruption redoes only what is missing.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from .config import Settings
from .errors import BackendUnavailable
from .llm.endpoints import open_llm
from .models import Document
from .outputs.page import write_page
from .outputs.report import write_document, write_report
from .outputs.script import write_script
from .outputs.study import write_study
from .progress import Progress
from .sources import extract_document
from .stages.calls import resolve_languages
from .stages.chunk import chunk_document
from .stages.notes import run_notes
from .stages.script import run_script
from .stages.script_figures import script_figures
from .store import portable_name

PRODUCTS = ("extract", "notes", "script", "podcast")


class DocumentResult(BaseModel):
    source: str
    out_dir: str
    products: list[str]
    files: dict[str, str] = Field(default_factory=dict)  # product name -> path written
    timings: dict[str, float] = Field(default_factory=dict)  # stage -> seconds
    usage: dict[str, int] = Field(default_factory=dict)  # prompt/cached/completion tokens, calls
    source_tokens: int = 0  # the document's text in the model's tokens: prompt tokens / source tokens = re-reading
    usage_by_stage: dict[str, dict[str, int]] = Field(default_factory=dict)
    cost_usd: float = 0.0
    options: dict = Field(default_factory=dict)  # the settings that shaped the outputs (language, level, ...)
    grounding: dict = Field(default_factory=dict)  # output -> how its items were grounded (verified, quoted, ...)
    script: dict = Field(default_factory=dict)  # target and actual words, per segment
    podcast: dict = Field(default_factory=dict)  # duration, loudness, clips synthesised / cached
    warnings: list[str] = Field(default_factory=list)


def doc_out_dir(source: str | Path, out_root: str | Path) -> Path:
    return Path(out_root) / portable_name(Path(source).stem)


def process_document(
    source: str | Path,
    out_dir: str | Path,
    settings: Settings,
    products: tuple[str, ...] | list[str] = ("notes", "podcast"),
    password: str | None = None,
    progress: Progress | None = None,
) -> DocumentResult:
    """Run the stages that `products` needs for one document and write its outputs under `out_dir`.

    `products` may name: extract, notes, script, podcast (podcast implies script; script and notes imply extract).
    """
    start = time.perf_counter()
    document = extract_document(source, password=password, ocr_lang=settings.extract.ocr_lang)
    seconds = round(time.perf_counter() - start, 3)
    if progress:
        progress({"event": "stage", "stage": "extract", "seconds": seconds})
    return process_extracted(document, out_dir, settings, products, progress, timings={"extract": seconds})


def process_extracted(
    document: Document,
    out_dir: str | Path,
    settings: Settings,
    products: tuple[str, ...] | list[str] = ("notes", "podcast"),
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> DocumentResult:
    """`process_document` for a Document already in hand (a notebook's sources joined into one)."""
    source = document.source
    out_dir = Path(out_dir)
    result = DocumentResult(source=str(source), out_dir=str(out_dir), products=list(products),
                            options=_options(settings, products), timings=dict(timings or {}))

    def timed(stage, fn, *args, **kwargs):
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        result.timings[stage] = round(time.perf_counter() - start, 3)
        if progress:
            progress({"event": "stage", "stage": stage, "seconds": result.timings[stage]})
        return value

    result.warnings.extend(document.warnings)
    if any(p in products for p in ("notes", "script", "podcast")):
        settings = resolve_languages(settings, document)  # "auto": the language the document is written in
        result.options = _options(settings, products)
    if "extract" in products:
        result.files["extract"] = str(write_document(document, out_dir))
    wants_llm = any(p in products for p in ("notes", "script", "podcast"))
    if wants_llm:
        cache_dir = out_dir / ".cache"  # the document's own answer cache: a rerun of it makes no calls
        study = settings.notes.only if "notes" in products else []
        with open_llm(settings) as llm:
            llm.progress = progress
            chunks = timed("chunk", chunk_document, document, settings.chunk, llm.tokenizer)
            result.source_tokens = llm.tokenizer.count("\n\n".join(block.text for block in document.blocks))
            notes = timed("notes", run_notes, document, chunks, llm, settings, cache_dir, products=study)
            if not notes.key_points:  # run_notes refuses too; an empty document must never be reported done
                raise BackendUnavailable(f"{source}: the notes are empty; the document is not done")
            notes.files = write_study(notes, document, out_dir, study)
            result.files.update(notes.files)
            result.grounding = {name: counts.model_dump() for name, counts in notes.grounding.items()}
            result.warnings.extend(notes.warnings)
            if "script" in products or "podcast" in products:
                scripted = timed("script", run_script, document, notes, llm, settings, cache_dir)
                script = scripted.script
                result.files.update(write_script(script, out_dir))
                figures = script_figures(script, document, scripted.stats.target_words)
                result.script = {**scripted.stats.model_dump(), "figures": figures.model_dump()}
                result.warnings.extend(scripted.stats.warnings)
            result.usage = llm.usage.totals()
            result.usage_by_stage = llm.usage.by_stage()
            result.cost_usd = llm.usage.cost_usd()
        if "podcast" in products:
            from .outputs.podcast import write_podcast
            from .stages.podcast import (
                render_podcast,  # here: numpy, scipy and the TTS engines load only for audio
            )

            def podcast_files():
                rendered, mixed = render_podcast(script, settings, progress=progress)
                audio = settings.audio
                rendered.files = write_podcast(mixed, out_dir, audio.title or script.title, audio.artist, audio.album)
                return rendered

            podcast = timed("podcast", podcast_files)
            result.files.update(podcast.files)
            result.podcast = podcast.model_dump(exclude={"files"})
            result.warnings.extend(podcast.warnings)
    page = write_page(out_dir, result.files.values(), settings.notes.language)  # the products of this run only
    if page:
        result.files["page"] = str(page)
    write_report(result, out_dir)
    return result


def _options(settings: Settings, products) -> dict:
    """What report.json records of the settings, so a reader knows what shaped these outputs."""
    options: dict = {"chunk": settings.chunk.model_dump(), "llm_model": settings.llm.model, "llm_tier": settings.llm.tier}
    if any(p in products for p in ("notes", "script", "podcast")):
        options["notes"] = settings.notes.model_dump()
    if any(p in products for p in ("script", "podcast")):
        options["script"] = settings.script.model_dump()
    if "podcast" in products:
        options["tts"] = settings.tts.model_dump(exclude={"api_key"})
        options["audio"] = settings.audio.model_dump()
    return options
