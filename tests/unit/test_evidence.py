"""The sentence index and evidence: exact spans into the page text, stable short ids, the body only, debris flagged,
quotes located again whatever their whitespace, and the sentences of each chunk."""

from __future__ import annotations

from pathlib import Path

import pdfs
import pymupdf
import pytest

from notebooklm_clone.config import ChunkSettings
from notebooklm_clone.llm.tokens import EstimateTokenizer
from notebooklm_clone.models import Block, Document, Evidence
from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages import evidence
from notebooklm_clone.stages.chunk import chunk_document
from notebooklm_clone.stages.evidence import (evidence_for, find_evidence, is_debris, numbered_sentences, plain_text,
                                              sentence_index, sentences_in)

SAMPLE = pdfs.ROOT / "samples" / "tardigrades.pdf"
SCANNED = pdfs.ROOT / "samples" / "scanned-memo.pdf"
REAL_DOCS = pdfs.ROOT.parent / "shared" / "eval" / "docs"


@pytest.fixture(scope="module")
def sample():
    return extract_document(SAMPLE)


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    return extract_document(pdfs.paper_pdf(tmp_path_factory.mktemp("paper") / "paper.pdf"))


def assert_exact(document: Document, index) -> None:
    texts = {}
    for s in index:
        text = texts.setdefault(s.page, document.page_text(s.page))
        assert text[s.start:s.end] == s.text, (s.id, s.page)
    assert len({s.id for s in index}) == len(index)
    assert [s.id for s in index] == [f"s{i}" for i in range(1, len(index) + 1)]


def doc(*blocks: tuple[int, str, str]) -> Document:
    return Document(source="x", sha256="0" * 64, title="t", page_count=max(b[0] for b in blocks),
                    blocks=[Block(page=page, text=text, kind=kind) for page, text, kind in blocks])


# ---------------------------------------------------------------------------------------------------------------------
# The index


def test_sample_spans_are_exact_ids_unique_and_stable(sample):
    index = sentence_index(sample)
    assert len(index) > 50
    assert_exact(sample, index)
    again = sentence_index(extract_document(SAMPLE))
    assert [(s.id, s.page, s.start, s.end, s.text) for s in again] == [(s.id, s.page, s.start, s.end, s.text)
                                                                       for s in index]


def test_scanned_memo_with_ocr_spans_are_exact():
    document = extract_document(SCANNED)
    assert document.pages[0].ocr
    index = sentence_index(document)
    assert len(index) >= 3
    assert_exact(document, index)


def test_every_body_sentence_is_indexed_and_no_reference_is(paper):
    index = sentence_index(paper)
    assert_exact(paper, index)
    texts = [s.text for s in index]
    for paragraph in (pdfs.INTRO, pdfs.BACKGROUND, pdfs.METHODS, pdfs.RESULTS, pdfs.APPENDIX):
        assert " ".join(t for t in texts if t in paragraph).split() == paragraph.split()
    for reference in pdfs.REFERENCES:
        assert not any(t in reference or reference in t for t in texts)
    assert not any(pdfs.HEADER in t or pdfs.FOOTER in t for t in texts)
    methods = next(s for s in index if s.text.startswith("We dried 120 animals"))
    assert methods.page == 2 and methods.section == ["2 Methods"] and methods.block_kind == "paragraph"
    heading = next(s for s in index if s.text == "3 Results")
    assert heading.block_kind == "heading"


def test_two_columns_and_hyphenation_keep_exact_spans(tmp_path):
    columns = extract_document(pdfs.two_column_pdf(tmp_path / "columns.pdf"))
    index = sentence_index(columns)
    assert_exact(columns, index)
    starts = [next(s.start for s in index if s.text.startswith(p[:12])) for p in pdfs.LEFT + pdfs.RIGHT]
    assert starts == sorted(starts)  # the left column, then the right one
    hyphen = extract_document(pdfs.hyphen_pdf(tmp_path / "hyphen.pdf"))
    index = sentence_index(hyphen)
    assert_exact(hyphen, index)
    assert [" ".join(s.text.split()) for s in index] == [
        "We collected the information from every station with a state-of-the-art sensor that tracked the well-being "
        "of the crew over many weeks.", "The temperature stayed constant."]


