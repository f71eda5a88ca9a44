"""extract_document on real files built by tests/pdfs.py (PyMuPDF) and the shipped samples; OCR with real Tesseract."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pdfs
import pymupdf
import pytest

from notebooklm_clone.errors import BadInput, UsageError
from notebooklm_clone.sources import KINDS, READERS, SUFFIXES, extract_document
from notebooklm_clone.sources.pdf import find_tessdata
from notebooklm_clone.sources.structure import fix_characters

SAMPLES = pdfs.ROOT / "samples"


def texts(document, kind=None):
    return [b.text for b in document.blocks if kind is None or b.kind == kind]


def test_paper_with_outline_headings_sections_and_pages(tmp_path):
    doc = extract_document(pdfs.paper_pdf(tmp_path / "paper.pdf"))
    assert doc.title == "A Test Paper on Water Bears"
    assert doc.authors == ["Ada Lovelace", "Alan Turing"]
    assert doc.page_count == 3 and [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.language == "en"
    assert doc.warnings == []
    headings = [(b.text, b.level, b.page) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("1 Introduction", 1, 1), ("1.1 Background", 2, 1), ("2 Methods", 1, 2),
                        ("3 Results", 1, 2), ("Appendix A", 1, 3)]
    background = next(b for b in doc.blocks if b.text == pdfs.BACKGROUND)
    assert background.page == 1 and background.section == ["1 Introduction", "1.1 Background"]
    results = next(b for b in doc.blocks if b.text == pdfs.RESULTS)
    assert results.page == 2 and results.section == ["3 Results"]
    assert doc.page_text(2) == "\n\n".join(["2 Methods", pdfs.METHODS, "3 Results", pdfs.RESULTS])


def test_running_headers_footers_and_page_numbers_are_dropped(tmp_path):
    doc = extract_document(pdfs.paper_pdf(tmp_path / "paper.pdf"))
    everything = "\n".join(texts(doc))
    assert pdfs.HEADER not in everything and "Journal" not in everything
    assert pdfs.FOOTER not in everything and "Preprint" not in everything
    assert not any(t.strip().isdigit() for t in texts(doc))
    assert texts(doc)[:3] == ["A Test Paper on Water Bears", "1 Introduction", pdfs.INTRO]


def test_references_are_marked_until_the_next_top_level_heading(tmp_path):
    doc = extract_document(pdfs.paper_pdf(tmp_path / "paper.pdf"))
    assert texts(doc, "references") == ["References", *pdfs.REFERENCES]
    assert all(b.page == 3 for b in doc.blocks if b.kind == "references")
    appendix = [b for b in doc.blocks if b.section == ["Appendix A"]]
    assert [(b.kind, b.text) for b in appendix] == [("heading", "Appendix A"), ("paragraph", pdfs.APPENDIX)]
    assert "References" not in [b.text for b in doc.body_blocks()]


def test_headings_from_font_size_without_outline(tmp_path):
    doc = extract_document(pdfs.paper_pdf(tmp_path / "plain.pdf", toc=False))
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    # the 18pt title is a level-1 heading that sections do not nest under; 13pt -> 1, 11pt -> 2
    assert headings == [("A Test Paper on Water Bears", 1), ("1 Introduction", 1), ("1.1 Background", 2),
                        ("2 Methods", 1), ("3 Results", 1), ("Appendix A", 1)]
    assert texts(doc, "references") == ["References", *pdfs.REFERENCES]
    assert next(b for b in doc.blocks if b.text == pdfs.BACKGROUND).section == ["1 Introduction", "1.1 Background"]


def test_a_title_wrapped_over_two_blocks_holds_no_section(tmp_path):
    writer = pdfs.Writer()
    writer.new_page()
    writer.text("Surviving the Impossible: How Water Bears", "sans-bold", 18)
    writer.text("Endure Drying and Freezing", "sans-bold", 18, space_after=12)
    writer.heading("1 Introduction", 1)
    writer.text(pdfs.INTRO)
    writer.heading("1.1 Background", 2)
    writer.text(pdfs.BACKGROUND)
    writer.heading("2 Methods", 1)
    writer.text(pdfs.METHODS)
    doc = extract_document(writer.save(tmp_path / "wrapped.pdf", toc=False))
    assert doc.title == "Surviving the Impossible: How Water Bears Endure Drying and Freezing"
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"][1:] == [
        ("1 Introduction", 1), ("1.1 Background", 2), ("2 Methods", 1)]
    assert next(b for b in doc.blocks if b.text == pdfs.METHODS).section == ["2 Methods"]


def test_a_masthead_above_the_title_an_author_or_a_date_set_large_are_no_sections(tmp_path):
    """tidy_data filed its abstract under "JSS" (the journal's masthead) and "Hadley Wickham"; alexnet's authors'
    names, set large, were three sections of their own."""
    writer = pdfs.Writer()
    writer.new_page()
    writer.text("JSS", "sans-bold", 20)
    writer.text("A Test Paper on Water Bears", "sans-bold", 18, space_after=12)
    writer.text("Ada Lovelace", "sans-bold", 13)
    writer.text("January 3, 2024", "sans-bold", 13)  # a dateline
    writer.text(pdfs.INTRO)
    writer.heading("1 Methods", 1)
    writer.text(pdfs.METHODS)
    doc = extract_document(writer.save(tmp_path / "byline.pdf", toc=False, metadata={
        "title": "A Test Paper on Water Bears", "author": "Ada Lovelace"}))
    assert [b.text for b in doc.blocks if b.kind == "heading"][-1:] == ["1 Methods"]
    assert not any(b.kind == "heading" and b.text in ("JSS", "Ada Lovelace", "January 3, 2024") for b in doc.blocks)
    assert next(b for b in doc.blocks if b.text == pdfs.INTRO).section in ([], ["A Test Paper on Water Bears"])


def test_a_jump_line_is_no_heading_and_the_article_it_carries_on_is_no_reference(tmp_path):
    """A journal page ends one article's references, then carries another on ("C. A. R. HOARE--cont'd from page
    580"): that line titled a section of its own, and its text was read as references or under it."""
    writer = pdfs.Writer()
    writer.new_page()
    writer.heading("1 Introduction", 1)
    writer.text(pdfs.INTRO)
    writer.text("REFERENCES", "sans-bold", 13)
    writer.text(pdfs.REFERENCES[0])
    writer.text("C. A. R. HOARE--cont'd from page 580", "sans-bold", 13)
    writer.text(pdfs.METHODS)
    doc = extract_document(writer.save(tmp_path / "jump.pdf", toc=False))
    assert [b.text for b in doc.blocks if b.kind == "heading"] == ["1 Introduction"]
    assert next(b for b in doc.blocks if b.text == pdfs.METHODS).kind == "paragraph"
    assert next(b for b in doc.blocks if b.text == pdfs.REFERENCES[0]).kind == "references"


def test_a_formula_code_or_table_row_set_large_is_no_heading(tmp_path):
    writer = pdfs.Writer()
    writer.new_page()
    writer.heading("1 Introduction", 1)
    writer.text(pdfs.INTRO)
    writer.text("If ~-P{Q}R and ~-R D S then ~-P{Q}S", "sans-bold", 14)  # an OCR'd inference rule
    writer.text('R> hod2 <- count(deaths, c("hod", "cod"))', "sans-bold", 14)  # code in a bold face
    writer.text(pdfs.BACKGROUND)
    writer.text("row a b c A 1 4 7 B 2 5 8 C 3 6 9", "sans-bold", 14)  # a table's row set in bold (tidy_data)
    writer.text(pdfs.RESULTS)
    writer.heading("2 Methods", 1)
    writer.text(pdfs.METHODS)
    doc = extract_document(writer.save(tmp_path / "rule.pdf", toc=False))
    assert [b.text for b in doc.blocks if b.kind == "heading"] == ["1 Introduction", "2 Methods"]
    assert next(b for b in doc.blocks if b.text == pdfs.BACKGROUND).section == ["1 Introduction"]


def test_outline_makes_headings_of_body_font_lines(tmp_path):
    doc = extract_document(pdfs.toc_only_headings_pdf(tmp_path / "toc.pdf"))
    assert [(b.text, b.kind, b.level, b.page) for b in doc.blocks] == [
        ("Overview", "heading", 1, 1), (pdfs.INTRO, "paragraph", 0, 1),
        ("Details", "heading", 2, 1), (pdfs.BACKGROUND, "paragraph", 0, 1),
        ("Method", "heading", 1, 2), (pdfs.METHODS, "paragraph", 0, 2)]
    assert doc.blocks[3].section == ["Overview", "Details"]


def test_two_columns_read_left_column_then_right(tmp_path):
    doc = extract_document(pdfs.two_column_pdf(tmp_path / "two.pdf"))
    assert texts(doc) == ["Two Column Page", *pdfs.LEFT, *pdfs.RIGHT,
                          "A closing line that spans the whole page width, below both columns."]


def test_hyphenated_line_breaks_joined_and_compounds_kept(tmp_path):
    doc = extract_document(pdfs.hyphen_pdf(tmp_path / "hyphen.pdf"))
    assert texts(doc) == [pdfs.HYPHEN_TEXT]


def test_a_compound_of_two_words_the_document_uses_keeps_its_hyphen_at_a_line_break(tmp_path):
    """alexnet's "current-/best error rate" became "currentbest": both are words the page uses inside its lines, and
    it never writes them as one; "infor-/mation" is still joined."""
    import pymupdf

    lines = ["The best model is not the current one, and the best error rate of the current", "model is the current-",
             "best error rate we know. We collected the infor-", "mation from every station. The network ex-",
             "hibits overfitting, and the non-", "linear model too."]
    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 100), "\n".join(lines), fontname="tiro", fontsize=11)
    pdf.save(tmp_path / "compound.pdf")
    text = " ".join(texts(extract_document(tmp_path / "compound.pdf")))
    assert "the current-best error rate" in text and "the information from" in text, text
    assert "network exhibits overfitting" in text and "the non-linear model" in text, text  # "ex-" breaks a word


