"""Notebooks without a model: the real SQLite database (schema, migrations, WAL, foreign keys, FTS5), sources added,
changed, removed and failing, `kill -9` during `add` and two `add` at once (real processes)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import corpus
import pdfs
import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.errors import BadInput, UsageError
from notebooklm_clone.notebook import add_file, list_sources, open_notebook, refresh, search, search_terms
from notebooklm_clone.notebook.db import VERSION, connect, fts_text

SAMPLES = pdfs.ROOT / "samples"


def cli(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def consistent(nb: Path) -> dict:
    """Integrity of the file and of the full-text index, and every indexed source with its sentences indexed."""
    conn = sqlite3.connect(nb / "notebook.db")
    conn.create_function("fts_text", 1, fts_text)  # how the index sees the text (db.py)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO sentences_fts(sentences_fts, rank) VALUES ('integrity-check', 1)")  # raises if not
    empty = conn.execute("SELECT count(*) FROM sources s WHERE state = 'indexed' AND NOT EXISTS "
                         "(SELECT 1 FROM sentences t WHERE t.source_id = s.id AND t.clean)").fetchone()[0]
    assert empty == 0
    orphans = conn.execute("SELECT count(*) FROM sentences t LEFT JOIN sources s ON s.id = t.source_id "
                           "WHERE s.id IS NULL").fetchone()[0]
    assert orphans == 0
    counts = {"sources": conn.execute("SELECT count(*) FROM sources WHERE state = 'indexed'").fetchone()[0],
              "sentences": conn.execute("SELECT count(*) FROM sentences WHERE clean").fetchone()[0]}
    conn.close()
    return counts


def test_a_new_notebook_has_the_schema_wal_and_foreign_keys(tmp_path):
    with open_notebook(tmp_path / "nb", create=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"sources", "sentences", "sentences_fts"} <= tables


def test_a_notebook_from_a_newer_version_is_refused_and_garbage_is_bad_input(tmp_path):
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    with pytest.raises(UsageError, match="newer notebooklm-clone"):
        connect(nb)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notebook.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(BadInput, match="not a usable notebook database"):
        connect(other)
    with pytest.raises(UsageError, match="is not a notebook"):
        connect(tmp_path / "missing")


def test_sources_are_indexed_searched_by_bm25_changed_and_removed(tmp_path):
    nb, docs = tmp_path / "nb", corpus.fact_documents(3)
    paths = [corpus.write_pdf(d, tmp_path) for d in docs]
    with open_notebook(nb, create=True) as conn:
        outcomes = [add_file(conn, p) for p in [SAMPLES / "tardigrades.pdf", *paths]]
        assert [o.action for o in outcomes] == ["added"] * 4 and all(o.sentences > 3 for o in outcomes)
        assert add_file(conn, paths[0]).action == "unchanged"
        fact = docs[1].facts[2]  # "Who leads the X station?" -> "... directed by NAME.": no word in common but X
        hits = search(conn, search_terms(fact.question), limit=5)
        source = {s.id: s.name for s in list_sources(conn)}
        assert {source[h.source_id] for h in hits} == {paths[1].name}
        assert (fact.sentence, fact.page) in [(h.text, h.page) for h in hits]
        fact = docs[2].facts[3]  # "How much money does X spend each year?" -> "The yearly budget of X is ..."
        assert search(conn, search_terms(fact.question), limit=1)[0].text == fact.sentence
        dsup = search(conn, ["dsup"], limit=50)
        assert dsup and {source[h.source_id] for h in dsup} == {"tardigrades.pdf"}

        changed = paths[2]
        changed.write_bytes(pdfs.make_pdf(tmp_path / "replacement.pdf", "glaciology").read_bytes())
        assert add_file(conn, changed).action == "updated"
        assert search(conn, [docs[2].name.lower()]) == []  # its old text is gone from the index
        assert search(conn, ["glaciology"])
        changed.unlink()
        assert [o.action for o in refresh(conn)] == ["unchanged", "unchanged", "unchanged", "removed"]
    counts = consistent(nb)
    assert counts["sources"] == 3

    result = cli("notebook", "remove", nb, paths[0].name)
    assert result.exit_code == 0 and result.stdout == f"removed {paths[0].name}\n"
    with open_notebook(nb) as conn:
        assert search(conn, [docs[0].name.lower()]) == []
        assert [s.name for s in list_sources(conn)] == ["tardigrades.pdf", paths[1].name]
    consistent(nb)


def test_a_corrupt_source_is_recorded_with_its_error_and_the_others_go_on(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    corpus.write_pdf(corpus.fact_documents(1)[0], folder)
    result = cli("notebook", "add", tmp_path / "nb", folder)
    assert result.exit_code == 5
    assert result.stderr.startswith("failed broken.pdf: ") and len(result.stderr.strip().splitlines()) == 2
    assert "1 of 2 sources failed" in result.stderr and "Traceback" not in result.output
    listing = cli("--json", "notebook", "list", tmp_path / "nb")
    states = {s["name"]: s["state"] for s in json.loads(listing.stdout)}
    assert states == {"broken.pdf": "failed", corpus.fact_documents(1)[0].file_name: "indexed"}
    missing = cli("ask", tmp_path / "elsewhere", "anything?")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ") and "is not a notebook" in missing.stderr
    unknown = cli("notebook", "remove", tmp_path / "nb", "nothing.pdf")
    assert unknown.exit_code == 2 and "nothing.pdf is not in this notebook" in unknown.stderr

    # unchanged, the failed file is not read again; --retry reads it; mended, it is indexed by a plain add
    again = cli("notebook", "add", tmp_path / "nb", folder / "broken.pdf")
    assert again.exit_code == 5 and "(unchanged since; --retry reads it again)" in again.stderr
    retried = cli("notebook", "add", "--retry", tmp_path / "nb", folder / "broken.pdf")
    assert retried.exit_code == 5 and "unchanged since" not in retried.stderr
    assert retried.stderr.split(":", 1)[1] == again.stderr.split(":", 1)[1].replace(
        " (unchanged since; --retry reads it again)", "")
    shutil.copy(pdfs.ROOT / "samples" / "scanned-memo.pdf", folder / "broken.pdf")
    mended = cli("notebook", "add", tmp_path / "nb", folder / "broken.pdf")
    assert mended.exit_code == 0, mended.stderr


def _add_process(nb: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "notebooklm_clone", "notebook", "add", str(nb), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _documents(folder: Path, count: int, seed: int) -> list[corpus.FactDocument]:
    folder.mkdir(parents=True)
    docs = corpus.fact_documents(count, seed=seed)
    for doc in docs:
        corpus.write_pdf(doc, folder)
    return docs


def test_kill_9_during_add_leaves_a_consistent_notebook_and_a_rerun_completes_it(tmp_path):
    nb, folder = tmp_path / "nb", tmp_path / "docs"
    _documents(folder, 40, seed=11)
    process = _add_process(nb, folder)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a few sources are in: the kill lands in the middle of the work
        time.sleep(0.05)
        try:
            with sqlite3.connect(nb / "notebook.db", timeout=5) as conn:
                if conn.execute("SELECT count(*) FROM sources").fetchone()[0] >= 5:
                    break
        except sqlite3.OperationalError:  # the database is being created
            continue
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    partial = consistent(nb)
    assert 5 <= partial["sources"] < 40
    rerun = _add_process(nb, folder)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert out.count("unchanged ") == partial["sources"] and out.count("added ") == 40 - partial["sources"]
    assert consistent(nb)["sources"] == 40


def test_two_adds_at_once_take_turns(tmp_path):
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True):
        pass
    first = _documents(tmp_path / "a", 15, seed=21)
    second = _documents(tmp_path / "b", 15, seed=22)
    processes = [_add_process(nb, tmp_path / "a"), _add_process(nb, tmp_path / "b")]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    counts = consistent(nb)
    assert counts["sources"] == len(first) + len(second)
    with open_notebook(nb) as conn:
        for doc in (first[3], second[7]):
            assert search(conn, [doc.name.lower(), "founded"], limit=1)[0].text == doc.facts[0].sentence
