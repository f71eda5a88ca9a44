"""Batch throughput: documents/minute with 1 vs 2 jobs, LLM response cache cold and warm, and the time of a full
rerun when nothing changed. Printed as ratios measured in one run (timings on a shared machine are noisy).

    .venv/bin/python bench/bench_batch.py [--docs 4] [--products notes|extract]

With the notes product it uses the 0.5B embedded model on ONE llama.cpp server shared by every run (as a batch
does); `--products extract` measures the batch machinery without an LLM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import pymupdf

from notebooklm_clone.batch import Batch
from notebooklm_clone.config import Settings

PARAGRAPHS = [
    "Photosynthesis converts light energy into chemical energy. Chlorophyll in the chloroplasts absorbs red and "
    "blue light, and the light reactions split water, releasing oxygen and producing ATP and NADPH.",
    "The Calvin cycle uses ATP and NADPH to fix carbon dioxide into three-carbon sugars. The enzyme RuBisCO "
    "catalyses the first step and is probably the most abundant protein on Earth.",
    "Plants in hot, dry climates use C4 or CAM pathways to limit photorespiration, separating carbon fixation in "
    "space or in time from the Calvin cycle.",
]


def make_corpus(folder: Path, count: int) -> None:
    """`count` small two-page PDFs with distinct text (so no two are duplicates)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        doc = pymupdf.open()
        for page_number in range(2):
            page = doc.new_page()
            page.insert_text((72, 72), f"Study sheet {i + 1}, part {page_number + 1}", fontsize=16)
            text = " ".join(PARAGRAPHS[(i + page_number + k) % len(PARAGRAPHS)] for k in range(2))
            page.insert_textbox(pymupdf.Rect(72, 100, 520, 760), f"{text} (Sheet {i + 1}.)", fontsize=11)
        doc.set_metadata({"title": f"Study sheet {i + 1}"})
        doc.save(folder / f"sheet{i + 1:02d}.pdf")


@contextlib.contextmanager
def llm_endpoint(products: list[str], cache_dir: Path):
    """Settings whose LLM is one shared embedded 0.5B server (none for extract-only runs)."""
    if products == ["extract"]:
        yield Settings(cache_dir=str(cache_dir))
        return
    from notebooklm_clone.embedded import EmbeddedServer

    with EmbeddedServer.for_tier("small", n_ctx=4096) as server:
        yield Settings(llm={"base_url": server.base_url, "api_key": "embedded", "model": server.alias,
                            "tier": "small", "tokenizer": f"gguf:{server.model_path}", "context_size": server.n_ctx},
                       cache_dir=str(cache_dir))


def timed_batch(corpus: Path, out: Path, settings: Settings, products: list[str], jobs: int) -> tuple[float, dict]:
    start = time.perf_counter()
    manifest = Batch(corpus, out, settings, products=products, jobs=jobs).run()
    seconds = time.perf_counter() - start
    counts = manifest.counts()
    if counts["failed"]:
        errors = {e.path: e.error for e in manifest.documents.values() if e.error}
        raise SystemExit(f"bench batch failed: {errors}")
    usage: dict[str, int] = {}
    for entry in manifest.documents.values():
        for key, value in entry.usage.items():
            usage[key] = usage.get(key, 0) + value
    return seconds, usage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=4)
    parser.add_argument("--products", default="notes", choices=["notes", "extract"])
    args = parser.parse_args()
    products = [args.products]
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        corpus = work / "corpus"
        make_corpus(corpus, args.docs)
        rate: dict[str, float] = {}
        with llm_endpoint(products, work / "unused") as base:
            for jobs in (1, 2):
                cache = work / f"cache-{jobs}"
                settings = base.model_copy(update={"cache_dir": str(cache)})
                cold, usage_cold = timed_batch(corpus, work / f"cold-{jobs}", settings, products, jobs)
                warm, usage_warm = timed_batch(corpus, work / f"warm-{jobs}", settings, products, jobs)
                rerun, _ = timed_batch(corpus, work / f"warm-{jobs}", settings, products, jobs)
                rate[f"cold-{jobs}"] = args.docs / cold * 60
                rate[f"warm-{jobs}"] = args.docs / warm * 60
                rate[f"rerun-{jobs}"] = rerun
                print(f"jobs={jobs}: cold {cold:.1f}s ({rate[f'cold-{jobs}']:.1f} docs/min, "
                      f"{usage_cold.get('calls', 0)} LLM calls), warm cache {warm:.1f}s "
                      f"({rate[f'warm-{jobs}']:.1f} docs/min, {usage_warm.get('cache_hits', 0)} cache hits, "
                      f"{usage_warm.get('calls', 0)} calls), rerun with nothing changed {rerun:.2f}s")
        print(f"\nbench_batch ({args.docs} documents, products={args.products}, 0.5B model" if products != ["extract"]
              else f"\nbench_batch ({args.docs} documents, products=extract, no LLM", end="")
        print(f", {os.cpu_count()} cores)")
        print(f"  2 jobs / 1 job throughput, cold cache: {rate['cold-2'] / rate['cold-1']:.2f}x")
        print(f"  2 jobs / 1 job throughput, warm cache: {rate['warm-2'] / rate['warm-1']:.2f}x")
        print(f"  warm / cold cache throughput (1 job):  {rate['warm-1'] / rate['cold-1']:.2f}x")
        print(f"  warm / cold cache throughput (2 jobs): {rate['warm-2'] / rate['cold-2']:.2f}x")
        print(f"  full rerun, nothing changed: {rate['rerun-1']:.2f}s = "
              f"{rate['rerun-1'] / (args.docs / rate['cold-1'] * 60):.3f} of the cold 1-job batch")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
