"""Citation checking against the real text of a real PDF (built with PyMuPDF, extracted by our extractor)."""

from __future__ import annotations

import pdfs
import pytest

from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.citations import (
    CitationChecker,
    format_pages,
    keywords_in,
    number_spellings,
    numbers_in,
)


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """Page 1: introduction + background (1773, 1776); page 2: methods and results (120 animals, 81 percent);
    page 3: references (1773 again, 2017) and the appendix."""
    return extract_document(pdfs.paper_pdf(tmp_path_factory.mktemp("cite") / "paper.pdf"))


def test_the_pages_hold_what_the_tests_assume(paper):
    assert "120 animals" in paper.page_text(2)
    assert "1773" in paper.page_text(1) and "1773" in paper.page_text(3)
    assert "tun state" in paper.page_text(1)


def test_right_page_is_kept(paper):
    checker = CitationChecker(paper)
    assert checker.check("Of the 120 animals, 97 recovered.", [2]) == [2]
    assert checker.check("Water bears enter a tun state when drying.", [1]) == [1]
    assert checker.check("Tardigrades", [1], anchor="tun") == [1]
    assert (checker.report.checked, checker.report.ok, checker.report.fixed, checker.report.dropped) == (3, 3, 0, 0)


def test_wrong_page_is_moved_to_the_nearest_page_that_has_it(paper):
    checker = CitationChecker(paper)
    assert checker.check("Survival was 81 percent.", [1]) == [2]
    assert checker.check("Goeze described the animal in 1773.", [2]) == [1]  # 1 and 3 are equally near: lower wins
    assert checker.check("The tun state", [3], anchor="tun state") == [1]
    assert checker.check("The metabolism of the tun nearly stops while dried.", [2]) == [1]
    assert checker.report.fixed == 4 and checker.report.ok == 0
    assert checker.report.fixed_items[0].endswith("(p. 1) -> (p. 2)")


def test_a_claim_no_page_supports_is_dropped(paper):
    checker = CitationChecker(paper)
    assert checker.check("The survival rate was 42 percent.", [2]) is None
    assert checker.check("Quantum chromodynamics explains gluon confinement.", [1]) is None
    assert checker.check("x", [2], anchor="photosynthesis") is None
    assert checker.report.dropped == 3 and len(checker.report.dropped_items) == 3


def test_pages_outside_the_document_are_fixed_not_trusted(paper):
    checker = CitationChecker(paper)
    assert checker.check("Of the 120 animals, 97 recovered.", [99]) == [2]
    assert checker.report.fixed == 1


def test_a_page_that_does_not_hold_it_is_removed_from_a_multi_page_citation(paper):
    checker = CitationChecker(paper)
    assert checker.check("Of the 120 animals, 97 recovered.", [1, 2]) == [2]


def test_numbers_and_keywords():
    assert numbers_in("In 1773, 1,200 of 97.5% and 3 cats") == ["1773", "1200", "97.5"]
    assert keywords_in("The animals were dried at humidity") == ["anima", "dried", "humid"]


def test_spelled_out_numbers_support_the_digits_a_note_cites(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), "We counted forty-two animals; eleven tuns did not recover.", fontsize=11)
    doc.new_page().insert_text((72, 100), "Most walked within forty minutes.", fontsize=11)
    doc.save(tmp_path / "memo.pdf")
    checker = CitationChecker(extract_document(tmp_path / "memo.pdf"))
    assert checker.check("11 tuns did not recover.", [1]) == [1]
    assert checker.check("42 animals were counted.", [2]) == [1]
    assert checker.check("They walked within 40 minutes.", [1]) == [2]  # "forty-two" on p. 1 is not 40
    assert checker.check("59 animals in total.", [1]) is None
    assert number_spellings("42") == ["forty-two", "forty two"] and number_spellings("11") == ["eleven"]
    assert number_spellings("7") == number_spellings("100") == number_spellings("4.5") == []


@pytest.mark.parametrize("pages,text", [([4], "(p. 4)"), ([5, 4], "(pp. 4-5)"), ([2, 7, 8, 9], "(pp. 2, 7-9)"),
                                        ([3, 3], "(p. 3)"), ([], "")])
def test_format_pages(pages, text):
    assert format_pages(pages) == text
