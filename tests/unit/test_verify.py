"""The faithfulness verifier on the project's own PDFs: sentences and paraphrases pass, planted errors are caught with
the right reason, and on the labelled set built from samples/ (bench/verifier_set.py) it meets the bench's targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pdfs
import pytest

from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.verify import duplicates, names_in, verify
from notebooklm_clone.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from verifier_set import SUPPORTED_KINDS, UNSUPPORTED_KINDS, body_sentences, pairs_for  # noqa: E402

TARGET = 0.9


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    return extract_document(pdfs.paper_pdf(tmp_path_factory.mktemp("verify") / "paper.pdf"), ocr=False)


@pytest.fixture(scope="module")
def sample():
    return extract_document(ROOT / "samples" / "tardigrades.pdf", ocr=False)


def sentence_with(document, needle: str) -> str:
    found = [s for b in document.body_blocks() for s in split_sentences(b.text) if needle in s]
    assert found, needle
    return found[0]


def test_every_body_sentence_supports_itself(paper, sample):
    for document in (paper, sample):
        for block in document.body_blocks():
            for sentence in split_sentences(block.text) if block.kind == "paragraph" else []:
                verdict = verify(sentence, sentence)
                assert verdict.supported and verdict.score in (0.0, 1.0), (sentence, verdict)


def test_compressions_and_paraphrases_pass(paper, sample):
    cases = [
        ("Water bears survive desiccation by entering a tun state.", sentence_with(paper, "tun state")),
        ("97 of the 120 animals recovered, a survival rate of 81%.", sentence_with(paper, "97 recovered")),
        ("Spallanzani named the group Tardigrada in 1776.", sentence_with(paper, "Spallanzani")),
        ("An animal in the tun state loses up to 97 percent of its body water.",
         sentence_with(sample, "Over the following hours")),
        ("Tardigrades are not indestructible.", sentence_with(sample, "not indestructible")),
        ("Cells engineered to make Dsup showed about 40 percent less DNA damage from X-rays.",
         sentence_with(sample, "Dsup showed")),
    ]
    for statement, evidence in cases:
        verdict = verify(statement, evidence)
        assert verdict.supported, (statement, verdict)


def test_evidence_may_be_several_sentences(paper):
    evidence = split_sentences(pdfs.BACKGROUND)
    assert verify("Goeze described the animal in 1773 and Spallanzani named the group in 1776.", evidence).supported
    assert not verify("Goeze described the animal in 1776.", evidence[:1]).supported


def test_a_wrong_number_is_caught(paper, sample):
    verdict = verify("Of the 120 animals, 61 recovered.", sentence_with(paper, "97 recovered"))
    assert not verdict.supported and "number 61 not in evidence" in verdict.reasons
    verdict = verify("Its metabolism falls below 0.1 percent of the normal rate.", sentence_with(sample, "0.01 percent"))
    assert "number 0.1 not in evidence" in verdict.reasons
    verdict = verify("Goeze described the animal in 1776.", "Goeze described the animal in 1773.")
    assert verdict.reasons == ["number 1776 not in evidence"]


def test_spelled_numbers_and_units():
    assert verify("The tuns were stored for 11 days.", "The tuns were stored for eleven days.").supported
    assert verify("The tuns were stored for eleven days.", "The tuns were stored for 11 days.").supported
    assert not verify("The tuns were stored for twelve days.", "The tuns were stored for 11 days.").supported
    assert verify("Humidity was kept at 85%.", "Humidity was kept at 85 percent.").supported
    verdict = verify("The chamber was kept at 85 °C.", "The chamber was kept at 85 percent humidity.")
    assert not verdict.supported and verdict.reasons[0].startswith("number 85")


def test_a_swapped_entity_is_caught(paper, sample):
    verdict = verify("In 2022 a team led by Thomas Goeze showed that CAHS proteins keep a clotting factor stable.",
                     sentence_with(sample, "Thomas Boothby"))
    assert "entity 'Goeze' not in evidence" in verdict.reasons
    verdict = verify("Goeze named the group Tardigrada in 1776.", sentence_with(paper, "Spallanzani"))
    assert "entity 'Goeze' not in evidence" in verdict.reasons
    assert "entity 'CIFAR-100' not in evidence" in verify("We trained ResNet-152 on CIFAR-100.",
                                                          "We trained ResNet-152 on CIFAR-10.").reasons
    assert {"ResNet-152", "CIFAR-10", "ImageNet"} <= set(names_in("We trained ResNet-152 on CIFAR-10 and ImageNet."))


def test_a_flipped_negation_is_caught(paper, sample):
    verdict = verify("Animals that walked within one day were not counted as alive.",
                     sentence_with(paper, "walked within one day"))
    assert any(r.startswith("negation differs") for r in verdict.reasons), verdict
    verdict = verify("Tardigrades are indestructible.", sentence_with(sample, "not indestructible"))
    assert any(r.startswith("negation differs") for r in verdict.reasons), verdict
    verdict = verify("It is death and it is not sleep.", sentence_with(sample, "It is not death"))
    assert any(r.startswith("negation differs") for r in verdict.reasons), verdict
    # a negation dropped together with its clause changes nothing
    assert verify("Tardigrades have found a remarkable way to postpone death.",
                  sentence_with(sample, "not indestructible")).supported


def test_a_generic_claim_is_caught(paper, sample):
    for statement in ("Water bears are a fascinating topic that researchers have studied for many years.",
                      "This is important.", "Further research is needed to understand these findings."):
        verdict = verify(statement, sentence_with(paper, "tun state"))
        assert not verdict.supported and verdict.reasons[-1].startswith("generic"), (statement, verdict)


def test_a_claim_against_the_wrong_evidence_is_caught(sample):
    verdict = verify(sentence_with(sample, "Over the following hours"), sentence_with(sample, "Dsup showed"))
    assert not verdict.supported and verdict.score < 0.5


def test_near_duplicates_are_found(paper):
    statements = ["The tun loses most of its water and its metabolism nearly stops.",
                  "Revival takes minutes to hours.",
                  "The tun loses most of its water, and metabolism nearly stops.",
                  "Goeze described the animal in 1773.",
                  "The tun loses most of its water."]
    assert duplicates(statements, 0.8) == [(0, 2)]
    assert duplicates(statements, 0.5) == [(0, 2), (0, 4), (2, 4)]
    assert duplicates(["水熊虫可以在干燥中存活", "水熊虫可以在干燥中存活很久", "月球上的水熊虫"], 0.7) == [(0, 1)]


def test_other_languages_do_not_crash_and_still_check():
    assert verify("La séance est levée à 16h05.", "La séance est levée à 16h05.", "fr").supported
    assert not verify("La séance n'est pas levée.", "La séance est levée à 16h05.", "fr").supported
    assert verify("Bärtierchen überleben ohne Wasser.", "Die Bärtierchen überleben lange ohne Wasser.", "de").supported
    assert not verify("Bärtierchen überleben nicht.", "Die Bärtierchen überleben lange.", "de").supported
    assert verify("水熊虫可以在干燥中存活", "水熊虫可以在极端干燥的环境中存活数年", "zh").supported
    assert not verify("水熊虫不可以在干燥中存活", "水熊虫可以在极端干燥的环境中存活数年", "zh").supported
    assert not verify("月球的引力很小", "水熊虫可以在极端干燥的环境中存活数年", "zh").supported
    assert not verify("", "Some evidence.").supported


def test_the_labelled_set_from_samples_meets_the_targets(sample):
    assert len(body_sentences(sample)) > 50
    pairs = pairs_for("tardigrades.pdf", sample)
    assert pairs == pairs_for("tardigrades.pdf", sample)  # seeded: the same set every time
    kinds = {p.kind for p in pairs}
    assert kinds == set(SUPPORTED_KINDS) | set(UNSUPPORTED_KINDS)
    wrong = [(p.kind, p.statement, verify(p.statement, p.evidence).reasons) for p in pairs
             if verify(p.statement, p.evidence).supported != p.supported]
    bad = [p for p in pairs if not p.supported]
    good = [p for p in pairs if p.supported]
    caught = sum(not verify(p.statement, p.evidence).supported for p in bad) / len(bad)
    passed = sum(verify(p.statement, p.evidence).supported for p in good) / len(good)
    assert caught >= TARGET and passed >= TARGET, wrong


def test_a_sentence_opening_word_is_not_taken_for_a_swapped_name():
    evidence = "Goeze described the water bear in 1773, and Spallanzani named the group Tardigrada in 1776."
    for opener in ("Today", "However", "Let's remember", "Interestingly"):
        verdict = verify(f"{opener} Goeze described the water bear in 1773.", evidence)
        assert verdict.supported, (opener, verdict.reasons)
    assert not verify("Spallanzani described the water bear in 1773.", "Goeze described the water bear in 1773.").supported


def test_a_why_question_is_answered_only_by_a_reason_and_a_how_many_one_by_a_count():
    from notebooklm_clone.stages.verify import gives_what_is_asked

    assert not gives_what_is_asked("Why do schools already have game-like elements?",
                                   "After all, schools already have several game-like elements.")
    assert gives_what_is_asked("Why was tap water avoided?", "Tap water was avoided because its chlorine harms them.")
    assert gives_what_is_asked("How many tardigrades were counted?", "42 tardigrades.")
    assert gives_what_is_asked("How many animals recovered?", "Eleven tuns did not recover; most were walking.")
    assert not gives_what_is_asked("How many kernels does each convolutional layer have?", "The kernels of the third "
                                   "convolutional layer are connected to all kernel maps in the second layer.")
    # the French minutes' host asked "Quelle est la raison ..." of a recital that gives none
    assert not gives_what_is_asked("Quelle est la raison pour laquelle le projet vise à préserver la partie avant ?",
                                   "Le projet vise la préservation de la partie avant du bâtiment.")
    assert gives_what_is_asked("Pourquoi la portion arrière est-elle démolie ?", "Elle est démolie puisque son "
                               "niveau d’authenticité est peu élevé.")
    assert not gives_what_is_asked("Combien de logements le projet ajoute-t-il ?", "Le projet agrandit l’arrière.")


def test_reasons_and_counts_in_other_languages_read_their_own_words():
    from notebooklm_clone.stages.verify import gives_what_is_asked

    assert gives_what_is_asked("Pourquoi la demande est-elle approuvée ?", "Parce qu’elle préserve la façade.")
    assert gives_what_is_asked("Qui a raison selon le document ?", "Le comité.")  # "avoir raison": no reason asked
    assert gives_what_is_asked("Combien de séances le conseil a-t-il tenues ?", "Le conseil a tenu trois séances.")