def test_readers_registry_names_every_suffix_and_the_bytes_decide_first(tmp_path):
    assert SUFFIXES == tuple(sorted(READERS)) and KINDS[".md"] == "markdown" and KINDS[".htm"] == "html"
    disguised = tmp_path / "paper.txt"  # a PDF with a text suffix is read as the PDF it is
    disguised.write_bytes(pdfs.paper_pdf(tmp_path / "paper.pdf").read_bytes())
    assert texts(extract_document(disguised)) == texts(extract_document(tmp_path / "paper.pdf"))


def test_ligatures_soft_hyphens_and_odd_spaces_are_normalised(tmp_path):
    assert fix_characters("e\ufb03cient \ufb01sh \ufb02ow") == "efficient fish flow"
    assert fix_characters("co\u00adoperate\u00a0now\u2009and\u200b then") == "cooperate now and then"
    assert fix_characters("10\u2076 cells") == "10\u2076 cells"  # not NFKC: exponents stay exponents
    assert fix_characters("\uf0b7 Filter: subsetting observations") == "• Filter: subsetting observations"  # Symbol
    assert fix_characters("\x88 Column headers are values.") == "• Column headers are values."  # a control char
    source = tmp_path / "notes.txt"
    source.write_text("The \ufb01rst \ufb02ight\u00a0was a suc\u00adcess.\n", encoding="utf-8")
    assert texts(extract_document(source)) == ["The first flight was a success."]


