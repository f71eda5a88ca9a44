"""Notebooks given awkward input, without a model: file names that are not UTF-8, Chinese and Japanese text,
questions made of search syntax, a reader while another process writes, two files with one name, a source whose
file is gone, and the joined Document keeping each source's annotations."""

from __future__ import annotations

import os
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
from notebooklm_clone.notebook import add_file, list_sources, open_notebook, refresh, search, search_terms, snapshot
from notebooklm_clone.notebook import db
from notebooklm_clone.notebook.combine import combined_document
from notebooklm_clone.notebook.index import neighbours

CHINESE = "深度学习是机器学习的一个分支。它使用多层神经网络来学习数据的表示。\n\n北京是中国的首都，人口超过两千万。\n"
JAPANESE = "東京は日本の首都です。人口は約千四百万人です。\n\n富士山は日本で一番高い山です。\n"
FRENCH = "La forêt française couvre un tiers du territoire.\n\nLes énergies renouvelables réduisent les émissions.\n"


def cli(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def write(folder: Path, name: str | bytes, text: str) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
    path.write_text(text, encoding="utf-8")
    return path


def found(conn, question: str, language: str) -> list[str]:
    return [h.text for h in search(conn, search_terms(question, language), limit=3)]


def test_a_notebook_folder_whose_name_is_not_utf8_is_studied_under_a_printable_name(tmp_path):
    nb = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"nb\xff")))
    with open_notebook(nb, create=True) as conn:
        add_file(conn, write(tmp_path, "fr.md", FRENCH))
        document = combined_document(conn, nb)
    assert document.source.endswith("nb%FF") and document.model_dump_json()


def test_a_file_name_that_is_not_utf8_is_added_refreshed_and_removed(tmp_path):
    path = write(tmp_path, b"caf\xe9.md", "Tardigrades survive ten days in open space without any protection.\n")
    other = write(tmp_path, "plain.md", "Glaciers store most of the fresh water of the planet.\n")
    result = cli("notebook", "add", tmp_path / "nb", path, other)
    assert result.exit_code == 0, result.output
    assert "added caf%E9.md" in result.stdout and "added plain.md" in result.stdout
    with open_notebook(tmp_path / "nb") as conn:
        assert found(conn, "How long do tardigrades survive?", "en")
        assert [o.action for o in refresh(conn)] == ["unchanged", "unchanged"]
        path.write_text("Tardigrades survive twenty days in open space.\n", encoding="utf-8")
        os.utime(path, ns=(1, 1))
        assert [o.action for o in refresh(conn)] == ["updated", "unchanged"]
    removed = cli("notebook", "remove", tmp_path / "nb", "caf%E9.md")
    assert removed.exit_code == 0 and removed.stdout == "removed caf%E9.md\n"


def test_chinese_and_japanese_words_are_found_as_well_as_french_ones(tmp_path):
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        for name, text in (("zh.md", CHINESE), ("ja.md", JAPANESE), ("fr.md", FRENCH)):
            assert add_file(conn, write(tmp_path, name, text)).action == "added"
        assert found(conn, "北京的人口是多少？", "zh")[0].startswith("北京是中国的首都")
        assert found(conn, "什么是深度学习", "zh")[0].startswith("深度学习是机器学习")
        assert found(conn, "学习", "zh")  # a two-character word
        assert found(conn, "日本で一番高い山は？", "ja")[0].startswith("富士山")
        assert found(conn, "foret francaise", "fr")[0].startswith("La forêt française")
        assert found(conn, "énergie renouvelable", "fr")  # diacritics folded, plural stemmed
        assert found(conn, "北京 forêt", "zh") and len(found(conn, "北京 forêt", "zh")) == 2
        conn.execute("INSERT INTO sentences_fts(sentences_fts, rank) VALUES ('integrity-check', 1)")


