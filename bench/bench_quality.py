#!/usr/bin/env python3
"""Study-material and script quality on real PDFs (make bench-quality): how far each document's outputs can be trusted.

Speed and memory benches say nothing about whether the notes are right. This one runs `notebooklm-clone script` (the
notes, then the podcast script; `notes` alone with --no-script) on every PDF of --docs (smallest first) and measures each output folder from its files alone: the faithful and
duplicate shares of the study items (`notebooklm-clone check --json`, the script left out), the share of the body's
sections that got at least one key point or fact, the balance of the quiz's answer letters, and the U+FFFD
characters left in the text. A folder with a script.json also gets the script's figures (stages/script_figures.py:
length, host questions, turn lengths, repetition, meta-talk, impersonation, filler, fragments, unsupported facts,
coverage), in a second table. As only files are read, --from-outputs measures folders an older version wrote with
the same code, for a before/after comparison. Note: `check` records its figures in each folder's report.json.

Usage: python bench/bench_quality.py [--tier default|small] [--docs DIR] [--out DIR] [--only a,b] [--from-outputs]
                                    [--no-script]
Results: OUT/quality.json. Exit 0 when at least one document was measured, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_OUTPUTS = ("summary", "key_points", "glossary", "qa", "quiz", "cards")
MAX_LETTER_SHARE = 0.40  # quiz answers: no letter above this share ...
MIN_QUIZ_JUDGED = 5  # ... once the quiz has this many questions
SHOWN_UNSUPPORTED = 5


def pdfs(docs: Path, only: list[str]) -> list[Path]:
    """The documents to run, smallest first so the first rows come in quickly."""
    found = [p for p in docs.glob("*.pdf") if not only or any(s in p.stem for s in only)]
    return sorted(found, key=lambda p: (p.stat().st_size, p.name))


def existing_outputs(out_root: Path, docs: Path, only: list[str]) -> list[Path]:
    """Output folders already in OUT, ordered like their PDFs (by size) when those are in --docs."""
    folders = [d for d in out_root.iterdir()
               if d.is_dir() and not d.name.startswith(".") and (not only or any(s in d.name for s in only))]
    size = {p.stem: p.stat().st_size for p in docs.glob("*.pdf")} if docs.is_dir() else {}
    return sorted(folders, key=lambda d: (size.get(d.name, float("inf")), d.name))


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def generate(pdf: Path, out_root: Path, tier: str, script: bool = True) -> dict:
    """One `script` run (the notes, then the script from them) or, with script=False, one `notes` run; a failure is
    recorded, not raised, so the other documents still run."""
    command = [sys.executable, "-m", "notebooklm_clone", "script" if script else "notes", str(pdf), "-o",
               str(out_root), "--tier", tier]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = round(time.perf_counter() - start, 1)
    return {"seconds": seconds, "exit": run.returncode, "error": last_line(run.stderr) if run.returncode else ""}


def recorded_seconds(out_dir: Path) -> float | None:
    """The stage timings an earlier run left in report.json (model start-up excluded), for --from-outputs."""
    try:
        timings = json.loads((out_dir / "report.json").read_text()).get("timings") or {}
        return round(sum(timings.values()), 1) if timings else None
    except (OSError, ValueError, AttributeError):
        return None


def faithfulness(out_dir: Path) -> dict:
    """The audit of the study outputs: pooled counts, per-output shares and the unsupported items."""
    command = [sys.executable, "-m", "notebooklm_clone", "check", str(out_dir), "--json"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        return {"error": f"check exit {run.returncode}: {last_line(run.stderr)}"}
    report = json.loads(run.stdout)
    outputs = [o for o in report["outputs"] if o["output"] != "script"]
    checked = sum(o["checked"] for o in outputs)
    supported = sum(o["supported"] for o in outputs)
    duplicate = sum(o["duplicate"] for o in outputs)
    unsupported = [{"output": i["output"], "number": i["number"], "text": i["text"], "reasons": i["reasons"]}
                   for i in report["items"] if i["output"] != "script" and not i["supported"]]
    return {
        "checked": checked, "supported": supported, "duplicate": duplicate,
        "faithful": share(supported, checked), "duplicate_share": share(duplicate, checked),
        "items": {o["output"]: o["checked"] for o in outputs},
        "faithful_by_output": {o["output"]: o["faithful"] for o in outputs if o["output"] in STUDY_OUTPUTS},
        "unsupported": unsupported,
        "script_figures": report.get("script_figures"),  # None without a script
    }


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def extracted(source: Path):
    """The source extracted again, as the notes and the script were made from it."""
    sys.path.insert(0, str(ROOT))
    from notebooklm_clone.sources import extract_document

    return extract_document(source)


def coverage(document, notes: dict) -> dict:
    """Body sections (stages/script_figures.py: top-level, MIN_SECTION_WORDS or more, references and acknowledgements
    out) that a key point rests on.

    The document is split into its sentences; a key point's sentences are its own evidence when it carries any, else
    where its text is found in the document (outputs of versions without evidence), so one rule measures both."""
    from notebooklm_clone.stages.evidence import find_evidence, sentence_index
    from notebooklm_clone.stages.script_figures import body_sections, top_section

    index = sentence_index(document)
    by_id = {s.id: s for s in index}
    sections = set(body_sections(index))
    covered = set()
    for point in notes.get("key_points", []):
        ids = [e["sentence_id"] for e in point.get("evidence") or []]
        if not ids:
            found = find_evidence(document, point.get("text", ""), pages=point.get("pages"), index=index)
            ids = [found.sentence_id] if found else []
        covered |= {top_section(by_id[i].section) for i in ids if i in by_id}
    return {"covered": len(sections & covered), "total": len(sections),
            "uncovered": [title for title in sorted(sections) if title not in covered]}


def quiz_letters(notes: dict) -> dict:
    """Answer letters of the quiz; a model that always answers "A" makes a quiz one can pass without reading."""
    return letter_balance(Counter((q.get("answer") or "?").strip()[:1].upper() or "?" for q in notes.get("quiz", [])))


def letter_balance(letters: Counter) -> dict:
    n = sum(letters.values())
    max_share = share(max(letters.values()), n) if n else None
    ok = max_share <= MAX_LETTER_SHARE if n >= MIN_QUIZ_JUDGED else None
    return {"n": n, "counts": dict(sorted(letters.items())), "max_share": max_share, "ok": ok}


def replacement_chars(out_dir: Path) -> int:
    """U+FFFD in the written text: a sign of text broken in extraction or decoding."""
    files = [*out_dir.glob("*.md"), *out_dir.glob("*.csv"), out_dir / "notes.json"]
    return sum(f.read_text(errors="replace").count("\ufffd") for f in files if f.is_file())


def measure(out_dir: Path, source: Path) -> dict:
    if not (out_dir / "notes.json").is_file():
        return {"error": "no notes.json (the run failed, or is still going)"}
    row: dict = {"audit": faithfulness(out_dir)}
    try:
        notes = json.loads((out_dir / "notes.json").read_text())
    except (OSError, ValueError) as error:
        row["error"] = f"notes.json: {error}"
        return row
    document = extracted(source)
    row["coverage"] = coverage(document, notes)
    row["quiz"] = quiz_letters(notes)
    row["replacement_chars"] = replacement_chars(out_dir)
    if row["audit"].get("script_figures"):  # check measured the script against the same source
        row["script"] = row["audit"].pop("script_figures")
    return row


def measured(row: dict) -> bool:
    return "error" not in row and "error" not in row.get("audit", {"error": ""})


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def letters_cell(quiz: dict) -> str:
    if not quiz.get("n"):
        return "-"
    counts = quiz["counts"]
    shown = " ".join(f"{k}{counts.get(k, 0)}" for k in sorted(set("ABCD") | set(counts)))
    return f"{shown} ({percent(quiz['max_share'])}{'' if quiz['ok'] is not False else ' !'})"


def totals(rows: list[dict]) -> dict:
    """Pooled over all measured documents: items, not documents, carry the weight."""
    good = [r for r in rows if measured(r)]
    checked = sum(r["audit"]["checked"] for r in good)
    letters: Counter[str] = Counter()
    for r in good:
        letters.update(r["quiz"]["counts"])
    return {
        "documents": len(good), "checked": checked,
        "faithful": share(sum(r["audit"]["supported"] for r in good), checked),
        "duplicate_share": share(sum(r["audit"]["duplicate"] for r in good), checked),
        "covered": sum(r["coverage"]["covered"] for r in good), "sections": sum(r["coverage"]["total"] for r in good),
        "quiz": letter_balance(letters),
        "replacement_chars": sum(r["replacement_chars"] for r in good),
        "seconds": round(sum(r.get("seconds") or 0 for r in rows), 1),
    }


def print_table(rows: list[dict], total: dict) -> None:
    header = ("document", "seconds", "items", "faithful", "duplicate", "coverage", "quiz letters (max share)", "U+FFFD")
    lines = []
    for r in rows:
        seconds = "-" if r.get("seconds") is None else f"{r['seconds']:.0f}"
        if not measured(r):
            error = r.get("error") or r.get("audit", {}).get("error", "")
            lines.append((r["document"], seconds, f"FAILED: {error}"[:100]))
            continue
        a, c = r["audit"], r["coverage"]
        lines.append((r["document"], seconds, str(a["checked"]), percent(a["faithful"]), percent(a["duplicate_share"]),
                      f"{c['covered']}/{c['total']}", letters_cell(r["quiz"]),
                      str(r["replacement_chars"])))
    lines.append(("TOTAL", f"{total['seconds']:.0f}", str(total["checked"]), percent(total["faithful"]),
                  percent(total["duplicate_share"]), f"{total['covered']}/{total['sections']}",
                  letters_cell(total["quiz"]), str(total["replacement_chars"])))
    # a failed row's message runs on past the columns: only its document and seconds count for the widths
    widths = [max(len(line[i]) for line in [header, *lines] if len(line) == len(header) or i < 2)
              for i in range(len(header))]
    for line in [header, *lines]:
        print("  ".join(v.ljust(w) if i in (0, 6) else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths))))


def print_script_table(rows: list[dict]) -> None:
    """One row per document with a script: is it the length asked for, does the host ask, is it said once, does it
    read the paper's structure aloud or pretend to be its authors, and are its facts in the source."""
    header = ("script", "words/target", "host ?", "turn med/max", "repeated", "meta-talk", "impersonation", "filler",
              "fragments", "unsupported", "coverage")
    lines = []
    for r in rows:
        f = r.get("script")
        if not f or not measured(r):
            continue
        if "error" in f:
            lines.append((r["document"], f"FAILED: {f['error']}"[:100]))
            continue
        length = f"{f['words']}/{f['target_words']}" if f["target_words"] else str(f["words"])
        lines.append((r["document"], length, percent(f["host_question_share"]),
                      f"{f['median_turn_words']:g}/{f['max_turn_words']}", percent(f["repeated_share"]),
                      str(len(f["meta_talk"])), str(len(f["impersonation"])), str(f["filler_turns"]),
                      str(f["fragment_turns"]),
                      f"{len(f['unsupported'])}/{f['fact_sentences']} ({percent(f['unsupported_share'])})",
                      percent(f["coverage"])))
    if not lines:
        return
    widths = [max(len(line[i]) for line in [header, *lines] if len(line) == len(header) or i < 1)
              for i in range(len(header))]
    print()
    for line in [header, *lines]:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths))))