def test_scanned_page_is_read_with_tesseract(tmp_path):
    if find_tessdata() is None:
        pytest.fail("tesseract-ocr language data is missing: scripts/setup.sh installs it")
    doc = extract_document(SAMPLES / "scanned-memo.pdf")
    assert doc.pages[0].ocr is True and doc.pages[0].empty is False
    assert doc.title == "Moss sample counts"
    assert texts(doc)[1:3] == [
        "Field note, 14 March. Moss cushions were collected from the north wall of the old library at 9:30 in the "
        "morning after six dry days. Each cushion was soaked in spring water for three hours before counting.",
        "We counted 42 tardigrades in sample A and 17 in sample B. Most animals were walking within forty minutes; "
        "eleven tuns did not recover and were recorded as dead. The water temperature stayed at 18 degrees Celsius."]
    assert {b.page for b in doc.blocks} == {1}


def test_missing_tesseract_data_warns_and_names_the_empty_pages(tmp_path, monkeypatch):
    source = pdfs.text_and_scan_pdf(tmp_path / "mixed.pdf", ["Scanned words appear here on page two."])
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "no-tessdata"))
    doc = extract_document(source)
    assert texts(doc) == ["This first page has a real text layer."]
    assert [(p.number, p.ocr, p.empty) for p in doc.pages] == [(1, False, False), (2, False, True)]
    assert len(doc.warnings) == 1
    assert doc.warnings[0].startswith("pages 2 have no text layer and stayed empty: Tesseract language data not found")


