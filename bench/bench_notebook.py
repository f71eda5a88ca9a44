"""make bench-notebook: a notebook of many generated documents, how adding scales and how well retrieval finds answers.

Documents come from tests/corpus.py: each describes an invented institution in sentences every document shares but
for the name and the numbers, with five facts whose questions are worded differently from their sentences. Printed:
- adding: seconds per document for the second and the last tenth added (a ratio near 1: work proportional to the
  document, not to the notebook);
- retrieval: recall@5 (the fact's sentence among the 5 best sentences) and latency per question of the FTS5 index,
  next to a brute-force scan (every clean sentence read and scored with the same BM25 in Python), as ratios, and
  how often the answer is among the sentences `ask` shows the model;
- with --ask N: N questions answered by the embedded model through `ask`, and how many cite the right source and
  page (slow: a model call each).

Usage: python bench/bench_notebook.py [--documents 200] [--ask 0] [--tier small] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import corpus  # noqa: E402

from notebooklm_clone.notebook import add_file, open_notebook, search, search_terms  # noqa: E402
from notebooklm_clone.notebook.answer import HITS, PASSAGES  # noqa: E402
from notebooklm_clone.notebook.answer import _passages as passages  # noqa: E402

TOP = 5
_TOKEN = re.compile(r"\w+")


def build(folder: Path, count: int) -> tuple[Path, list[corpus.FactDocument], list[float]]:
    docs_dir, nb = folder / "docs", folder / "nb"
    docs_dir.mkdir(parents=True, exist_ok=True)
    docs = corpus.fact_documents(count)
    for doc in docs:
        if not (docs_dir / doc.file_name).exists():
            corpus.write_pdf(doc, docs_dir)
    seconds = []
    with open_notebook(nb, create=True) as conn:
        for doc in docs:
            start = time.perf_counter()
            outcome = add_file(conn, docs_dir / doc.file_name)
            if outcome.action == "failed":
                raise SystemExit(f"{doc.file_name}: {outcome.error}")
            seconds.append(time.perf_counter() - start)
    return nb, docs, seconds


def scan(conn, terms: list[str], stemmer) -> list[tuple[int, str, int]]:
    """Brute force: every clean sentence read from the database and scored with Okapi BM25 in Python."""
    rows = conn.execute("SELECT s.id, s.text, s.page, s.source_id FROM sentences s WHERE s.clean").fetchall()
    wanted = {stemmer(t) for t in terms}
    tokenised = [[stemmer(w) for w in _TOKEN.findall(r["text"].lower())] for r in rows]
    n, average = len(rows), sum(map(len, tokenised)) / max(1, len(rows))
    df = Counter(t for tokens in tokenised for t in set(tokens) if t in wanted)
    scored = []
    for row, tokens in zip(rows, tokenised):
        counts = Counter(t for t in tokens if t in wanted)
        score = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * c * 2.2 / (c + 1.2 * (0.25 + 0.75 * len(tokens)
                                                                                            / average))
                    for t, c in counts.items())
        if score > 0:
            scored.append((score, row["text"], row["page"]))
    scored.sort(key=lambda x: -x[0])
    return [(0, text, page) for _, text, page in scored[:TOP]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--ask", type=int, default=0, help="questions to answer with the embedded model")
    parser.add_argument("--tier", default="small")
    parser.add_argument("--keep", type=Path, default=None, help="build the notebook here and keep it")
    args = parser.parse_args()
    from notebooklm_clone.stages.verify import stem

    with tempfile.TemporaryDirectory(prefix="bench-notebook-") as tmp:
        folder = args.keep or Path(tmp)
        start = time.perf_counter()
        nb, docs, seconds = build(folder, args.documents)
        tenth = max(1, len(seconds) // 10)  # the first document also loads PyMuPDF: the second tenth is compared
        first, last = statistics.mean(seconds[tenth:2 * tenth]), statistics.mean(seconds[-tenth:])
        print(f"notebook: {len(docs)} documents, {len(docs) * 3} pages, built in {time.perf_counter() - start:.1f}s")
        print(f"add: {first * 1000:.0f} ms per document for the second tenth, {last * 1000:.0f} ms for the last "
              f"(ratio {last / first:.2f}; 1.0 = proportional to the document alone)")
        facts = [(doc, fact) for doc in docs for fact in doc.facts]
        with open_notebook(nb) as conn:
            names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM sources")}
            fts_ms, scan_ms, fts_hit, scan_hit, shown_hit = [], [], 0, 0, 0
            for doc, fact in facts:
                terms = search_terms(fact.question)
                t0 = time.perf_counter()
                hits = search(conn, terms, TOP)
                fts_ms.append((time.perf_counter() - t0) * 1000)
                fts_hit += any(h.text == fact.sentence and h.page == fact.page
                               and names[h.source_id] == doc.file_name for h in hits)
                _, shown = passages(conn, search(conn, terms, HITS))
                shown_hit += any(s.text == fact.sentence and s.page == fact.page
                                 and names[s.source_id] == doc.file_name for s in shown)
                t0 = time.perf_counter()
                scanned = scan(conn, terms, stem)
                scan_ms.append((time.perf_counter() - t0) * 1000)
                scan_hit += any(text == fact.sentence and page == fact.page for _, text, page in scanned)
            sentences = conn.execute("SELECT count(*) FROM sentences WHERE clean").fetchone()[0]
        q = len(facts)
        fts_p50, scan_p50 = statistics.median(fts_ms), statistics.median(scan_ms)
        print(f"retrieval over {sentences:,} sentences, {q} questions:")
        print(f"  FTS5 BM25   recall@{TOP} {fts_hit / q:.3f}  p50 {fts_p50:.2f} ms  p95 "
              f"{sorted(fts_ms)[int(q * 0.95)]:.2f} ms  max {max(fts_ms):.2f} ms")
        print(f"  brute scan  recall@{TOP} {scan_hit / q:.3f}  p50 {scan_p50:.2f} ms  p95 "
              f"{sorted(scan_ms)[int(q * 0.95)]:.2f} ms")
        print(f"  the answer among the sentences `ask` shows the model ({PASSAGES} passages of a hit and its "
              f"neighbours): {shown_hit / q:.3f}")
        print(f"  ratios: FTS5 is {scan_p50 / fts_p50:.0f}x faster than the scan at p50; recall "
              f"{fts_hit / max(1, scan_hit):.2f}x the scan's")
        if args.ask:
            ask_questions(nb, facts[:: max(1, len(facts) // args.ask)][: args.ask], args.tier)


def ask_questions(nb: Path, facts, tier: str) -> None:
    from notebooklm_clone.config import load_settings
    from notebooklm_clone.llm.endpoints import open_llm
    from notebooklm_clone.notebook import ask

    right = found = 0
    start = time.perf_counter()
    with open_notebook(nb) as conn, open_llm(load_settings().with_overrides(**{"llm.tier": tier})) as llm:
        for doc, fact in facts:
            answer = ask(conn, llm, fact.question)
            found += answer.found
            right += answer.found and all(c.source == doc.file_name for c in answer.citations) and any(
                c.page == fact.page and fact.answer in c.quote for c in answer.citations)
    n = len(facts)
    print(f"ask ({tier} tier): {right}/{n} answered citing the right source and page, {found}/{n} answered, "
          f"{(time.perf_counter() - start) / n:.1f} s per question")


if __name__ == "__main__":
    main()
