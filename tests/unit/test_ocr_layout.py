"""What OCR decides without running Tesseract: how word-like a text is, and the reading order of a page's words."""

from __future__ import annotations

from notebooklm_clone.sources.columns import Word, column_order
from notebooklm_clone.sources.ocr import GOOD_SHARE, Reading, tesseract_languages, word_share


def test_word_share_tells_words_from_ocr_garbage():
    assert word_share("The tun loses most of its water, and 97 percent recover.") == 1.0
    assert word_share("À côté de l'alcôve, près de l'âtre, la bûcheronne rêvait.") == 1.0
    assert word_share("水熊虫能在太空中生存") == 1.0
    assert word_share("an) ”n es —s a. ga & eC. > Oo @ onsa© > ga =: 3= wn Rn n St.") < GOOD_SHARE
    assert word_share("xq#z 3kd!! ~~v Rz7 pq@ ;;lk 9fT9 zzq brxt wq#") < 0.3


def line(x: float, text: str, y: float, key) -> list[Word]:
    """The words of `text` from `x` on, 6 points per character and 4 between words; "_" is 20 points of gutter."""
    words = []
    for word in text.split():
        if word == "_":
            x += 20
            continue
        words.append(Word(word, x, y, x + 6 * len(word), y + 10, key, 95.0))
        x += 6 * len(word) + 4
    return words


def test_columns_tesseract_joined_into_lines_are_read_one_after_the_other():
    words = line(72, "Title across both columns of this page", 60, (1, 1, 1))
    for row in range(4):  # Tesseract read each row across the gutter as one line, a speck in the gutter as "|"
        words += line(72, f"left{row} words _ | _ right{row} words", 100 + 14 * row, (2, 1, row + 1))
    reading = Reading(words, {}, "eng", (612.0, 792.0), 300 / 72)
    blocks = column_order(reading)
    assert [[line.text for line in lines] for _, lines in blocks] == [
        ["Title across both columns of this page"],
        ["left0 words", "left1 words", "left2 words", "left3 words"],
        ["right0 words", "right1 words", "right2 words", "right3 words"]]


def test_ocr_lang_accepts_names_codes_and_tesseract_codes(tmp_path):
    for code in ("eng", "fra", "chi_sim"):
        (tmp_path / f"{code}.traineddata").write_text("x")
    assert tesseract_languages("auto", str(tmp_path)) is None
    assert tesseract_languages("French", str(tmp_path)) == "fra"
    assert tesseract_languages("fr+en", str(tmp_path)) == "fra+eng"
    assert tesseract_languages("chi_sim", str(tmp_path)) == "chi_sim"
