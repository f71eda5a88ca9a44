#!/usr/bin/env python3
"""Extraction speed: extract_document vs bare PyMuPDF `page.get_text()` over the same files (OCR off for both).

Builds bench/corpus/ once (git-ignored): a 320-page report laid out like the sample paper (running headers and
footers, page numbers, headings, hyphenated line ends, a two-column page in every ten) plus the PDFs in samples/.
Prints pages/s for both and the ratio ours/bare (target >= 0.5x). Timings are noisy: each
measurement is the best of several runs, and only the ratio within one run means anything.

Usage: python bench/bench_extract.py [--pages N] [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "corpus"
sys.path.insert(0, str(ROOT))

from notebooklm_clone.sources import extract_document  # noqa: E402


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    module = sys.modules.setdefault("make_samples", importlib.util.module_from_spec(spec))
    if not hasattr(module, "Writer"):
        spec.loader.exec_module(module)
    return module


def build_report(path: Path, pages: int) -> Path:
    """A long report from the sample paper's sections, repeated until it has `pages` pages."""
    ms = _make_samples()
    writer = ms.Writer(header="Long Report on Water Bears - benchmark corpus", footer="notebooklm_clone bench")
    writer.new_page()
    writer.text("A Long Report on Water Bears", "sans-bold", 19, space_after=12)
    part = 0
    while writer.doc.page_count < pages:
        part += 1
        for level, heading, paragraphs in ms.SECTIONS + ms.TWO_COLUMN + ms.LATER:
            if writer.doc.page_count >= pages:
                break
            writer.heading(f"Part {part}. {heading}", level)
            for para in paragraphs:
                writer.text(para)
        if writer.doc.page_count % 10 == 0:
            writer.new_page(columns=2)
        else:
            writer.new_page()
    while writer.doc.page_count > pages:
        writer.doc.delete_page(-1)
    return writer.save(path)


def corpus(pages: int) -> list[Path]:
    report = CORPUS / f"report-{pages}p.pdf"
    if not report.exists():
        print(f"building {report.relative_to(ROOT)} ...", flush=True)
        build_report(report, pages)
    samples = sorted((ROOT / "samples").glob("*.pdf"))
    if not samples:
        _make_samples().main(str(ROOT / "samples"))
        samples = sorted((ROOT / "samples").glob("*.pdf"))
    return [report, *samples]


def bare(path: Path) -> int:
    with pymupdf.open(path) as doc:
        for page in doc:
            page.get_text()
        return doc.page_count


def ours(path: Path) -> int:
    return extract_document(path, ocr=False).page_count if _has_text(path) else 0


def _has_text(path: Path) -> bool:
    with pymupdf.open(path) as doc:
        return any(page.get_text().strip() for page in doc)


def best_rate(fn, files: list[Path], repeat: int) -> tuple[float, int]:
    best = float("inf")
    pages = 0
    for _ in range(repeat):
        start = time.perf_counter()
        pages = sum(fn(f) for f in files)
        best = min(best, time.perf_counter() - start)
    return pages / best, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=320)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = [f for f in corpus(args.pages) if _has_text(f)]  # image-only pages would be OCR work, not extraction
    extract_document(files[-1], ocr=False)  # warm-up: langdetect profiles, imports
    bare_rate, bare_pages = best_rate(bare, files, args.repeat)
    our_rate, our_pages = best_rate(ours, files, args.repeat)
    assert bare_pages == our_pages
    print(f"corpus: {len(files)} PDFs, {our_pages} pages ({', '.join(f.name for f in files)})")
    print(f"bare page.get_text():  {bare_rate:8.1f} pages/s")
    print(f"extract_document:      {our_rate:8.1f} pages/s")
    print(f"ratio ours/bare:       {our_rate / bare_rate:8.2f}x  (target >= 0.50x)")


if __name__ == "__main__":
    main()
