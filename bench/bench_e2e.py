#!/usr/bin/env python3
"""End to end speed (make bench-e2e): PDF to notes and podcast with the embedded model, every LLM call made.

For a sample and one document of --docs (alexnet-2012.pdf when present, else the smallest), it runs the whole
pipeline once (no answer cache) against one embedded server and prints, per document: wall time per stage, LLM calls,
prompt tokens sent and prompt tokens the server evaluated (prefix reuse skips the rest) per source token, generated
tokens, the prompt-lookup drafts' acceptance rate, the seconds spent in all-core and one-core generation steps, and
the ratio of the wall time to the hardware bound of the same run: the source read once at the measured prompt speed,
the generated tokens at the measured generation speed, and the measured speech time.

Usage: python bench/bench_e2e.py [--docs DIR] [--only NAME] [--no-sample] [--tier default|small]
                                 [--generation auto|all-cores|one-core] [--no-drafts] [--out DIR]
Results: OUT/e2e.json. Exit 0 when every document finished.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notebooklm_clone.batch.runner import page_count
from notebooklm_clone.config import load_settings
from notebooklm_clone.llm.embedded import embedded_settings
from notebooklm_clone.pipeline import process_document

TARGET_S = 8 * 60  # a ~10-page paper, PDF to notes and podcast


def server_stats(base_url: str) -> dict | None:
    """The embedded server's decoder counters (None from a server without them: an older version, for a before and
    after comparison)."""
    try:
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/stats", timeout=10) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def difference(after: dict | None, before: dict | None) -> dict | None:
    """The decoder counters of one document: what changed between two /stats readings."""
    if after is None or before is None:
        return None
    modes = {name: {k: after["modes"][name][k] - before["modes"][name][k] for k in ("steps", "tokens", "seconds",
                                                                                   "drafted", "accepted")}
             for name in after["modes"]}
    keys = ("generated_tokens", "generation_seconds", "drafted", "accepted", "prompt_tokens", "prompt_seconds")
    return {"modes": modes, **{k: after[k] - before[k] for k in keys}}


def documents(docs: Path, only: str | None, sample: bool = True) -> list[Path]:
    chosen = [ROOT / "samples" / "tardigrades.pdf"] if sample else []
    found = sorted(docs.glob("*.pdf"), key=lambda p: p.stat().st_size) if docs.is_dir() else []
    if only:
        found = [p for p in found if only in p.stem]
    paper = next((p for p in found if p.stem == "alexnet-2012"), found[0] if found else None)
    return chosen + ([paper] if paper else [])


def measure(pdf: Path, out: Path, settings) -> dict:
    before = server_stats(settings.llm.base_url)
    start = time.perf_counter()
    result = process_document(pdf, out / pdf.stem, settings, products=("notes", "podcast"))
    wall = time.perf_counter() - start
    source_tokens = result.source_tokens
    decoded = difference(server_stats(settings.llm.base_url), before)
    usage = result.usage
    speech = (result.podcast or {}).get("timings", {}).get("speech", 0.0)
    row = {"document": pdf.name, "pages": page_count(pdf), "source_tokens": source_tokens,
           "wall_s": round(wall, 1), "stages_s": result.timings, "calls": usage.get("calls", 0),
           "prompt_tokens_sent": usage.get("prompt_tokens", 0),
           "sent_per_source": round(usage.get("prompt_tokens", 0) / source_tokens, 2),
           "generated_tokens": usage.get("completion_tokens", 0), "speech_s": speech,
           "audio_s": (result.podcast or {}).get("duration_s"), "usage_by_stage": result.usage_by_stage}
    if decoded is None:
        return row
    prompt_speed = decoded["prompt_tokens"] / decoded["prompt_seconds"] if decoded["prompt_seconds"] else None
    all_cores = decoded["modes"]["all-cores"]
    generation_speed = (all_cores["tokens"] / all_cores["seconds"] if all_cores["seconds"] > 5
                        else decoded["generated_tokens"] / decoded["generation_seconds"])
    bound = source_tokens / prompt_speed + decoded["generated_tokens"] / generation_speed + speech \
        if prompt_speed else None
    return {**row,
        "prompt_tokens_evaluated": decoded["prompt_tokens"],
        "evaluated_per_source": round(decoded["prompt_tokens"] / source_tokens, 2),
        "acceptance": round(decoded["accepted"] / decoded["drafted"], 3) if decoded["drafted"] else None,
        "drafted": decoded["drafted"], "accepted": decoded["accepted"],
        "modes": decoded["modes"],
        "prompt_tok_s": round(prompt_speed, 1) if prompt_speed else None,
        "generation_tok_s": round(generation_speed, 1),
        "bound_s": round(bound, 1) if bound else None,
        "ratio_to_bound": round(wall / bound, 2) if bound else None,
    }


def show(row: dict) -> None:
    stages = ", ".join(f"{k} {v:.0f}s" for k, v in row["stages_s"].items() if v >= 0.5)
    if "modes" not in row:  # a server without decoder counters
        print(f"\n{row['document']} ({row['pages']} pages, {row['source_tokens']:,} source tokens)\n"
              f"  wall {row['wall_s']:.0f}s ({row['wall_s'] / 60:.1f} min): {stages}\n"
              f"  calls {row['calls']}; prompt tokens / source tokens: sent {row['sent_per_source']}; "
              f"generated {row['generated_tokens']:,} tokens", flush=True)
        return
    modes = ", ".join(f"{name} {m['tokens']} tok in {m['seconds']:.0f}s" for name, m in row["modes"].items()
                      if m["tokens"])
    acceptance = f"{row['acceptance']:.0%} of {row['drafted']} drafted" if row["acceptance"] is not None else "none"
    print(f"\n{row['document']} ({row['pages']} pages, {row['source_tokens']:,} source tokens)\n"
          f"  wall {row['wall_s']:.0f}s ({row['wall_s'] / 60:.1f} min): {stages}\n"
          f"  calls {row['calls']}; prompt tokens / source tokens: sent {row['sent_per_source']}, "
          f"evaluated {row['evaluated_per_source']}\n"
          f"  generated {row['generated_tokens']:,} tokens ({modes}); drafts accepted: {acceptance}\n"
          f"  measured speeds: prompt {row['prompt_tok_s']} tok/s, generation {row['generation_tok_s']} tok/s; "
          f"speech {row['speech_s']:.0f}s for {row['audio_s'] or 0:.0f}s of audio\n"
          f"  hardware bound {row['bound_s']}s; wall / bound = {row['ratio_to_bound']}", flush=True)
    for stage, usage in row["usage_by_stage"].items():
        print(f"    {stage:10} {usage.get('calls', 0):3} calls  {usage.get('prompt_tokens', 0):6} prompt  "
              f"{usage.get('completion_tokens', 0):5} generated")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", default=str(ROOT.parent / "shared" / "eval" / "docs"))
    parser.add_argument("--only", default=None, help="the --docs document whose name contains this")
    parser.add_argument("--tier", default="default", choices=("default", "small"))
    parser.add_argument("--generation", default=None, choices=("auto", "all-cores", "one-core"))
    parser.add_argument("--no-drafts", action="store_true")
    parser.add_argument("--no-sample", action="store_true", help="only the --docs document")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    overrides = {"llm.tier": args.tier, "llm.use_cache": False}
    if args.generation:
        overrides["llm.generation"] = args.generation
    if args.no_drafts:
        overrides["llm.drafts"] = False
    settings = load_settings().with_overrides(**overrides)
    rows, failed = [], 0
    with embedded_settings(settings) as served:
        stats = server_stats(served.llm.base_url) or {"cores": "?", "generation": "one core (no /stats)"}
        print(f"embedded {served.llm.model}, {stats['cores']} cores, generation {stats['generation']}, "
              f"drafts {'off' if args.no_drafts else 'on'}; outputs in {out}")
        for pdf in documents(Path(args.docs), args.only, sample=not args.no_sample):
            try:
                rows.append(measure(pdf, out, served))
                show(rows[-1])
            except Exception as exc:
                failed += 1
                print(f"\n{pdf.name}: failed: {exc}", flush=True)
    (out / "e2e.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    for row in rows:
        if row["pages"] >= 8:
            verdict = "within" if row["wall_s"] <= TARGET_S else "over"
            print(f"\n{row['document']}: {row['wall_s'] / 60:.1f} min, {verdict} the {TARGET_S // 60}-minute target")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
