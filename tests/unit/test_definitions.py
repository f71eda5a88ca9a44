"""Terms a document defines, found without a model (stages/definitions.py), on the project's own sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from notebooklm_clone.models import SourceSentence
from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.definitions import defined_terms, long_form, sentence_terms
from notebooklm_clone.stages.grounding import Source
from notebooklm_clone.stages.verify import verify

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "tardigrades.pdf"


@pytest.fixture(scope="module")
def source() -> Source:
    return Source(extract_document(SAMPLE))


def test_the_sample_s_defined_terms_are_quoted_from_the_page_they_cite(source):
    terms = {t.term: t for t in defined_terms(source, source.index)}
    assert {"anhydrobiosis", "cold chain", "water bears"} <= set(terms), sorted(terms)
    assert "This state is called anhydrobiosis" in terms["anhydrobiosis"].definition
    for term in terms.values():
        assert term.grounding == "quoted" and term.evidence
        for e in term.evidence:
            assert source.document.page_text(e.page)[e.start:e.end] == e.quote
        assert verify(f"{term.term}: {term.definition}", [e.quote for e in term.evidence]).supported


def sentence(text: str) -> SourceSentence:
    return SourceSentence(id="s1", page=1, start=0, end=len(text), text=text)


@pytest.mark.parametrize("text, expected", [
    ("Convolutional neural networks (CNNs) constitute one such class of models.",
     [("CNNs", "Convolutional neural networks")]),
    ("Under the Freedom of Information Act (FOIA), CBI is exempt.", [("FOIA", "Freedom of Information Act")]),
    ("The ImageNet Large-Scale Visual Recognition Challenge (ILSVRC) has been held annually.",
     [("ILSVRC", "ImageNet Large-Scale Visual Recognition Challenge")]),
    ("We used a regularization method called \u201cdropout\u201d to reduce overfitting.", [("dropout", "")]),
    ("ImageNet is a dataset of over 15 million labeled images.", [("ImageNet", "")]),
    ("Tidy data is a standard way of mapping the meaning of a dataset to its structure.", [("Tidy data", "")]),
    ("Learning long-range dependencies is a key challenge.", []),  # a judgement, not what it is
    ("Hammer is a Mellon Fellow at the Institute.", []),  # a name
    ("The first is a multi-head self-attention mechanism.", []),  # an ordinal
    ("The result of melting is a molten dataset.", []),  # a phrase with a function word in it
    ("Results are shown in Table 2 (see Fig. 3).", []),
    ("The network (which is large) was trained.", []),  # no initials spell it
])
def test_sentence_terms(text, expected):
    assert sentence_terms(sentence(text), "en") == expected


def test_an_abbreviation_s_long_form_is_the_words_whose_initials_spell_it():
    assert long_form("we trained on the Wall Street Journal".split(), "WSJ", "en") == "Wall Street Journal"
    assert long_form("installing new flight control computer".split(), "FCC", "en") == "flight control computer"
    assert long_form("the network".split(), "CNN", "en") == ""


def dropout_pdf(tmp_path):
    import pymupdf

    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 700), (
        "We used a regularization method called dropout that proved to be very effective in the experiments. The "
        "network has eight layers and was trained for six days. The technique, called dropout, consists of setting "
        "to zero the output of each hidden neuron with probability 0.5."), fontsize=11)
    pdf.save(tmp_path / "dropout.pdf")
    return extract_document(tmp_path / "dropout.pdf")


def test_a_term_is_defined_by_the_sentence_that_says_what_it_is(tmp_path):
    source = Source(dropout_pdf(tmp_path))
    [term] = [t for t in defined_terms(source, source.index) if t.term == "dropout"]
    assert "consists of setting to zero" in term.definition
    assert "proved" not in term.definition


def test_the_glossary_gains_the_defined_terms_and_a_quote_the_model_chose_gives_way(tmp_path):
    from notebooklm_clone.config import ChunkSettings
    from notebooklm_clone.llm.tokens import get_tokenizer
    from notebooklm_clone.models import ChunkNotes, GroundingCounts, Term
    from notebooklm_clone.stages.chunk import chunk_document
    from notebooklm_clone.stages.coverage import every_definition_noted

    document = dropout_pdf(tmp_path)
    source = Source(document)
    chunks = chunk_document(document, ChunkSettings(), get_tokenizer("fallback"))
    first = source.evidence([source.index[0].id])  # "... called dropout that proved to be very effective ..."
    model = Term(term="dropout", definition=first[0].quote, pages=[1], evidence=first, grounding="quoted")
    notes = [ChunkNotes(chunk=chunks[0].index, pages=[1], terms=[model])]
    counts = GroundingCounts()
    notes = every_definition_noted(notes, chunks, source, counts)
    [term] = [t for n in notes for t in n.terms]
    assert "consists of setting to zero" in term.definition and counts.quoted == 0
    written = model.model_copy(update={"definition": "a regularization method", "grounding": "verified"})
    notes = every_definition_noted([ChunkNotes(chunk=chunks[0].index, pages=[1], terms=[written])], chunks, source,
                                   counts)
    assert [t.definition for n in notes for t in n.terms] == ["a regularization method"]  # the model's own words
