"""The host's question naming what an answer is about (stages/focus.py), read from the real sample's text."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from notebooklm_clone.stages.focus import Focus
from notebooklm_clone.stages.phrases import Phrases, is_frame

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "tardigrades.pdf"
TITLE = "Surviving the Impossible: How Tardigrades Endure Drying, Freezing, Radiation and Space"


@pytest.fixture(scope="module")
def text() -> str:
    with pymupdf.open(SAMPLE) as pdf:
        return " ".join(page.get_text() for page in pdf)


def test_the_focus_is_a_phrase_or_name_the_document_uses_with_its_article(text):
    focus = Focus(text, TITLE, "en")
    assert focus.term("In the tun state, metabolism drops to less than 0.01 percent of normal.") == "the tun state"
    assert focus.term("Dsup binds to nucleosomes and shields DNA from hydroxyl radicals.") == "Dsup"
    assert focus.term("CAHS proteins form gels as the cell dries.") == "CAHS proteins"


def test_no_term_is_asked_twice_and_the_title_is_not_a_focus(text):
    focus = Focus(text, TITLE, "en")
    assert focus.term("In the tun state, metabolism drops to less than 0.01 percent of normal.") == "the tun state"
    second = focus.term("The tun state lets the animal survive for decades.")
    assert second and "tun" not in second and "state" not in second
    assert focus.term("Tardigrades survive drying.") == ""  # its only noun names the title


def test_adjectives_verbs_and_words_the_document_does_not_use_are_not_asked_about(text):
    focus = Focus(text, TITLE, "en")
    assert focus.term("Remarkably resilient.") == ""
    assert focus.term("Zebrafish swim quickly.") == ""  # not in the document
    assert focus.term("It reduces quickly.") == ""
    assert focus.term("The intended effect is reached excessively.") == ""  # a participle, an adverb


def test_a_new_term_is_preferred_to_one_the_episode_said(text):
    answer = "CAHS proteins form gels as the cell dries, unlike Dsup."
    assert Focus(text, TITLE, "en").term(answer) == "CAHS proteins"  # the phrase, and earlier in the answer
    focus = Focus(text, TITLE, "en")
    focus.hear("CAHS proteins are one family.")
    assert focus.term(answer) == "Dsup"


@pytest.mark.parametrize("language, term", [("en", "the tun state"), ("fr", "le tonneau"), ("de", "Tönnchen"),
                                            ("es", "el tonel")])
def test_the_question_names_the_term_and_is_a_frame_line(language, term):
    questions = {Phrases(language).about(n, term) for n in range(3)}
    assert all(term in q and q.endswith("?") and is_frame(q) for q in questions), questions


def test_a_noun_that_mostly_relates_others_is_no_subject(text):
    focus = Focus(text, TITLE, "en")
    assert "family" in {w[:6] for w in focus.relational}  # "a family of proteins" throughout the sample
    term = focus.term("A family of proteins keeps the cell's contents in a glassy state.")
    assert term and "family" not in term


def test_a_term_the_model_s_question_named_is_not_asked_again(text):
    focus = Focus(text, TITLE, "en")
    focus.ask("What happens in the tun state?")
    term = focus.term("In the tun state, metabolism drops to less than 0.01 percent of normal.")
    assert "tun" not in term and "state" not in term


def test_a_word_of_a_longer_name_is_not_asked_about_alone():
    text = ("Comments go to the Federal Aviation Administration. Under the Freedom of Information Act, marked "
            "submissions stay private. The Federal Aviation Administration reads every comment. Only the Freedom of "
            "Information Act applies here. The docket of the submissions is open.")
    focus = Focus(text, "Airworthiness Directives", "en")
    assert focus.term("The Freedom of Information Act keeps the submissions private.") == "the submissions"
    assert focus.term("The Administration reads every comment.") != "Administration"


def test_a_word_of_an_idiom_is_no_subject():
    text = ("The network achieved by far the best results. The results were by far the best ever reported. "
            "So far the network is the largest. The network won the contest.")
    focus = Focus(text, "A network", "en")
    assert "far" not in focus.term("The network achieved by far the best results on the contest.")


def test_a_label_with_its_number_is_no_subject():
    text = ("The network trains on two GTX 580 GPUs. The GTX 580 has 3GB of memory. The kernels of layer 4 connect "
            "to layer 3. The network won the contest.")
    focus = Focus(text, "A network", "en")
    assert focus.term("Our network takes six days to train on two GTX 580 GPUs.") not in ("GTX", "the GTX")
    text += " The best results are listed at the top. The top-5 error of the network is low."
    assert "top" not in Focus(text, "A network", "en").term("The network reaches a top-5 error of 15.3%.")


def test_a_short_document_s_answer_is_asked_about_by_the_word_it_opens_with():
    text = ("Water bears survive drying. Revival takes minutes to hours. Survival was counted after rehydration. The "
            "group was named by Spallanzani in 1776.")
    focus = Focus(text, "A Test Paper on Water Bears", "en")
    assert focus.term("Revival takes minutes to hours.") == "the revival"  # no noun seen: the opening word, lower case
    assert focus.term("Revival is quick.") == ""  # asked already
    assert focus.term("Hours, however, pass.") == ""  # set off by a comma
    assert focus.term("Counted animals walked.") == ""  # two content words: which heads the phrase is unknown
    assert focus.term("Spallanzani was first.") == "Spallanzani"  # a name keeps its capital


def test_a_phrase_between_an_article_and_a_mark_is_a_noun_even_once():
    text = ("Water bears survive drying by entering a tun state. Raw counts are listed in the supplementary table. "
            "A lander crashed on the Moon carrying, among other cargo, dried animals.")
    focus = Focus(text, "A Test Paper on Water Bears", "en")
    assert focus.term("Water bears survive drying by entering a tun state.") == "the tun state"
    assert focus.term("Raw counts are listed in the supplementary table.") == "the supplementary table"  # not "the
    # supplementary": a word that modifies the noun after it is no subject, and a show word may end the phrase
    assert "carrying" not in focus.term("A lander crashed on the Moon carrying dried animals.")  # a participle


def test_an_idiom_s_noun_or_a_sentence_s_opening_preposition_is_no_subject():
    text = ("On the contrary, the shortcuts are never closed. The final layer is replaced. The final answer is given. "
            "Unlike the plain nets, the residual nets converge. The shortcuts add no parameters.")
    focus = Focus(text, "Deep Residual Learning", "en")
    assert "contrary" not in focus.term("On the contrary, the shortcuts are never closed.")
    assert "final" not in focus.term("The final layer is replaced.")
    assert "unlike" not in focus.term("Unlike the way of the others, it is per class.").lower()


def test_a_word_mostly_written_after_a_modifier_or_a_verb_after_a_pronoun_is_no_subject():
    text = ("The test set has 100 images. The training set has 1000 images. The validation set is small. The error on "
            "the test set is low. A few of the animals recovered, and some of those went on to lay eggs. The eggs hatched.")
    focus = Focus(text, "A network", "en")
    assert "set" in focus.vague
    assert focus.term("The error rates on the test set are low, and the set is small.") not in ("the set", "set")
    assert "went" not in focus.heads


def test_no_focus_on_a_pointed_to_noun_a_possessor_a_compound_s_modifier_or_a_word_of_a_longer_name():
    """What the graders heard as awkward on a 9-page paper: "What about the size?" (of "datasets of this size"),
    "What about Amazon?" ("Amazon's Mechanical Turk"), "And what about the weight?" ("weight decay"), "And what
    about the Object?" ("Pascal Visual Object Challenge"), "And what about Celsius?" ("18 degrees Celsius"). Each
    was the focus before."""
    text = ("We trained the network with weight decay. The weight decay was 0.0005 and the weight decay helped. "
            "The images came from the web. The labels came from Amazon's Mechanical Turk. Each label has a score. "
            "The scores were compared at the Pascal Visual Object Challenge. Each object in the images has a box. "
            "A model of this size overfits. They set the weight. The size of the model grew. It has a size. "
            "The Celsius scale is used. It was 18 degrees Celsius.")
    for answer in ("It needs a small amount of weight decay.", "It was done with Amazon's Mechanical Turk.",
                   "It works well at this size.", "It began at the Pascal Visual Object Challenge.",
                   "It stayed at 18 degrees Celsius."):
        assert Focus(text, "Deep networks", "en").term(answer) == "", answer


def test_a_part_of_the_document_or_a_recital_formula_is_no_subject():
    """resnet's episode asked "What about the introduction?" of "As the authors discussed in the introduction, ...",
    and the French minutes' "Et attendu ?" of "ATTENDU la pertinence du projet ..."."""
    text = ("As we discussed in the introduction, depth matters. The introduction shows the degradation problem. "
            "Layers can be added. A deeper model has no higher training error.")
    focus = Focus(text, "Deep Residual Learning", "en")
    asked = focus.term("As we discussed in the introduction, if the added layers are identity mappings, a deeper "
                       "model should have training error no greater than its shallower counterpart.")
    assert "introduction" not in asked  # (another subject, or a plain question)
    french = Focus("Attendu la pertinence du projet. Attendu la demande de démolition. Le projet est pertinent.",
                   "Procès-verbal", "fr")
    assert "ttendu" not in french.term("Attendu la pertinence du projet de remplacement proposé.")


def test_an_adjective_opening_the_answer_or_a_count_word_is_no_subject():
    """alexnet's episode asked "What about the current?" and "What do we learn about tens?"."""
    text = ("Current approaches use machine learning. The current model is large. Datasets held tens of thousands of "
            "images. Tens of models were trained. The images were labeled by hand.")
    focus = Focus(text, "ImageNet Classification", "en")
    assert "urrent" not in focus.term("Current approaches to object recognition make essential use of learning.")
    assert "tens" not in focus.term("Datasets were small, on the order of tens of thousands of images.").lower()