def test_only_scanned_pages_without_ocr_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"no extractable text .*pages 1 have no text layer.*--no-ocr"):
        extract_document(SAMPLES / "scanned-memo.pdf", ocr=False)


def test_encrypted_pdf_needs_the_right_password(tmp_path):
    source = pdfs.encrypted_pdf(tmp_path / "locked.pdf", "s3cret")
    with pytest.raises(BadInput, match="encrypted: give its password with --password"):
        extract_document(source)
    with pytest.raises(BadInput, match="wrong password"):
        extract_document(source, password="nope")
    doc = extract_document(source, password="s3cret")
    assert doc.page_count == 3 and pdfs.RESULTS in texts(doc)


@pytest.mark.parametrize("make, error, message", [
    (lambda p: p, UsageError, "no such file"),
    (lambda p: (p.mkdir(), p)[1], UsageError, "is a directory"),
    (lambda p: (p.write_bytes(b""), p)[1], BadInput, r"is empty \(0 bytes\)"),
    (lambda p: (p.write_text("just some words\n"), p)[1], BadInput, r"is not a PDF \(no %PDF header; it looks like text"),
    (lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64)), p)[1], BadInput, "it looks like a PNG image"),
    (lambda p: (p.write_bytes(b"%PDF-1.7\n1 0 obj\n<<"), p)[1], BadInput, "damaged or not a readable PDF"),
    (lambda p: pdfs.blank_pdf(p), BadInput, "no extractable text"),
], ids=["missing", "directory", "zero-bytes", "text-named-pdf", "png-named-pdf", "truncated", "no-text"])
def test_bad_inputs_raise_one_clear_error(tmp_path, make, error, message):
    source = make(tmp_path / "input.pdf")
    with pytest.raises(error, match=message) as caught:
        extract_document(source)
    assert "\n" not in str(caught.value)


