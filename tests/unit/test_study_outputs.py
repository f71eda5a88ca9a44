"""The study files a student opens elsewhere: the Anki deck shows card text as text, the CSV never runs a formula."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile

from notebooklm_clone.models import Card, NotesResult
from notebooklm_clone.outputs.study import cards_csv, write_apkg

HOSTILE = [
    Card(front="<script>alert(1)</script> What is a <b>tun</b>?", back="A & B < C", pages=[1], kind="qa"),
    Card(front="=HYPERLINK(\"http://example.invalid\",\"click\")", back="+1 -2 @SUM(A1)", pages=[2], kind="term"),
]


def result() -> NotesResult:
    return NotesResult(document="0" * 64, title="Hostile cards", cards=HOSTILE)


def test_anki_fields_are_escaped_text(tmp_path):
    path = write_apkg(result(), tmp_path / "cards.apkg")
    with zipfile.ZipFile(path) as package:
        (tmp_path / "collection.anki2").write_bytes(package.read("collection.anki2"))
    with sqlite3.connect(tmp_path / "collection.anki2") as db:
        fields = [row[0].split("\x1f") for row in db.execute("select flds from notes order by id")]
    fronts = {f[0] for f in fields}
    assert "&lt;script&gt;alert(1)&lt;/script&gt; What is a &lt;b&gt;tun&lt;/b&gt;?" in fronts
    assert not any("<script>" in field for row in fields for field in row)
    assert any(row[1] == "A &amp; B &lt; C" for row in fields)


def test_csv_cells_never_start_a_formula(tmp_path):
    rows = list(csv.reader(io.StringIO(cards_csv(result()))))
    assert rows[0] == ["front", "back", "pages", "kind"]
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell[:1] in "=+-@\t\r" for cell in cells if cell)
    assert rows[2][0] == "'=HYPERLINK(\"http://example.invalid\",\"click\")" and rows[2][1] == "'+1 -2 @SUM(A1)"
    assert rows[1][0] == HOSTILE[0].front  # plain text stays as it was


def test_a_one_page_summary_says_page_and_has_no_empty_section_list():
    from notebooklm_clone.models import Cited, Document, SectionSummary, Summary
    from notebooklm_clone.outputs.study import summary_markdown

    memo = Document(source="memo.pdf", sha256="0" * 64, title="Memo", page_count=1)
    point = Cited(text="Forty-two tardigrades were counted.", pages=[1])
    summary = NotesResult(document="0" * 64, title="Memo", summary=Summary(
        abstract=[point], sections=[SectionSummary(title="Memo", pages=[1])]))
    text = summary_markdown(summary, memo)
    assert "(1 page)" in text and "Section by section" not in text
    summary.summary.sections[0].sentences = [point]
    two = memo.model_copy(update={"page_count": 2})
    text = summary_markdown(summary, two)
    assert "(2 pages)" in text and "## Section by section" in text and "### Memo (p. 1)" in text


def test_each_section_is_listed_once_even_when_a_later_chunk_notes_an_earlier_sections_sentence():
    """alexnet's notes listed "2 The Dataset" twice: a point that chunk 9 took from section 2 came after section 5."""
    from notebooklm_clone.models import ChunkNotes, Cited
    from notebooklm_clone.outputs.study import sections

    def chunk(n: int, section: str, text: str) -> ChunkNotes:
        return ChunkNotes(chunk=n, section=[section], pages=[n], key_points=[Cited(text=text, pages=[n])])

    notes = NotesResult(document="0" * 64, title="Paper", chunk_notes=[
        chunk(0, "2 The Dataset", "ImageNet has 15 million images."), chunk(1, "5 Details", "The batch size is 128."),
        chunk(2, "2 The Dataset", "Test labels of ILSVRC-2012 are unavailable.")])
    assert [(s, [p.text for p in points]) for s, points in sections(notes)] == [
        (["2 The Dataset"], ["ImageNet has 15 million images.", "Test labels of ILSVRC-2012 are unavailable."]),
        (["5 Details"], ["The batch size is 128."])]
