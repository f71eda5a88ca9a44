"""A reader's annotations (tests/pdfs.annotated_pdf, made with real PyMuPDF annotations): out of the body text, kept
in Document.annotations, shown in notes.md as the reader's, and a highlighted sentence among the key points."""

from __future__ import annotations

import pdfs

from notebooklm_clone.config import ChunkSettings
from notebooklm_clone.llm.tokens import get_tokenizer
from notebooklm_clone.models import ChunkNotes, Cited, GroundingCounts, NotesResult
from notebooklm_clone.outputs.study import notes_markdown
from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.chunk import chunk_document
from notebooklm_clone.stages.coverage import every_highlight_noted
from notebooklm_clone.stages.evidence import evidence_for
from notebooklm_clone.stages.grounding import Source


def annotated(tmp_path):
    return extract_document(pdfs.annotated_pdf(tmp_path / "annotated.pdf"))


def test_annotations_are_kept_apart_from_the_body_text(tmp_path):
    doc = annotated(tmp_path)
    assert [b.text for b in doc.blocks] == pdfs.ANNOTATED
    body = " ".join(b.text for b in doc.blocks)
    for words in ("exaggerated", "professor", "permafrost", "alpine", "exam"):
        assert words not in body
    marks = {a.kind: a for a in doc.annotations}
    assert set(marks) == {"Highlight", "FreeText", "Text"} and {a.page for a in doc.annotations} == {1}
    assert marks["FreeText"].text == pdfs.READER_NOTE and marks["FreeText"].rect == (72.0, 300.0, 400.0, 340.0)
    assert marks["Text"].text == pdfs.STICKY_NOTE
    highlight = marks["Highlight"]
    assert highlight.text == "exam!" and highlight.quote == pdfs.HIGHLIGHTED
    assert doc.page_text(1)[highlight.start:highlight.end] == pdfs.HIGHLIGHTED


def test_notes_md_shows_the_marks_as_the_readers_own(tmp_path):
    doc = annotated(tmp_path)
    source = Source(doc)
    point = Cited(text=pdfs.ANNOTATED[0], pages=[1], evidence=evidence_for(source.index, [source.index[0].id]))
    result = NotesResult(document=doc.sha256, title="Glaciers",
                         chunk_notes=[ChunkNotes(chunk=0, pages=[1], key_points=[point])])
    text = notes_markdown(result, doc)
    key_points, _, rest = text.partition("## Your highlights and notes")
    mine = rest.partition("## Glossary")[0]
    assert f'- p. 1, highlighted "{pdfs.HIGHLIGHTED}"; your note: "exam!"' in mine
    assert f'- p. 1, your note: "{pdfs.READER_NOTE}"' in mine and f'your note: "{pdfs.STICKY_NOTE}"' in mine
    assert "professor" not in key_points and "alpine" not in key_points and "exam" not in key_points


def test_a_highlighted_sentence_is_among_the_key_points_once(tmp_path):
    doc = annotated(tmp_path)
    chunks = chunk_document(doc, ChunkSettings(), get_tokenizer("fallback"))
    source = Source(doc)
    first = Cited(text=pdfs.ANNOTATED[0], pages=[1], evidence=evidence_for(source.index, [source.index[0].id]))
    notes = [ChunkNotes(chunk=chunks[0].index, pages=[1], key_points=[first])]
    counts = GroundingCounts()
    notes = every_highlight_noted(notes, chunks, source, counts)
    points = [p for n in notes for p in n.key_points]
    assert [p.text for p in points] == [pdfs.ANNOTATED[0], pdfs.HIGHLIGHTED]
    assert points[1].grounding == "quoted" and points[1].evidence[0].quote == pdfs.HIGHLIGHTED
    assert counts.quoted == 1
    again = every_highlight_noted(notes, chunks, source, counts)  # already a point: not added twice
    assert [p.text for n in again for p in n.key_points] == [pdfs.ANNOTATED[0], pdfs.HIGHLIGHTED]
    assert not any("professor" in p.text or "exam" in p.text for n in again for p in n.key_points)


def test_a_highlight_a_point_says_from_another_sentence_is_not_added_again(tmp_path):
    """A sentence printed twice (a caption under two tables) is one point, whichever copy the reader marked."""
    doc = annotated(tmp_path)
    chunks = chunk_document(doc, ChunkSettings(), get_tokenizer("fallback"))
    source = Source(doc)
    other = evidence_for(source.index, [source.index[0].id])
    notes = [ChunkNotes(chunk=chunks[0].index, pages=[1], facts=[Cited(text=pdfs.HIGHLIGHTED, pages=[1],
                                                                       evidence=other)])]
    notes = every_highlight_noted(notes, chunks, source, GroundingCounts())
    assert [p.text for n in notes for p in n.key_points + n.facts] == [pdfs.HIGHLIGHTED]


def test_without_a_highlight_no_point_is_added(tmp_path):
    doc = annotated(tmp_path)
    doc = doc.model_copy(update={"annotations": [a for a in doc.annotations if a.kind != "Highlight"]})
    chunks = chunk_document(doc, ChunkSettings(), get_tokenizer("fallback"))
    notes = every_highlight_noted([], chunks, Source(doc), GroundingCounts())
    assert notes == []


def test_a_highlight_over_a_glyph_with_no_character_quotes_the_words_without_it():
    """attention-2017's reader highlighted "q · k = \ufffddk i=1 qiki": no output holds a replacement character."""
    import pymupdf

    from notebooklm_clone.sources.annotations import _words_under

    words = [(0, 0, 10, 10, "q"), (12, 0, 20, 10, "·"), (22, 0, 40, 10, "\ufffddk"), (42, 0, 60, 10, "qiki")]
    quad = pymupdf.Rect(0, 0, 60, 10).quad
    assert _words_under(words, [quad.ul, quad.ur, quad.ll, quad.lr]) == "q · dk qiki"