def test_an_unclosed_short_paragraph_the_next_completes_is_one_sentence_with_it():
    document = doc((1, "ATTENDU la demande de démolition du bâtiment;", "paragraph"),
                   (1, "IL EST RÉSOLU À L’UNANIMITÉ", "paragraph"),
                   (1, "D’APPROUVER la demande de démolition partielle du bâtiment.", "paragraph"),
                   (1, "The cells were kept in the", "paragraph"), (1, "cold room for six days.", "paragraph"),
                   (1, "Field notes", "paragraph"), (1, "The samples were counted twice.", "paragraph"),
                   (2, "NOW THEREFORE BE IT RESOLVED", "paragraph"), (2, "Results", "heading"))
    index = sentence_index(document)
    assert_exact(document, index)
    texts = [" ".join(s.text.split()) for s in index]
    assert texts == ["ATTENDU la demande de démolition du bâtiment;",
                     "IL EST RÉSOLU À L’UNANIMITÉ D’APPROUVER la demande de démolition partielle du bâtiment.",
                     "The cells were kept in the cold room for six days.",
                     "Field notes", "The samples were counted twice.",  # a label before a new sentence stays apart
                     "NOW THEREFORE BE IT RESOLVED", "Results"]  # nothing completes it on its page


def test_repeated_sentences_on_a_page_get_their_own_spans():
    document = doc((1, "Intro", "heading"), (1, "It works. It works. It   works.", "paragraph"),
                   (1, "It works.", "paragraph"), (2, "It works.", "paragraph"))
    index = sentence_index(document)
    assert_exact(document, index)
    page_one = [(s.start, s.end) for s in index if s.page == 1 and s.text.startswith("It")]
    assert len(page_one) == 4 and len(set(page_one)) == 4
    assert [s.text for s in index if s.page == 1][3] == "It   works."  # verbatim, whitespace and all


def test_sentences_the_splitter_normalised_are_found_with_their_real_whitespace(monkeypatch):
    split = evidence.split_sentences
    monkeypatch.setattr(evidence, "split_sentences", lambda text: [" ".join(s.split()) for s in split(text)])
    document = doc((1, "Water bears\nsurvive drying.  The tun\tstate lasts.", "paragraph"))
    index = sentence_index(document)
    assert_exact(document, index)
    assert [s.text for s in index] == ["Water bears\nsurvive drying.", "The tun\tstate lasts."]


# ---------------------------------------------------------------------------------------------------------------------
# Debris


def debris_pdf(path: Path) -> Path:
    """Prose, a broken equation, a sentence whose font has no character map (U+FFFD) and a bare reference marker."""
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 100), "Water bears survive drying. The tun state lasts for years.", fontsize=11)
    page.insert_text((72, 200), "x = \u2211 \u03b1 i h i (1)", fontsize=11)
    page.insert_text((72, 300), "The sample held QQ grams of moss.", fontsize=11, fontname="cour")
    page.insert_text((72, 400), "[12]", fontsize=11)
    for xref, _, _, base, _, _ in page.get_fonts():
        if base == "Courier":  # glyph names no reader can map to a character
            document.xref_set_key(xref, "Encoding", "<</Type/Encoding/Differences[81/uniQQQQ]>>")
    document.save(path)
    return path


def test_broken_equation_replacement_characters_and_bare_markers_are_flagged(tmp_path):
    document = extract_document(debris_pdf(tmp_path / "debris.pdf"))
    index = sentence_index(document)
    assert_exact(document, index)
    flags = {s.text: s.clean for s in index}
    assert flags["Water bears survive drying."] and flags["The tun state lasts for years."]
    debris = [t for t, clean in flags.items() if not clean]
    assert any("\ufffd" in t for t in debris)
    assert any(t.startswith("x =") for t in debris)
    assert "[12]" in debris
    assert len(debris) == 3
    prompt = numbered_sentences(index)
    assert prompt.splitlines() == ["[s1] Water bears survive drying.", "[s2] The tun state lasts for years."]


