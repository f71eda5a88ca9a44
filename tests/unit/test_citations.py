"""Page citations as printed, and spelled-out numbers read as the digits a note writes."""

from __future__ import annotations

import pytest

from notebooklm_clone.stages.citations import comparable_text, number_spellings, format_pages
from notebooklm_clone.stages.verify import verify


def test_spelled_out_numbers_support_the_digits_a_note_writes():
    assert number_spellings("42") == ["forty-two", "forty two"] and number_spellings("11") == ["eleven"]
    assert number_spellings("7") == number_spellings("100") == number_spellings("4.5") == []
    source = "We counted forty-two animals; eleven tuns did not recover."
    assert verify("11 tuns did not recover.", source).supported
    assert verify("42 animals were counted.", source).supported
    assert not verify("40 animals were counted.", source).supported  # "forty-two" is not 40


def test_comparable_text_folds_case_dashes_quotes_and_spaces():
    assert comparable_text("The \u201cTun\u201d \u2014 state\u00ad\n  of  X\u2019s") == 'the "tun" - state of x\'s'


@pytest.mark.parametrize("pages,text", [([4], "(p. 4)"), ([5, 4], "(pp. 4-5)"), ([2, 7, 8, 9], "(pp. 2, 7-9)"),
                                        ([3, 3], "(p. 3)"), ([], "")])
def test_format_pages(pages, text):
    assert format_pages(pages) == text
