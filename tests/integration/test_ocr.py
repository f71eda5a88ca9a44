"""OCR with real Tesseract on pages rasterised from text we wrote (tests/pdfs.py): the language, the columns, the
turn of the page, an earlier OCR layer, and a page Tesseract cannot read."""

from __future__ import annotations

import pdfs
import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.sources import extract_document
from notebooklm_clone.sources.ocr import find_tessdata, installed_languages

NEEDED = {"eng", "fra", "osd"}


@pytest.fixture(autouse=True)
def tesseract_data():
    folder = find_tessdata()
    if folder is None or not NEEDED <= installed_languages(folder) | {"osd"} or \
            not (pdfs.Path(folder) / "osd.traineddata").exists():
        pytest.fail("Tesseract data for eng, fra and osd is missing: scripts/setup.sh installs it")


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions of characters)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rate(read: str, truth: str) -> float:
    """Character error rate of `read` against `truth`, whitespace runs counted as one space."""
    read, truth = " ".join(read.split()), " ".join(truth.split())
    return distance(read, truth) / len(truth)


def body(document) -> list[str]:
    return [b.text for b in document.blocks]


def test_a_french_scan_is_read_in_french_with_its_accents(tmp_path):
    doc = extract_document(pdfs.french_scan_pdf(tmp_path / "fr.pdf"))
    truth = " ".join(["Souvenirs de l'été", *pdfs.FRENCH])
    assert error_rate(" ".join(body(doc)), truth) <= 0.03
    assert doc.language == "fr" and doc.pages[0].ocr
    assert "l'alcôve" in doc.blocks[1].text and "l'âtre" in doc.blocks[1].text


def test_ocr_lang_names_the_language_and_a_missing_one_is_a_usage_error(tmp_path):
    source = pdfs.french_scan_pdf(tmp_path / "fr.pdf")
    chosen = CliRunner().invoke(main, ["extract", str(source), "--format", "txt", "--ocr-lang", "French"])
    assert chosen.exit_code == 0, chosen.stderr
    assert error_rate(chosen.stdout, " ".join(["Souvenirs de l'été", *pdfs.FRENCH])) <= 0.03
    missing = CliRunner().invoke(main, ["extract", str(source), "--ocr-lang", "klingon"])
    assert missing.exit_code == 2 and missing.stdout == ""
    assert missing.stderr.startswith("error: --ocr-lang klingon: no Tesseract data for 'klingon' (installed: ")
    assert missing.stderr.count("\n") == 1


def test_a_two_column_scan_is_read_column_by_column(tmp_path):
    doc = extract_document(pdfs.two_column_scan_pdf(tmp_path / "two.pdf"))
    expected = ["Water on the Move", *pdfs.COLUMN_LEFT, *pdfs.COLUMN_RIGHT]
    assert len(doc.blocks) == len(expected)
    for block, truth in zip(doc.blocks, expected):
        assert error_rate(block.text, truth) <= 0.03, (block.text, truth)


def test_a_three_column_scan_is_read_column_by_column(tmp_path):
    columns = [pdfs.COLUMN_LEFT[0], pdfs.COLUMN_RIGHT[0], pdfs.COLUMN_LEFT[1]]
    doc = extract_document(pdfs.three_column_scan_pdf(tmp_path / "three.pdf", columns))
    assert len(doc.blocks) == 3
    for block, truth in zip(doc.blocks, columns):
        assert error_rate(block.text, truth) <= 0.03, (block.text, truth)


@pytest.mark.parametrize("rotate, skew", [(90, 0.0), (270, 0.0), (180, 0.0), (0, 3.0)],
                         ids=["sideways", "other-side", "upside-down", "askew"])
def test_a_turned_or_tilted_scan_is_read_upright(tmp_path, rotate, skew):
    doc = extract_document(pdfs.rotated_scan_pdf(tmp_path / "turned.pdf", rotate=rotate, skew=skew))
    assert error_rate(" ".join(body(doc)), " ".join(["A Sideways Page", *pdfs.ROTATED])) <= 0.03, body(doc)
    assert body(doc)[0] == "A Sideways Page"


def test_an_earlier_ocr_layer_is_kept_when_it_reads_and_redone_when_garbage(tmp_path):
    layer = "A clean layer of ordinary words that an earlier OCR left behind on this page."
    kept = extract_document(pdfs.ocr_layer_pdf(tmp_path / "good.pdf", layer))
    assert body(kept) == [layer] and kept.pages[0].ocr and kept.warnings == []
    garbage = extract_document(pdfs.ocr_layer_pdf(tmp_path / "bad.pdf", "xq#z 3kd!! ~~v Rz7 pq@ ;;lk 9fT9 zzq brxt wq#"))
    assert error_rate(" ".join(body(garbage)), pdfs.ROTATED[0]) <= 0.03
    assert garbage.warnings == ["pages 1 had an unreadable OCR text layer; OCR'd again"]


def test_a_page_tesseract_cannot_read_is_named_with_the_reason_and_the_others_go_on(tmp_path, monkeypatch):
    source = pdfs.text_and_scan_pdf(tmp_path / "mixed.pdf", ["Scanned words appear here on page two."])
    broken = tmp_path / "tessdata"
    broken.mkdir()
    (broken / "eng.traineddata").write_text("not a model")
    monkeypatch.setenv("TESSDATA_PREFIX", str(broken))
    doc = extract_document(source)
    assert body(doc) == ["This first page has a real text layer."]
    assert [(p.number, p.ocr, p.empty) for p in doc.pages] == [(1, False, False), (2, False, True)]
    assert doc.warnings == [f"OCR failed on page 2 (Tesseract: Error opening data file {broken}/eng.traineddata); "
                            "it stayed empty"]


# Debian's chi_sim data misreads about one Chinese character in ten on this page (jpn: one in thirty); read with the
# English data, either page comes out with no character right
@pytest.mark.parametrize("text, font, language, most", [(pdfs.CHINESE, "china-s", "zh", 0.12),
                                                        (pdfs.JAPANESE, "japan", "ja", 0.05)], ids=["chinese", "japanese"])
def test_a_scan_in_another_script_is_read_with_that_scripts_data(tmp_path, text, font, language, most):
    if not {"chi_sim", "jpn"} <= installed_languages(find_tessdata()):
        pytest.fail("Tesseract data for chi_sim and jpn is missing: scripts/setup.sh installs it")
    doc = extract_document(pdfs.cjk_scan_pdf(tmp_path / "cjk.pdf", text, font))
    assert doc.language == language
    assert error_rate("".join(body(doc)), text) <= most, body(doc)