def test_running_headers_the_reader_kept_are_flagged():
    blocks = [(p, "Journal of Testing - Volume 3", "paragraph") for p in range(1, 5)]
    blocks += [(p, f"Body of page {p}. It is long enough.", "paragraph") for p in range(1, 5)]
    blocks += [(p, f"Page {p}", "paragraph") for p in range(1, 5)]
    index = sentence_index(doc(*sorted(blocks, key=lambda b: b[0])))
    assert {s.text for s in index if not s.clean} == {"Journal of Testing - Volume 3"} | {f"Page {p}"
                                                                                           for p in range(1, 5)}


@pytest.mark.parametrize("text, debris", [
    ("Of the 120 animals, 97 recovered, a survival rate of 81 percent.", False),
    ("Water bears survive drying [12].", False),
    ("FFN(x) = max(0, xW1 + b1)W2 + b2 (2)", True),
    ("76.4 73.8", True),
    ("[3, 4].", True),
    ("(2)", True),
    ("The sample held \ufffd grams.", True),
    ("2000-09-02 1 91 2000 2Ge+her 3:15 The Hardest Part Of ...", True),  # a table's row (tidy_data's episode said it)
    ("plain ResNet 18 layers 27.94 27.88 34 layers 28.54", True),
    ("We compare n = {3, 5, 7, 9}, leading to 20, 32, 44, and 56-layer networks.", False),  # a sentence of numbers
])
def test_debris_by_its_own_text(text, debris):
    assert is_debris(text) is debris


def test_plain_text_drops_reference_markers_but_quotes_keep_them():
    document = doc((1, "Tardigrades survive vacuum [12]. They were named in 1776 (p. 4).", "paragraph"))
    first = sentence_index(document)[0]
    assert first.text == "Tardigrades survive vacuum [12]."
    assert plain_text(first.text) == "Tardigrades survive vacuum."
    assert plain_text("They were named in 1776 (p. 4).") == "They were named in 1776."
    # a footnote's number glued to a percentage (alexnet: "17.0%5.") is no number of the statement
    assert plain_text("Error rates of 37.5% and 17.0%5. A 20% rise.") == "Error rates of 37.5% and 17.0%. A 20% rise."


# ---------------------------------------------------------------------------------------------------------------------
# Evidence


def test_evidence_for_ids_gives_exact_quotes_and_ignores_invented_or_debris_ids(tmp_path, sample):
    index = sentence_index(sample)
    chosen = [index[3].id, f"[{index[10].id}]", "s99999", index[3].id]
    found = evidence_for(index, chosen)
    assert [e.sentence_id for e in found] == [index[3].id, index[10].id]
    for item in found:
        assert sample.page_text(item.page)[item.start:item.end] == item.quote
    debris_doc = extract_document(debris_pdf(tmp_path / "debris.pdf"))
    debris_index = sentence_index(debris_doc)
    assert evidence_for(debris_index, [s.id for s in debris_index]) == evidence_for(debris_index, ["s1", "s2"])


def test_find_evidence_locates_a_quote_with_other_whitespace_and_case(paper):
    target = "The tun loses most of its water and its metabolism nearly stops."
    exact = find_evidence(paper, target)
    assert exact is not None and exact.quote == target and exact.page == 1
    assert paper.page_text(1)[exact.start:exact.end] == target
    for variant in ("The tun loses most of its\nwater and its   metabolism nearly stops.",
                    "  the TUN loses most of its water and its metabolism nearly stops.  ",
                    "The tun loses most of its water\u2014and".replace("\u2014", " ") + " its metabolism nearly stops."):
        found = find_evidence(paper, variant)
        assert found is not None and (found.page, found.start, found.end) == (exact.page, exact.start, exact.end)
        assert found.quote == target
    index = sentence_index(paper)
    assert found.sentence_id == next(s.id for s in index if s.text == target)
    assert find_evidence(paper, variant, index=index) == found
    assert find_evidence(index, "the tun loses most of its  water") == find_evidence(paper, "the tun loses most "
                                                                                           "of its water")


def test_find_evidence_spans_sentences_and_blocks_verbatim(paper):
    quote = "Revival takes minutes to hours. 1.1 Background Goeze described the animal in 1773."
    found = find_evidence(paper, quote)
    assert found is not None and found.quote == paper.page_text(found.page)[found.start:found.end]
    assert "\n\n" in found.quote and found.quote.startswith("Revival")