def test_a_version_1_notebook_is_migrated_and_its_chinese_text_becomes_searchable(tmp_path):
    nb = tmp_path / "nb"
    nb.mkdir()
    old = sqlite3.connect(nb / db.DB_NAME, isolation_level=None)
    for statement in db._statements(db.MIGRATIONS[0]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO sources (id, path, name, sha256, size, mtime_ns, state) "
                "VALUES (1, '/x/zh.md', 'zh.md', '', 0, 0, 'indexed')")
    old.execute("INSERT INTO sentences (source_id, sid, ordinal, page, text) VALUES (1, 's1', 0, 1, ?)",
                ("北京是中国的首都。",))
    old.close()
    with open_notebook(nb) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == db.VERSION
        assert found(conn, "北京", "zh") == ["北京是中国的首都。"]
        conn.execute("DELETE FROM sources")  # the triggers remove what they indexed
        conn.execute("INSERT INTO sentences_fts(sentences_fts, rank) VALUES ('integrity-check', 1)")


@pytest.mark.parametrize("question", ['"*(OR NEAR', "NEAR(a b) AND NOT *", '"""', "^x:y -z {a b}", "？！。"])
def test_a_question_made_of_search_syntax_finds_nothing_without_an_error(tmp_path, question):
    with open_notebook(tmp_path / "nb", create=True) as conn:
        add_file(conn, write(tmp_path, "a.md", FRENCH))
        assert search(conn, search_terms(question, "en")) == []


def test_a_reader_does_not_wait_for_another_process_writing(tmp_path, monkeypatch):
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        add_file(conn, write(tmp_path, "fr.md", FRENCH))
    writer = subprocess.Popen(  # holds the write lock, as `notebook add` does while it stores a source
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); c.execute('UPDATE sources SET title = 1'); print('locked', flush=True); "
         "time.sleep(30)", str(nb / db.DB_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 2000)
        started = time.monotonic()
        with open_notebook(nb) as conn:
            assert [(s.name, s.title) for s in list_sources(conn)] == [("fr.md", "fr")]  # not the writer's title
            assert found(conn, "forêt", "fr")
        assert time.monotonic() - started < 1.5
    finally:
        writer.kill()
        writer.wait()


def test_two_files_with_one_name_get_names_that_tell_them_apart(tmp_path):
    (tmp_path / "2023").mkdir(), (tmp_path / "2024").mkdir()
    first, second = write(tmp_path / "2023", "report.md", FRENCH), write(tmp_path / "2024", "report.md", CHINESE)
    with open_notebook(tmp_path / "nb", create=True) as conn:
        assert [add_file(conn, p).name for p in (first, second)] == ["report.md", "2024/report.md"]
        assert add_file(conn, second).name == "2024/report.md"  # unchanged, and still so named
        document = combined_document(conn, tmp_path / "nb")
    assert sorted({name for name, _ in document.page_sources.values()}) == ["2024/report.md", "report.md"]
    assert cli("notebook", "remove", tmp_path / "nb", "2024/report.md").exit_code == 0


def test_the_joined_document_keeps_each_sources_annotations_on_its_own_pages(tmp_path):
    plain = pdfs.make_pdf(tmp_path / "plain.pdf", "glaciology", pages=2)
    marked = pdfs.annotated_pdf(tmp_path / "marked.pdf")
    with open_notebook(tmp_path / "nb", create=True) as conn:
        for path in (plain, marked):
            assert add_file(conn, path).action == "added"
        document = combined_document(conn, tmp_path / "nb")
    assert document.annotations and {a.page for a in document.annotations} == {3}
    highlight = next(a for a in document.annotations if a.quote)
    assert document.page_text(highlight.page)[highlight.start:highlight.end] == highlight.quote
    assert document.page_sources[3] == ("marked.pdf", 1)


def test_a_source_whose_file_is_gone_is_named_in_the_warnings_until_refresh_drops_it(tmp_path):
    gone = write(tmp_path, "gone.md", FRENCH)
    kept = write(tmp_path, "kept.md", CHINESE)
    with open_notebook(tmp_path / "nb", create=True) as conn:
        add_file(conn, gone), add_file(conn, kept)
        gone.unlink()
        warnings = combined_document(conn, tmp_path / "nb").warnings
        assert any(w.startswith("gone.md: ") and "notebook refresh" in w for w in warnings)
        assert [o.action for o in refresh(conn)] == ["removed", "unchanged"]
        document = combined_document(conn, tmp_path / "nb")
    assert {name for name, _ in document.page_sources.values()} == {"kept.md"}
    assert "forêt" not in " ".join(b.text for b in document.blocks)


