#!/usr/bin/env python3
"""Faithfulness verifier accuracy on a labelled set built at run time from real documents (bench/verifier_set.py).

Documents are split in two halves (alternately, by file name): the content-overlap threshold is calibrated on the
first and the same threshold is reported on both, so the held-out half shows whether it carries over. Per kind it
prints the catch rate (unsupported kinds) or pass rate (supported kinds), then precision and recall of "flagged as
unsupported", the pairs per document and the wall time. Targets: catch >= 90% and pass >= 90%.

Usage: python bench/bench_verifier.py [DOCS...]   (default: ../shared/eval/docs/*.pdf and samples/*.pdf)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from verifier_set import SUPPORTED_KINDS, UNSUPPORTED_KINDS, Pair, pairs_for  # noqa: E402

from notebooklm_clone.errors import BadInput  # noqa: E402
from notebooklm_clone.sources import extract_document  # noqa: E402
from notebooklm_clone.stages.verify import GENERIC_BELOW, MIN_OVERLAP, verify  # noqa: E402

TARGET = 0.9
GRID = [round(0.30 + 0.05 * i, 2) for i in range(11)]  # 0.30 .. 0.80


def default_docs() -> list[Path]:
    return sorted((ROOT.parent / "shared" / "eval" / "docs").glob("*.pdf")) + sorted((ROOT / "samples").glob("*.pdf"))


def load_pairs(paths: list[Path]) -> tuple[list[Pair], list[str]]:
    pairs, skipped = [], []
    for path in paths:
        try:
            document = extract_document(path, ocr=False)
        except BadInput as error:
            skipped.append(f"{path.name}: {error}")
            continue
        pairs.extend(pairs_for(path.name, document))
    return pairs, skipped


def scored(pairs: list[Pair]) -> list[tuple[Pair, float, bool]]:
    """(pair, score, hard failure) with the overlap threshold left out, so any threshold can be applied later."""
    out = []
    for pair in pairs:
        verdict = verify(pair.statement, pair.evidence, min_overlap=0.0)
        out.append((pair, verdict.score, not verdict.supported))
    return out


def rates(rows, threshold: float) -> dict[str, float]:
    flagged = {id(p): hard or score < threshold for p, score, hard in rows}
    result = {}
    for kind in SUPPORTED_KINDS + UNSUPPORTED_KINDS:
        mine = [p for p, _, _ in rows if p.kind == kind]
        if mine:
            good = sum(flagged[id(p)] != p.supported for p in mine)
            result[kind] = good / len(mine)
    bad = [p for p, _, _ in rows if not p.supported]
    good = [p for p, _, _ in rows if p.supported]
    caught = sum(flagged[id(p)] for p in bad)
    false_alarms = sum(flagged[id(p)] for p in good)
    result["catch"] = caught / max(1, len(bad))
    result["pass"] = 1 - false_alarms / max(1, len(good))
    result["precision"] = caught / max(1, caught + false_alarms)
    result["recall"] = result["catch"]
    return result


def calibrate(rows) -> float:
    """The grid threshold with the best worse-of-two (catch, pass) rate; ties go to the better mean."""
    return max(GRID, key=lambda t: (round(min(rates(rows, t)["catch"], rates(rows, t)["pass"]), 3),
                                    rates(rows, t)["catch"] + rates(rows, t)["pass"]))


def table(title: str, rows, threshold: float) -> None:
    r = rates(rows, threshold)
    counts = Counter(p.kind for p, _, _ in rows)
    print(f"\n{title} (threshold {threshold:.2f}, {len(rows)} pairs)")
    print(f"  {'kind':<12} {'pairs':>5}  rate")
    for kind in SUPPORTED_KINDS:
        if kind in r:
            print(f"  {kind:<12} {counts[kind]:>5}  pass  {r[kind]:6.1%}")
    for kind in UNSUPPORTED_KINDS:
        if kind in r:
            print(f"  {kind:<12} {counts[kind]:>5}  catch {r[kind]:6.1%}")
    ok = "ok" if r["catch"] >= TARGET and r["pass"] >= TARGET else "BELOW TARGET"
    print(f"  overall: catch {r['catch']:.1%}, pass {r['pass']:.1%}, precision {r['precision']:.1%}, "
          f"recall {r['recall']:.1%}  [{ok}]")


def misses(rows, threshold: float, limit: int) -> None:
    shown = 0
    for pair, score, hard in rows:
        flagged = hard or score < threshold
        if flagged == pair.supported and shown < limit:
            verdict = verify(pair.statement, pair.evidence, min_overlap=threshold)
            print(f"  [{pair.kind}] {pair.document} score {score:.2f} {verdict.reasons}\n    S: {pair.statement[:160]}"
                  f"\n    E: {pair.evidence[:160]}")
            shown += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", nargs="*", type=Path)
    parser.add_argument("--show-misses", type=int, default=0, help="print this many wrong verdicts per half")
    args = parser.parse_args()
    paths = sorted(args.docs or default_docs(), key=lambda p: p.name)
    start = time.perf_counter()
    pairs, skipped = load_pairs(paths)
    built = time.perf_counter()
    rows = scored(pairs)
    checked = time.perf_counter()
    names = [p.name for p in paths if any(x.document == p.name for x in pairs)]
    halves = (set(names[0::2]), set(names[1::2]))
    calibration = [r for r in rows if r[0].document in halves[0]]
    held_out = [r for r in rows if r[0].document in halves[1]]

    print(f"verifier bench: {len(pairs)} labelled pairs from {len(names)} documents")
    for line in skipped:
        print(f"  skipped {line}")
    print(f"calibration half: {', '.join(sorted(halves[0]))}")
    print(f"held-out half:    {', '.join(sorted(halves[1])) or '(none)'}")
    best = calibrate(calibration) if calibration else MIN_OVERLAP
    print(f"\nthreshold calibrated on the calibration half: {best:.2f}; shipped MIN_OVERLAP = {MIN_OVERLAP:.2f}, "
          f"GENERIC_BELOW = {GENERIC_BELOW:.2f}" + ("" if best == MIN_OVERLAP else "  (differ: update verify.py)"))
    curve = [(t, rates(calibration, t)) for t in GRID] if calibration else []
    print("  calibration curve (threshold: catch/pass): " + ", ".join(
        f"{t:.2f}: {r['catch']:.0%}/{r['pass']:.0%}" for t, r in curve))
    table("calibration half", calibration, MIN_OVERLAP)
    if held_out:
        table("held-out half (not used for calibration)", held_out, MIN_OVERLAP)
    table("all documents", rows, MIN_OVERLAP)
    if args.show_misses:
        print("\nwrong verdicts, calibration half:")
        misses(calibration, MIN_OVERLAP, args.show_misses)
        print("wrong verdicts, held-out half:")
        misses(held_out, MIN_OVERLAP, args.show_misses)

    print("\npairs per document (supported / unsupported):")
    for name in names:
        mine = [p for p in pairs if p.document == name]
        ok = sum(p.supported for p in mine)
        print(f"  {name:<48} {ok:>4} / {len(mine) - ok:<4}")
    print(f"\nwall time: {checked - start:.2f} s (extract + build {built - start:.2f} s, verify {checked - built:.2f} s, "
          f"{1000 * (checked - built) / max(1, len(rows)):.2f} ms a pair)")
    r = rates(rows, MIN_OVERLAP)
    return 0 if r["catch"] >= TARGET and r["pass"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