def test_find_evidence_by_token_overlap_for_a_near_verbatim_statement(paper):
    found = find_evidence(paper, "Of 120 animals, 97 of them recovered (a survival rate of 81%) [1].")
    assert found is not None and found.page == 2
    assert found.quote == pdfs.RESULTS
    assert found.quote == paper.page_text(2)[found.start:found.end]


def test_find_evidence_finds_nothing_in_references_or_for_unrelated_text(paper):
    assert find_evidence(paper, "Molecular Cell 65:975-984, 2017.") is None
    assert find_evidence(paper, "Quantum chromodynamics explains the binding of quarks.") is None
    assert find_evidence(paper, "   ") is None


def test_find_evidence_searches_the_cited_pages_first():
    document = doc((1, "It works.", "paragraph"), (2, "It works.", "paragraph"))
    assert find_evidence(document, "It works.").page == 1
    assert find_evidence(document, "it works", pages=[2]).page == 2


# ---------------------------------------------------------------------------------------------------------------------
# Chunks


@pytest.mark.parametrize("budget, overlap", [(16, 0), (60, 0), (60, 20), (150, 40), (5000, 50)])
def test_sentences_in_chunks_cover_the_body_in_order(sample, budget, overlap):
    index = sentence_index(sample)
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=budget, overlap_tokens=overlap), EstimateTokenizer())
    held_by = {s.id: 0 for s in index}
    for chunk in chunks:
        held = sentences_in(chunk, index)
        if chunk.is_references:
            assert held == []
            continue
        assert held, chunk.index
        positions = [index.index(s) for s in held]
        assert positions == list(range(positions[0], positions[-1] + 1))  # a run of consecutive sentences
        squashed = " ".join(chunk.text.split())
        for i, s in enumerate(held):
            assert chunk.page_start <= s.page <= chunk.page_end
            words = " ".join(s.text.split())
            if 0 < i < len(held) - 1:
                assert words in squashed
            elif i == 0 and words not in squashed:  # cut between chunks: the chunk starts inside it
                assert squashed in words or any(squashed.startswith(words[k:]) for k in range(1, len(words)))
            elif words not in squashed:  # or ends inside it
                assert any(squashed.endswith(words[:k]) for k in range(1, len(words)))
            held_by[s.id] += 1
    assert all(held_by.values())  # every body sentence is in some chunk
    if overlap == 0:  # without overlap only a sentence cut between two chunks is in more than one
        cut = sum(n - 1 for n in held_by.values())
        assert cut <= len(chunks)
        if budget >= 5000:
            assert cut == 0


# ---------------------------------------------------------------------------------------------------------------------
# Real documents (read where they are, never copied)


REAL = sorted(REAL_DOCS.glob("*.pdf")) if REAL_DOCS.is_dir() else []


@pytest.mark.skipif(not REAL, reason=f"no real documents in {REAL_DOCS}")
@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_documents_spans_are_exact(path):
    document = extract_document(path, ocr=False)
    index = sentence_index(document)
    assert index
    assert_exact(document, index)
    assert sum(s.clean for s in index) > 0


def test_a_quoted_recital_reads_without_its_formula_and_ends_with_a_stop():
    from notebooklm_clone.stages.grounding import quote_text

    def quoted(text: str) -> str:
        return quote_text([Evidence(sentence_id="s1", page=1, start=0, end=len(text), quote=text)])

    recital = "ATTENDU QUE le projet prévoit l’ajout de 43 logements;"
    assert quoted(recital) == "Le projet prévoit l’ajout de 43 logements."
    assert quoted("WHEREAS the Commission received 14 comments; and") == "The Commission received 14 comments."
    assert quoted("ATTENDU QU’aucune opposition n’a été reçue;") == "Aucune opposition n’a été reçue."  # elided
    # the second clause's "et que" goes with the formula; a recited noun keeps its formula, else it has no verb
    assert quoted("ATTENDU QUE la portion arrière est en mauvais état et que son niveau d’authenticité est peu élevé;") \
        == "La portion arrière est en mauvais état et son niveau d’authenticité est peu élevé."
    assert quoted("ATTENDU QUE le comité constate que le toit fuit et que le mur penche;") \
        == "Le comité constate que le toit fuit et que le mur penche."
    assert quoted("ATTENDU la demande 2023-0379, visant la démolition partielle d’un bâtiment;") \
        == "Attendu la demande 2023-0379, visant la démolition partielle d’un bâtiment."
    assert quoted("Whereas the first model overfits, the second one generalizes well.") \
        == "Whereas the first model overfits, the second one generalizes well."  # a contrast, no recital
    assert quoted("CONSIDÉRANT quelques difficultés;") == "Considérant quelques difficultés."
    assert quoted("Membres: M. Gaëtan Gagné;") == "Membres: M. Gaëtan Gagné."
    assert quoted("The tun forms; it survives.") == "The tun forms; it survives."
    assert quoted("Whereabouts of the tuns are unknown.") == "Whereabouts of the tuns are unknown."