def test_truncated_pdf_is_repaired_with_a_warning(tmp_path):
    whole = pdfs.paper_pdf(tmp_path / "paper.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    doc = extract_document(cut)
    assert doc.warnings == [f"{cut} is damaged; MuPDF repaired it and some text may be missing"]
    assert doc.page_count == 3
    assert texts(doc)[:9] == texts(extract_document(tmp_path / "paper.pdf"))[:9]  # pages 1-2 survive whole


def test_thousand_page_pdf(tmp_path):
    doc = extract_document(pdfs.long_pdf(tmp_path / "long.pdf", pages=1000))
    assert doc.page_count == 1000 and len(doc.blocks) == 1000
    assert doc.blocks[999].page == 1000
    assert doc.blocks[999].text == "Body of page 1000. The measurement on this page was 3000 units."
    assert not any("running header" in t for t in texts(doc))


def test_markdown_headings_sections_and_synthetic_pages(tmp_path):
    source = tmp_path / "guide.md"
    long_para = " ".join(["Tuns survive drying for years."] * 110)  # ~3,300 characters: the next paragraph is page 2
    source.write_text("---\ntitle: Field Guide\nauthor: Ada Lovelace\n---\n# Water bears\n\nThey are **small** "
                      "and [tough](https://example.org).\n\n## Habitat\n\n- moss\n- lichen\n\n" + long_para +
                      "\n\nSecond page paragraph.\n\nReferences\n\n[1] Someone. 2020.\n", encoding="utf-8")
    doc = extract_document(source)
    assert doc.title == "Field Guide" and doc.authors == ["Ada Lovelace"]
    assert doc.metadata["pagination"].startswith("synthetic")
    assert [(b.kind, b.level, b.page, b.section) for b in doc.blocks[:4]] == [
        ("heading", 1, 1, ["Water bears"]), ("paragraph", 0, 1, ["Water bears"]),
        ("heading", 2, 1, ["Water bears", "Habitat"]), ("list", 0, 1, ["Water bears", "Habitat"])]
    assert doc.blocks[1].text == "They are small and tough."
    assert doc.blocks[3].text == "- moss\n- lichen"
    assert [(b.text, b.page) for b in doc.blocks[5:6]] == [("Second page paragraph.", 2)]
    assert texts(doc, "references") == ["References", "[1] Someone. 2020."]
    assert doc.page_count == 2


def test_plain_text_pages_from_form_feeds_and_language_guess(tmp_path):
    source = tmp_path / "brief.txt"
    source.write_text("Bärtierchen überleben das Austrocknen.\nSie ziehen sich zu einem Tönnchen zusammen.\f"
                      "Auf der zweiten Seite geht es um die Kälte und das Eis.\n", encoding="utf-8")
    doc = extract_document(source)
    assert [(b.text, b.page) for b in doc.blocks] == [
        ("Bärtierchen überleben das Austrocknen. Sie ziehen sich zu einem Tönnchen zusammen.", 1),
        ("Auf der zweiten Seite geht es um die Kälte und das Eis.", 2)]
    assert doc.language == "de" and doc.page_count == 2 and doc.metadata["pagination"] == "form feeds"


def test_html_and_epub_inputs(tmp_path):
    html = tmp_path / "page.html"
    html.write_text("<html><head><title>Bears</title></head><body><h1>Water bears</h1><p>They live in moss.</p>"
                    "<h2>Tuns</h2><p>A tun is a dried water bear.</p></body></html>", encoding="utf-8")
    doc = extract_document(html)
    assert [(b.text, b.kind, b.level) for b in doc.blocks] == [
        ("Water bears", "heading", 1), ("They live in moss.", "paragraph", 0),
        ("Tuns", "heading", 2), ("A tun is a dried water bear.", "paragraph", 0)]
    assert doc.title == "Bears"

    epub = tmp_path / "book.epub"
    with zipfile.ZipFile(epub, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:'
                   'tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="book.opf" media-type="application/'
                   'oebps-package+xml"/></rootfiles></container>')
        z.writestr("book.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0" '
                   'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tiny Book'
                   '</dc:title><dc:creator>Ada Lovelace</dc:creator><dc:identifier id="id">x</dc:identifier>'
                   '<dc:language>en</dc:language></metadata><manifest><item id="c1" href="c1.xhtml" media-type='
                   '"application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>')
        z.writestr("c1.xhtml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Chapter '
                   'One</h1><p>Water bears can survive in space.</p></body></html>')
    doc = extract_document(epub)
    assert [(b.text, b.kind) for b in doc.blocks] == [("Chapter One", "heading"),
                                                     ("Water bears can survive in space.", "paragraph")]
    assert doc.title == "Tiny Book" and doc.authors == ["Ada Lovelace"]


def test_sample_paper_text_is_complete_and_in_order():
    """Every word the sample generator wrote comes out once, in order; headers, footers and page numbers do not."""
    ms = pdfs.make_samples
    doc = extract_document(SAMPLES / "tardigrades.pdf")
    written = [ms.TITLE, "Mara Lindqvist and Tomás Okafor", "Notebook Sample Series, Institute for Readable Science",
               "Abstract", ms.ABSTRACT]
    for level, heading, paragraphs in ms.SECTIONS + ms.TWO_COLUMN + ms.LATER:
        written += [heading, *paragraphs]
    written += ["References", *ms.REFERENCES]
    assert " ".join(texts(doc)).split() == " ".join(written).split()
    assert doc.page_count == 7 and doc.title == ms.TITLE and doc.authors == ["Mara Lindqvist", "Tomás Okafor"]
    assert texts(doc, "references") == ["References", *ms.REFERENCES]
    # the outline lists only the sections; the subsections are found by their font, one level below
    assert {entry[0] for entry in pymupdf.open(SAMPLES / "tardigrades.pdf").get_toc()} == {1}
    lunar = next(b for b in doc.blocks if b.text == "3.2 The lunar crash")
    assert (lunar.kind, lunar.level, lunar.page) == ("heading", 2, 4)
    assert lunar.section == ["3 Radiation, pressure and vacuum", "3.2 The lunar crash"]
    assert sum(b.kind == "heading" and b.level == 2 for b in doc.blocks) == 5  # 2.1-2.3, 3.1, 3.2


def test_sample_pdfs_are_small_and_reproducible(tmp_path):
    pdfs.make_samples.main(str(tmp_path))
    for name in ("tardigrades.pdf", "scanned-memo.pdf"):
        built = (tmp_path / name).read_bytes()
        assert len(built) < 1_000_000
        assert built == (SAMPLES / name).read_bytes(), f"samples/{name} is stale: run scripts/make_samples.py"
    assert pymupdf.open(tmp_path / "tardigrades.pdf").page_count == 7


def test_markdown_heading_parsing_stays_linear_and_keeps_closing_hashes_rules(tmp_path):
    # `# a<4000 spaces>b` took 74 s (the heading regex backtracked over the spaces); 32,000 spaces would take hours.
    source = tmp_path / "spaces.md"
    source.write_text("# a" + " " * 32000 + "b\n\nBody text here.\n\n## Closed ##\n\n## C#\n\n# Lone #\n",
                      encoding="utf-8")
    code = ("import sys\nfrom notebooklm_clone.sources import extract_document\n"
            "doc = extract_document(sys.argv[1])\n"
            "print([b.text[:3] + str(len(b.text)) for b in doc.blocks if b.kind == 'heading'])\n")
    done = subprocess.run([sys.executable, "-c", code, str(source)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    headings = [b.text for b in extract_document(source).blocks if b.kind == "heading"]
    assert headings[0].startswith("a") and headings[0].endswith("b")
    assert headings[1:] == ["Closed", "C#", "Lone"]


LEGACY_TEXTS = [
    ("Les tardigrades résistent à la déshydratation et survivent des années à l'état sec, même à basse température.",
     "latin-1"),
    ("L’été, les tardigrades « survivent » à la sécheresse — même à -20 °C, écrit-elle.", "cp1252"),
    ("Тихоходки переносят высыхание. Они сворачиваются в бочонок и живут годами.", "koi8-r"),
    ("Тихоходки переносят высыхание. Они сворачиваются в бочонок и живут годами.", "cp1251"),
    ("クマムシは乾燥に強い動物です。乾燥すると樽のような形になり、何年も生き延びます。", "shift_jis"),
    ("水熊虫是一种非常耐旱的动物。干燥时它们会缩成桶状，可以存活很多年。", "gb2312"),
]


@pytest.mark.parametrize("text,encoding", LEGACY_TEXTS, ids=[e for _, e in LEGACY_TEXTS])
def test_legacy_encodings_are_read_right_and_never_silently(tmp_path, text, encoding):
    # These used to be read as Windows-1252 whatever they were, without a word (Cyrillic and Japanese became mojibake).
    source = tmp_path / "legacy.txt"
    source.write_bytes(text.encode(encoding))
    doc = extract_document(source)
    assert " ".join(b.text for b in doc.blocks) == text
    assert any("not UTF-8" in w and "read it as" in w for w in doc.warnings), doc.warnings


def test_utf8_text_gives_no_encoding_warning(tmp_path):
    source = tmp_path / "plain.txt"
    source.write_text("Tardigrades survive drying. They form tuns.", encoding="utf-8")
    assert not [w for w in extract_document(source).warnings if "UTF-8" in w]


def test_links_hyphens_and_joined_paragraphs_stay_linear(tmp_path):
    # Each file below made extraction rescan or copy the text seen so far for every line, link or paragraph: at
    # n = 40,000 that took 1-20 s per file (Markdown links, hyphenated-word collection, joining lines broken at a
    # hyphen, joining lower-case paragraphs on one page); each is linear now, so n and 8n both finish at once.
    code = r"""
import json, sys
from pathlib import Path
from notebooklm_clone.sources import extract_document
out = {}
for n in (5000, 40000):
    files = {"links.md": "\n\n".join(["[" * n, "![a" * n, "see [x](" * n]),
             "words.md": "a" * n + " well-known",
             "hyphens.txt": "aa-\n" * n,
             "bullets.txt": "x\n" + "- a\n" * n,
             "paragraphs.txt": "\f" + "a\n\n" * n + "\f"}
    for name, body in files.items():
        path = Path(sys.argv[1]) / f"{n}-{name}"
        path.write_text(body, encoding="utf-8")
        out[f"{n}-{name}"] = [b.text for b in extract_document(path).blocks]
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-500:]
    blocks = json.loads(done.stdout)
    for n in (5000, 40000):
        assert blocks[f"{n}-links.md"] == ["[" * n, "![a" * n, ("see [x](" * n).strip()]
        assert blocks[f"{n}-words.md"] == ["a" * n + " well-known"]
        assert blocks[f"{n}-hyphens.txt"] == ["aa" * n + "-"]  # a word broken at each line end is joined whole
        assert blocks[f"{n}-bullets.txt"] == ["x" + " - a" * n]
        assert blocks[f"{n}-paragraphs.txt"] == [" ".join(["a"] * n)]  # one paragraph cut into lower-case parts


def test_markdown_links_keep_their_text(tmp_path):
    source = tmp_path / "links.md"
    source.write_text("See [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) and ![a chart](c.png \"t\") and "
                      "[a [b](c) for **more**.\n", encoding="utf-8")
    assert texts(extract_document(source)) == ["See Foo and a chart and [a b for more."]


def test_html_in_a_legacy_encoding_is_read_right(tmp_path):
    # MuPDF reads HTML as UTF-8 whatever it declares: a Latin-1 page lost its accents to U+FFFD without a word
    french = "Les tardigrades résistent à la déshydratation et survivent des années."
    declared = tmp_path / "declared.html"
    declared.write_bytes(f'<html><head><meta charset="iso-8859-1"></head><body><p>{french}</p></body></html>'
                         .encode("latin-1"))
    doc = extract_document(declared)
    assert texts(doc) == [french] and doc.warnings == []  # the file says what it is: no guess, no warning
    russian = "Тихоходки переносят высыхание. Они сворачиваются в бочонок и живут годами."
    undeclared = tmp_path / "undeclared.html"
    undeclared.write_bytes(f"<html><body><p>{russian}</p></body></html>".encode("koi8-r"))
    doc = extract_document(undeclared)
    assert texts(doc) == [russian]
    assert any("undeclared.html is not UTF-8; read it as koi8_r" in w for w in doc.warnings), doc.warnings
    utf8 = tmp_path / "utf8.html"
    utf8.write_text(f"<html><body><p>{russian}</p></body></html>", encoding="utf-8")
    doc = extract_document(utf8)
    assert texts(doc) == [russian] and doc.warnings == []