def print_details(rows: list[dict]) -> None:
    """What fails, so a reader can judge the figures: uncovered sections and the first unsupported items."""
    for r in rows:
        if not measured(r):
            continue
        uncovered, unsupported = r["coverage"]["uncovered"], r["audit"]["unsupported"]
        print(f"\n{r['document']}:")
        print(f"  uncovered sections ({len(uncovered)}): " + ("; ".join(uncovered) or "none"))
        print(f"  unsupported items ({len(unsupported)}){':' if unsupported else ': none'}")
        for item in unsupported[:SHOWN_UNSUPPORTED]:
            print(f"    {item['output']} #{item['number']}: {clipped(item['text'])} [{'; '.join(item['reasons'])}]")
        figures = r.get("script") or {}
        for key in ("meta_talk", "impersonation", "unsupported") if "error" not in figures else ():
            found = figures[key]
            print(f"  script {key.replace('_', '-')} ({len(found)}){':' if found else ': none'}")
            for sentence in found[:SHOWN_UNSUPPORTED]:
                print(f"    {clipped(sentence)}")


def clipped(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 140 else text[:139] + "…"


def write_results(path: Path, data: dict) -> None:
    """Atomic, so a reader never sees half a file."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(temp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tier", choices=("small", "default"), default="default", help="embedded LLM tier")
    parser.add_argument("--docs", type=Path, default=ROOT.parent / "shared" / "eval" / "docs", help="folder of PDFs")
    parser.add_argument("--out", type=Path, help="output root (default: .bench/quality/<tier> in the repo)")
    parser.add_argument("--only", default="", help="comma-separated substrings of the document names to keep")
    parser.add_argument("--from-outputs", action="store_true", help="measure the folders in --out, generate nothing")
    parser.add_argument("--no-script", action="store_true", help="generate the study notes only, no script")
    args = parser.parse_args()
    docs = args.docs if args.docs.is_absolute() else ROOT / args.docs
    out_root = (args.out or ROOT / ".bench" / "quality" / args.tier).resolve()
    only = [s.strip() for s in args.only.split(",") if s.strip()]

    if args.from_outputs:
        if not out_root.is_dir():
            print(f"no output folder {out_root}")
            return 1
        folders = existing_outputs(out_root, docs, only)
        print(f"quality bench: measuring {len(folders)} existing output folder(s) in {out_root}", flush=True)
    else:
        sources = pdfs(docs, only)
        folders = [out_root / p.stem for p in sources]
        out_root.mkdir(parents=True, exist_ok=True)
        print(f"quality bench: notes with the {args.tier} tier for {len(sources)} document(s) from {docs} "
              f"into {out_root}", flush=True)

    rows = []
    for index, out_dir in enumerate(folders):
        row: dict = {"document": out_dir.name, "out_dir": str(out_dir)}
        if args.from_outputs:
            row["seconds"] = recorded_seconds(out_dir)
        else:
            run = generate(sources[index], out_root, args.tier, not args.no_script)
            row.update(seconds=run["seconds"], exit=run["exit"])
            if run["exit"] != 0:
                row["error"] = f"exit {run['exit']}: {run['error']}"
        if "error" not in row:
            row.update(measure(out_dir, docs / f"{out_dir.name}.pdf"))
        rows.append(row)
        state = "measured" if measured(row) else "FAILED"
        print(f"  {row['document']}: {state} ({row['seconds'] if row['seconds'] is not None else '-'} s)", flush=True)

    total = totals(rows)
    print()
    print_table(rows, total)
    print(f"(quiz: ! = one letter answers over {MAX_LETTER_SHARE:.0%} of {MIN_QUIZ_JUDGED}+ questions)")
    if args.from_outputs:
        print("(seconds: stage timings recorded in each report.json, model start-up excluded)")
    print_script_table(rows)
    print_details(rows)
    results = {"tier": None if args.from_outputs else args.tier, "from_outputs": args.from_outputs,
               "docs": str(docs), "out": str(out_root), "documents": rows, "total": total}
    if out_root.is_dir():
        write_results(out_root / "quality.json", results)
        print(f"\nresults: {out_root / 'quality.json'}")
    return 0 if total["documents"] else 1


if __name__ == "__main__":
    sys.exit(main())