def test_a_note_cites_the_one_sentence_that_says_it_not_a_neighbour_the_model_also_named():
    from notebooklm_clone.stages.grounding import Source

    text = ("The rear portion of the building is in poor condition. The renovation of the whole building would cost "
            "more than 1,200,000 dollars.")
    source = Source(Document(source="x.pdf", sha256="x", title="Minutes", page_count=1,
                             blocks=[Block(page=1, text=text)]))
    both = source.evidence([s.id for s in source.index])
    assert len(both) == 2
    _, cited = source.supports("The renovation of the whole building would cost more than 1,200,000 dollars.", both)
    assert [e.quote for e in cited] == [both[1].quote]
    verdict, cited = source.supports("The rear portion is in poor condition and its renovation would cost more than "
                                     "1,200,000 dollars.", both)
    assert verdict.supported and len(cited) == 2  # a note that needs both keeps both


def test_a_footnote_set_apart_is_no_sentence_to_take_notes_on():
    """attention-2017's episode read "†Work performed while at Google Brain." and the authors' contributions
    ("∗Equal contribution. ... Jakob proposed replacing RNNs ...") aloud as the introduction's content."""
    document = doc((1, "Recurrent networks model sequences one step at a time.", "paragraph"),
                   (1, "∗Equal contribution. Listing order is random. Jakob proposed replacing RNNs.", "paragraph"),
                   (1, "†Work performed while at Google Brain.", "paragraph"),
                   (1, "4To illustrate why the dot products get large, assume unit variance. Then it grows.", "paragraph"),
                   (1, "§ 39.13 [Amended] The section is amended by adding a new directive.", "paragraph"))
    clean = [s.text for s in sentence_index(document) if s.clean]
    markdown = doc((1, "*Tardigrades* are tiny animals that survive drying.", "paragraph"),
                   (1, "40Ar/39Ar dating of the rocks gave an age of two million years.", "paragraph"))
    assert all(s.clean for s in sentence_index(markdown))  # italics and an isotope are no footnote marks
    assert clean == ["Recurrent networks model sequences one step at a time.", "§ 39.13 [Amended] The section is "
                     "amended by adding a new directive."]


def test_the_rest_of_a_debris_sentence_cut_off_mid_way_is_debris_too():
    """alexnet's notes quoted "Di is the average over the ith batch Di of the derivative ...": the rest of an update
    rule whose formula was lost ("... ϵ is the learning rate, and")."""
    document = doc((1, "vi+1 := 0.9 vi \ufffd where v is the momentum variable, and", "paragraph"),
                   (1, "Di is the average over the ith batch Di of the derivative of the objective.", "paragraph"),
                   (1, "We initialized the weights in each layer from a zero-mean Gaussian distribution.", "paragraph"))
    assert [s.clean for s in sentence_index(document)] == [False, False, True]


def test_an_affiliation_under_an_author_line_taken_for_a_heading_is_no_sentence_to_note():
    """gamification's episode opened on "Hammer is a Mellon ... Fellow at the Institute ...", filed under its author
    line; elsewhere a university is content ("The University of Toronto dataset ...")."""
    from notebooklm_clone.models import Block, Document

    byline = ["Joey J. Lee, Teachers College Columbia University"]
    document = Document(source="x", sha256="0" * 64, title="Gamification", page_count=1, blocks=[
        Block(page=1, text="Hammer is a Mellon Graduate Research Fellow at the Institute for Social Research.",
              section=byline),
        Block(page=1, text="The students of the university played the game for a whole term.", section=["Method"])])
    assert [s.clean for s in sentence_index(document)] == [False, True]