def test_usage_errors_leave_no_notebook_behind_and_name_a_failed_source(tmp_path):
    result = cli("notebook", "add", tmp_path / "nb", tmp_path / "missing.pdf")
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert not (tmp_path / "nb").exists()
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\nbroken")
    failed = cli("notebook", "add", tmp_path / "nb", tmp_path / "bad.pdf")
    assert failed.exit_code == 5 and failed.stderr.splitlines()[-1] == "error: 1 of 1 sources failed"
    notes = cli("notes", tmp_path / "nb", "--sources", "bad.pdf")
    assert notes.exit_code == 2 and "bad.pdf failed" in notes.stderr and "Traceback" not in notes.output


def test_ask_and_chat_refuse_a_wrong_or_failed_source_before_any_model_is_reached(tmp_path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\nbroken")
    cli("notebook", "add", tmp_path / "nb", tmp_path / "bad.pdf", write(tmp_path, "fr.md", FRENCH))
    nowhere = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "x"}  # no model answers there
    for args in (["ask", tmp_path / "nb", "Where is the forest?"], ["chat", tmp_path / "nb"]):
        for chosen, why in (("nope.md", "nope.md is not in this notebook"), ("bad.pdf", "bad.pdf failed when")):
            result = CliRunner().invoke(main, [*map(str, args), "--sources", chosen], env=nowhere, input="hi\n")
            assert result.exit_code == 2 and why in result.stderr, (args, result.output)


def test_reads_in_a_snapshot_still_see_a_source_another_process_indexes_again_meanwhile(tmp_path):
    source = write(tmp_path, "fr.md", FRENCH)
    with open_notebook(tmp_path / "nb", create=True) as conn:
        add_file(conn, source)
        with snapshot(conn):  # as `ask` reads: search, then the hit's neighbours and its source's name
            hit = search(conn, search_terms("forêt", "fr"))[0]
            source.write_text(FRENCH.replace("forêt", "lande"), encoding="utf-8")
            os.utime(source, ns=(1, 1))
            again = subprocess.run([sys.executable, "-m", "notebooklm_clone", "notebook", "add", str(tmp_path / "nb"),
                                    str(source)], capture_output=True, text=True, timeout=120)
            assert again.returncode == 0 and again.stdout.startswith("updated fr.md"), again.stderr
            assert [r["text"] for r in neighbours(conn, hit)][0] == hit.text
            assert conn.execute("SELECT name FROM sources WHERE id = ?", (hit.source_id,)).fetchone()["name"] == "fr.md"
        assert search(conn, search_terms("forêt", "fr")) == [] and search(conn, search_terms("lande", "fr"))


def test_pages_number_on_from_source_to_source_even_when_a_document_lists_no_pages(tmp_path):
    first, second = pdfs.make_pdf(tmp_path / "a.pdf", "glaciology", pages=2), write(tmp_path, "b.md", FRENCH)
    with open_notebook(tmp_path / "nb", create=True) as conn:
        third = corpus.fact_documents(1)[0]
        for path in (first, second, corpus.write_pdf(third, tmp_path)):
            assert add_file(conn, path).action == "added"
        stored = conn.execute("SELECT document FROM sources WHERE name = 'b.md'").fetchone()[0]
        conn.execute("UPDATE sources SET document = ? WHERE name = 'b.md'",
                     (stored.replace('"pages":[{"number":1,"ocr":false,"empty":false}]', '"pages":[]'),))
        document = combined_document(conn, tmp_path / "nb")
    assert '"pages":[]' not in stored  # the edit above did take the page list away
    assert document.page_count == 6 and [p.number for p in document.pages] == [1, 2, 3, 4, 5, 6]
    assert document.page_sources == {1: ("a.pdf", 1), 2: ("a.pdf", 2), 3: ("b.md", 1), 4: (third.file_name, 1),
                                     5: (third.file_name, 2), 6: (third.file_name, 3)}
    assert {b.page for b in document.blocks if "forêt" in b.text} == {3}
    assert {b.page for b in document.blocks if third.facts[3].sentence in b.text} == {3 + third.facts[3].page}
    assert [b.section[0] for b in document.blocks if b.page == 3] == ["b"] * 2
