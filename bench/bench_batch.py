"""Batch throughput: documents/minute with 1 vs 2 jobs, LLM response cache cold and warm, and the time of a full
rerun when nothing changed. Printed as ratios measured in one run (timings are noisy).

    .venv/bin/python bench/bench_batch.py [--docs 4] [--products notes|extract]
    .venv/bin/python bench/bench_batch.py --manifest [--entries 10000] [--files 100] [--file-mb 4]

With the notes product it uses the 0.5B embedded model on ONE llama.cpp server shared by every run (as a batch
does); `--products extract` measures the batch machinery without an LLM. `--manifest` measures the bookkeeping
alone: the cost of recording one state change in a manifest of `--entries` documents (a journal line, against
rewriting batch.json whole as every state change once did) and of planning a rerun of `--files` unchanged files
(size and mtime compared, against reading and hashing every byte as a first run does).
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
    from notebooklm_clone.llm.embedded import embedded_settings

    # the model comes from the user cache dir (where it is assembled once); the run's answers go to `cache_dir`
    with embedded_settings(Settings(llm={"tier": "small", "context_size": 4096})) as served:
        yield served.with_overrides(cache_dir=str(cache_dir))


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


def big_manifest(batch: Batch, entries: int) -> None:
    """`entries` finished documents with the outputs, timings and usage a notes run records."""
    from notebooklm_clone.batch import Entry

    for i in range(entries):
        rel = f"folder{i // 100:03d}/document-{i:05d}.pdf"
        stem = rel[:-4]
        batch.manifest.documents[rel] = Entry(
            path=rel, state="done", sha256="ab" * 32, size=123456, mtime_ns=1700000000000000000,
            settings_hash="0123456789abcdef", products=["notes"], out_dir=stem, title=f"Document {i}",
            files={k: f"{stem}/{k}.md" for k in ("summary", "notes", "quiz", "cards_csv", "cards_apkg", "notes_data")},
            timings={"extract": 0.2, "chunk": 0.02, "notes": 48.3},
            usage={"calls": 7, "prompt_tokens": 5210, "cached_tokens": 0, "completion_tokens": 1630, "cache_hits": 0},
            attempts=1, started_at="2024-01-01T00:00:00.000+00:00", finished_at="2024-01-01T00:00:49.100+00:00",
            seconds=49.1)


def per_call(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def bench_manifest(entries: int, files: int, file_mb: int) -> None:
    from notebooklm_clone.batch import MANIFEST_NAME, load_manifest
    from notebooklm_clone.store import atomic_write_json

    work = Path(tempfile.mkdtemp(prefix="bench-manifest-"))
    try:
        settings = Settings(cache_dir=str(work / "cache"))
        (work / "in").mkdir()
        (work / "in" / "one.md").write_text("# One\n", encoding="utf-8")
        batch = Batch(work / "in", work / "out", settings, products=["extract"])
        batch.out.mkdir(parents=True)
        big_manifest(batch, entries)
        entry = next(iter(batch.manifest.documents.values()))
        rewrite = per_call(lambda: atomic_write_json(batch.manifest_path, batch.manifest), 10)
        size_mb = (batch.out / MANIFEST_NAME).stat().st_size / 1e6
        batch.write_summary()
        journal = per_call(lambda: batch.record(entry), 200)
        load = per_call(lambda: load_manifest(batch.out), 3)
        batch.write_summary()

        corpus = work / "corpus"
        corpus.mkdir()
        block = os.urandom(1 << 20)
        for i in range(files):
            with open(corpus / f"file{i:04d}.txt", "wb") as handle:
                for k in range(file_mb):
                    handle.write(block[k + i:] + block[:k + i])
        planner = Batch(corpus, work / "out-corpus", settings, products=["extract"])
        planner.out.mkdir(parents=True)
        start = time.perf_counter()
        planner.plan()
        first_plan = time.perf_counter() - start
        planner.write_summary()
        rerun_plan = min(per_call(Batch(corpus, work / "out-corpus", settings, products=["extract"]).plan, 1)
                         for _ in range(3))
        print(f"bench_batch --manifest ({os.cpu_count()} cores)")
        print(f"  one state change, {entries} entries: journal line {journal * 1000:.2f} ms; rewriting batch.json "
              f"whole ({size_mb:.1f} MB) {rewrite * 1000:.0f} ms ({rewrite / journal:.0f}x)")
        print(f"  loading the manifest of {entries} entries plus 200 journal lines: {load * 1000:.0f} ms")
        print(f"  planning {files} files of {file_mb} MB: first run (hashes every byte) {first_plan:.3f} s, "
              f"rerun with nothing changed (size + mtime) {rerun_plan:.4f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=4)
    parser.add_argument("--products", default="notes", choices=["notes", "extract"])
    parser.add_argument("--manifest", action="store_true", help="Measure the manifest and rerun bookkeeping only.")
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--file-mb", type=int, default=4)
    args = parser.parse_args()
    if args.manifest:
        bench_manifest(args.entries, args.files, args.file_mb)
        return
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
