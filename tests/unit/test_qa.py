"""Q&A: a map question grounded on its sentences joins the Q&A when those sentences answer it, and is then not
listed again under "Check yourself"."""

from __future__ import annotations

import pytest

from notebooklm_clone.models import ChunkNotes, Evidence, NotesResult, Question
from notebooklm_clone.outputs.study import unanswered_questions
from notebooklm_clone.stages.reduce import answered_by_its_sentences

MEMO = ["Each cushion was soaked in spring water for three hours before counting.",
        "We counted 42 tardigrades in sample A and 17 in sample B."]
SURVEY = "The survey team collected moss cushions from the north wall every Monday in April."


def question(text: str, quote: str) -> Question:
    sid = f"s{[*MEMO, SURVEY].index(quote) + 1}"
    return Question(text=text, pages=[1], evidence=[Evidence(sentence_id=sid, page=1, start=0, end=len(quote),
                                                             quote=quote)], grounding="verified")


def test_a_map_question_answered_by_its_own_sentences_joins_the_qa_and_leaves_check_yourself():
    answered = answered_by_its_sentences(question("How many tardigrades were counted in sample A?", MEMO[1]), "en")
    assert answered is not None and answered.answer == MEMO[1] and answered.evidence[0].quote == MEMO[1]
    assert answered_by_its_sentences(question("Why was the cushion soaked in spring water?", MEMO[0]), "en") is None
    assert answered_by_its_sentences(question("What was the temperature of the water?", MEMO[1]), "en") is None

    asked = question("How many tardigrades were counted in sample A?", MEMO[1])
    other = question("What did the survey team collect?", SURVEY)
    result = NotesResult(document="x", title="Moss", qa=[answered],
                         chunk_notes=[ChunkNotes(chunk=0, pages=[1], questions=[asked, other])])
    assert unanswered_questions(result) == [other]


@pytest.mark.parametrize("asked, answer, alone", [
    # alexnet's Q&A: the dataset these results are on is named only on the page around them
    ("What are the best published results on this dataset?", "The best published results on this dataset are "
     "78.1% and 60.9%.", False),
    ("What are the best published results?", "The best published results on this dataset are 78.1% and 60.9%.", False),
    ("What are the top-1 and top-5 test set error rates of your network?", "Our network achieves top-1 and top-5 "
     "test set error rates of 37.5% and 17.0%.", False),
    ("How does the second form of data augmentation work?", "The first form of data augmentation consists of "
     "generating image translations and horizontal reflections.", False),
    ("Which sections are sorted according to their importance?", "Sections 3.1-3.4 are sorted according to our "
     "estimation of their importance, with the most important first.", False),
    ("What does this paper train?", "We trained a large, deep convolutional neural network to classify the 1.2 "
     "million images.", True),
    ("What is the first form of data augmentation?", "The first form of data augmentation consists of generating "
     "image translations and horizontal reflections.", True),
    ("Which datasets contain labeled images?", "Datasets such as ImageNet contain labeled images.", True),
])
def test_a_card_stands_alone(asked, answer, alone):
    from notebooklm_clone.stages.questions import stands_alone

    assert stands_alone(asked, answer) is alone


def test_a_check_yourself_question_is_about_the_content_not_the_page_around_it_or_the_layout():
    """alexnet's "Check yourself" listed "Which sections are sorted according to their importance?"."""
    from notebooklm_clone.stages.questions import about_the_content

    assert not about_the_content("Which sections are sorted according to their importance?", "Sections 3.1-3.4 are "
                                 "sorted according to our estimation of their importance, with the most important first.")
    assert not about_the_content("What are the best published results on this dataset?", "They are 78.1% and 60.9%.")
    # the evidence may point back: only the question is what the student reads
    assert about_the_content("What are some examples of reasonable top-5 labels?", "Most of the top-5 labels appear "
                             "reasonable. For example, only other types of cat are considered plausible labels.")


def test_the_host_asks_a_question_the_notes_asked_of_the_same_sentence_when_it_fits_the_answer():
    from notebooklm_clone.stages.material import Item
    from notebooklm_clone.stages.material import questions_asked
    from notebooklm_clone.stages.script import _asked_of

    fits, other = question("How many tardigrades were counted in sample A?", MEMO[1]), \
        question("What was soaked for three hours?", MEMO[0])
    notes = NotesResult(document="x", title="Moss",
                        chunk_notes=[ChunkNotes(chunk=0, pages=[1], questions=[fits, other])])
    asked = questions_asked(notes)
    item = Item(MEMO[1], fits.evidence, "key_point")
    assert _asked_of(item, asked, "en") == [fits.text]


def test_an_empty_quiz_says_why():
    from notebooklm_clone.models import Document, QAPair
    from notebooklm_clone.outputs.study import quiz_markdown

    document = Document(source="memo.pdf", sha256="x", title="Moss", page_count=1)
    pair = QAPair(question="How many tardigrades were counted in sample A?", answer=MEMO[1], pages=[1])
    asked = quiz_markdown(NotesResult(document="x", title="Moss", qa=[pair]), document)
    assert asked.rstrip().endswith("No quiz for this document: every fact it could ask about is a question of the "
                                   "Q&A in notes.md.")
    assert "three wrong ones" in quiz_markdown(NotesResult(document="x", title="Moss"), document)


@pytest.mark.parametrize("term, definition, circular", [
    ("meta-game", "A free, modular toolkit for instructors, who can fit their needs into a playful meta-game.", True),
    ("Dsup", "Dsup is a protein that shields DNA from hydroxyl radicals.", False),
    ("tun", "The contracted, dried state a tardigrade survives in.", False),
    ("game", "Players of the endgame score points.", False),  # a longer word is not the term
])
def test_a_definition_that_only_uses_its_own_term_is_circular(term, definition, circular):
    from notebooklm_clone.stages.grounding import circular as is_circular

    assert is_circular(term, definition) is circular


@pytest.mark.parametrize("text, quotable", [
    ("Our network achieves top-1 and top-5 test set error rates of 37.5% and 17.0%.", True),
    ("ATTENDU QUE le bâtiment est protégé en vertu du règlement 1274;", True),
    ("Sparse coding 47.1% 28.2% SIFT + FVs 45.7% 25.7% CNN", False),  # a table row
    ("The network was trained on two GPUs for five to six days and", False),  # cut off
    ("is that they give no basis for a proof that a program successfully terminates.", False),  # a sentence's tail
    ("x is a variable identifier and f is an expression of the language.", True),  # a variable opens it
    ("In addition, we define F(j) = ~=~ f(i) and write Ix] for the greatest integer not exceeding x.", False),  # OCR
    ("The removal of brackets is a convention, as in an expression (6 + (t2 + true{Q} y < r.", False),  # unclosed
    ("We show that: 1) deep residual nets are easy to optimize, and 2) they gain accuracy from depth.", True),
    ("The error fell by 3.5% (Table 2) and the model is ~5 times smaller than before.", True),
    ("The suggestion to use axioms for the definition of the semantics appears in.", False),  # its citation gone
    ("Unlike VGG-16 used in, our ResNet has no hidden fc layers.", False),  # inside the sentence too
    ("We adopt batch normalization right after each convolution and before activation, following.", False),
    ("Our localization algorithm is based on the RPN framework of with a few modifications.", False),
    ("The drying rate and, in turn, the survival of the animals depend on the humidity.", True),
    ("We used a set of in-house tools and of off-the-shelf parts for the whole test.", True),
    ("We train the whole network instead of in the first stage only, on all the data.", True),
    ("The results of in vitro experiments agree with the model in every case.", True),
    ("We are aware of, and have addressed, the limits of the method in this study.", True),
    ("McCARTHY, J. Towards a mathematical theory of computation.", False),  # a reference list's entry
    ("altitude and airspeed, and would be limited such that the pilot can keep control.", False),  # a tail
    ("AOA sensor system test ....................... 2 work-hours at $85 per hour.", False),  # dot leaders
    ("BURSTALL, R. M. Proving properties of programs by structural induction.", False),
    ("DE BAKKER, J. W. Axiomatics of simple assignment statements.", False),
    ("The axiom Alls ~ 3x (x = max + 1) holds in the strict interpretation.", False),  # "~ 3x": a misread symbol
    ("Below, we describe some of the novel or unusual features of our network's architecture.", False),  # roadmap
    ("Sections 3.1-3.4 are sorted according to our estimation of their importance, with the most important first.",
     False),
    ("The rest of this paper is organized as follows, from the data to the results.", False),
    ("Keywords: data cleaning, data tidying, relational databases, R.", False),  # a label, said as an answer
    ("The results, detailed in Section 4, show a drop in error of 1.7%.", True),  # a fact that points on
    ("The standard way to model a neuron's output is with f(x) = tanh(x) or f(x) = (1 + e\u2212x)\u22121.", False),
    ("We used the Adam optimizer with a learning rate of 10\u22124 and a batch of 128.", False),  # 10^-4 flattened
    ("The temperature fell to \u22124 degrees during the night of the test.", True),  # a negative number is fine
    ("3We cannot describe this network in detail due to space constraints.", False),  # a footnote
    ("3D models of the cell were built from 42 sections of the tissue.", True),
    ("capabilities, and create an environment in which effort, not mastery, is rewarded.", False),  # a page break cut
    ("mRNA levels rose threefold within two hours of drying in every sample.", True),
    ("A −tB = rAB c −v and t′ c + v where rAB denotes the length of the moving rod.", False),  # an equation's end
    ("4“Time” here denotes “time of the stationary system” and the position of the hands.", False),  # a footnote
    ("A language undefined; (2) a comprehensive evaluation of the possible benefits to be gained.", False),  # item 1 cut
    ("It needs (1) a rigorous definition; (2) a comprehensive evaluation of the possible benefits.", True),
    ("2. treatment, with two possible values (a and b) in every trial.", False),  # a list item going on from its lead
    ("2. Each observation forms a row of the table.", True),
])
def test_a_quote_must_close_like_a_sentence(text, quotable):
    from notebooklm_clone.models import SourceSentence
    from notebooklm_clone.stages.grounding import quotable as is_quotable

    sentence = SourceSentence(id="s1", page=1, start=0, end=len(text), text=text, section=[], clean=True)
    assert is_quotable(sentence) is quotable


def test_a_section_left_without_notes_gets_its_central_sentence_unless_another_point_says_it():
    from notebooklm_clone.models import SourceSentence
    from notebooklm_clone.stages.grounding import central_sentence

    texts = ["We also entered our model in the ILSVRC-2012 competition and report our results in Table 2.",
             "The ILSVRC-2012 competition results of our model are reported in Table 2 of this paper.",
             "Our model was trained on the ILSVRC-2012 images with the same settings as in Table 2."]
    sentences = [SourceSentence(id=f"s{k}", page=1, start=0, end=len(t), text=t, section=["6"], clean=True)
                 for k, t in enumerate(texts)]
    assert central_sentence(sentences, "en").text in texts[:2]
    said = ["We also entered our model in the ILSVRC-2012 competition and report our results in Table 2."]
    assert central_sentence(sentences, "en", said).text == texts[2]


def test_a_decision_set_in_capitals_is_emphasized_but_not_recitals_labels_or_run_in_headings():
    from notebooklm_clone.models import Block, Document
    from notebooklm_clone.stages.grounding import Source, emphasized

    paragraphs = ["ATTENDU QUE le bâtiment est protégé en vertu du règlement 1274;",
                  "IL EST RÉSOLU À L’UNANIMITÉ", "D’APPROUVER la demande de démolition partielle du bâtiment.",
                  "FOR FURTHER INFORMATION CONTACT: Ian Won, Manager, Seattle Branch, 2200 South 216th Street.",
                  "RULES OF CONSEQUENCE In addition to axioms, a deductive science requires a rule of inference.",
                  "FCC OPS installation and verification is done by the operator at every station.",
                  "NOW, THEREFORE, BE IT RESOLVED that the council adopts the budget for the coming year."]
    document = Document(source="x", sha256="0" * 64, title="t", page_count=1,
                        blocks=[Block(page=1, text=text, kind="paragraph") for text in paragraphs])
    found = [" ".join(s.text.split()) for s in emphasized(Source(document))]
    assert found == ["IL EST RÉSOLU À L’UNANIMITÉ D’APPROUVER la demande de démolition partielle du bâtiment.",
                     "NOW, THEREFORE, BE IT RESOLVED that the council adopts the budget for the coming year."]


def test_a_stressed_sentence_replaces_a_point_that_says_much_the_same():
    """French minutes: the map's point quoted the request ("ATTENDU la demande ... démolition partielle ..."), and the
    decision approving it (set in capitals) was dropped as its duplicate; the decision is what a reader needs."""
    from notebooklm_clone.config import ChunkSettings
    from notebooklm_clone.llm.tokens import get_tokenizer
    from notebooklm_clone.models import Block, ChunkNotes, Cited, Document, GroundingCounts
    from notebooklm_clone.stages.chunk import chunk_document
    from notebooklm_clone.stages.coverage import every_highlight_noted
    from notebooklm_clone.stages.grounding import Source, quote_text

    paragraphs = ["ATTENDU la demande 2023-0379, visant la démolition partielle d’un bâtiment, soit la partie arrière "
                  "du 1069, boulevard de Sainte-Adèle;", "IL EST RÉSOLU À L’UNANIMITÉ",
                  "D’APPROUVER la demande de démolition partielle, soit de la partie arrière du bâtiment situé au "
                  "1069, boulevard de Sainte-Adèle, en vertu du règlement 1314-2023-DEM."]
    document = Document(source="x", sha256="0" * 64, title="Procès-verbal", page_count=1, language="fr",
                        blocks=[Block(page=1, text=text, kind="paragraph") for text in paragraphs])
    source = Source(document)
    chunks = chunk_document(document, ChunkSettings(), get_tokenizer("fallback"))
    request = source.evidence([source.index[0].id])
    notes = [ChunkNotes(chunk=chunks[0].index, pages=[1], key_points=[
        Cited(text=quote_text(request), pages=[1], evidence=request, grounding="quoted")])]
    notes = every_highlight_noted(notes, chunks, source, GroundingCounts())
    points = [p.text for n in notes for p in n.key_points]
    assert len(points) == 1 and points[0].startswith("IL EST RÉSOLU"), points


@pytest.mark.parametrize("term, sentence, defines", [
    ("gamification", "Gamification, or the incorporation of game elements into non-game settings, helps.", True),
    ("tun", "A tun is a dried, barrel-shaped state.", True),
    ("Quest to Learn", "Quest to Learn, a new charter school in New York City, uses game design.", True),
    ("dropout", "a recently-developed regularization method called “dropout” that proved effective", True),
    ("ReLU", "Neurons with this nonlinearity are called Rectified Linear Units (ReLUs).", True),
    ("CAHS proteins", "CAHS proteins are intrinsically disordered proteins that form gels.", True),
    ("anhydrobiosis", "Anhydrobiosis (life without water) is common.", True),
    ("tun state", "The tun state is where tardigrades live.", False),
    ("bâtiment", "Le bâtiment est protégé en vertu du règlement 1274.", False),
    ("meta-game", "This meta-game, in turn, attempts to foster goal-setting.", False),
    ("tardigrades", "Tardigrades are found in moss.", False),
    ("Dsup", "Dsup (Fig. 2) binds DNA.", False),
    ("schools", "Schools, teachers and students benefit.", False),
])
def test_a_definition_says_what_the_term_is_not_something_about_it(term, sentence, defines):
    from notebooklm_clone.stages.grounding import Source

    assert Source.defines(term, sentence) is defines


def test_a_term_blanked_out_of_a_sentence_takes_the_document_s_recurring_nouns_as_wrong_options():
    from notebooklm_clone.models import Block, Cited, Document, Evidence
    from notebooklm_clone.stages.grounding import Source
    from notebooklm_clone.stages.quiz import DistractorPool, _blank

    text = ("The students play games in the school. The teachers give rewards to the players. The players earn "
            "points in the games. The school has rules for the students. The teachers set the rules. The rewards "
            "motivate the players. The students follow the rules. The teachers like the rewards. Gamification "
            "adds points to the lessons of the school. The games keep the points. The points count in the games.")
    document = Document(source="x", sha256="0" * 64, title="Play at school", page_count=1,
                        blocks=[Block(page=1, text=text, kind="paragraph")])
    source = Source(document)
    pool = DistractorPool(source, [])
    assert {"students", "teachers", "players", "rewards", "rules"} <= set(pool.subjects), pool.subjects
    sentence = next(s for s in source.index if s.text.startswith("The teachers give"))
    point = Cited(text=sentence.text, pages=[1], evidence=[Evidence(sentence_id=sentence.id, page=1, start=sentence.start,
                                                                    end=sentence.end, quote=sentence.text)])
    import random

    question, answer, wrong, _ = _blank(point, pool, random.Random(0), set())
    assert "_____" in question and answer in {"rewards", "players"}
    assert len(wrong) == 3 and all(w.endswith("s") and w not in sentence.text for w in wrong), wrong


def test_wrong_options_are_no_section_numbers_and_no_words_with_a_footnote_mark_glued_on():
    """alexnet's quiz offered "3.1" (a heading's number), "patches4" and "publicly1" as wrong options."""
    from notebooklm_clone.models import Block, Document
    from notebooklm_clone.stages.grounding import Source
    from notebooklm_clone.stages.quiz import DistractorPool

    body = ("We extract random patches from the images and train on these extracted patches4. The labels are not "
            "publicly1 available, and the test images are publicly released. The network has 60 million parameters "
            "and uses the GPU. Averaging the predictions of 5 CNNs gives 16.4% (see Section 3.5).")
    document = Document(source="x", sha256="0" * 64, title="Nets", page_count=1,
                        blocks=[Block(page=1, text="3.1 ReLU Nonlinearity", kind="heading"),
                                Block(page=1, text=body, kind="paragraph")])
    pool = DistractorPool(Source(document), [])
    assert "60 million" in pool.numbers and "16.4%" in pool.numbers
    assert not {"3.1", "3.5"} & set(pool.numbers), pool.numbers
    assert not {"patches4", "publicly1"} & set(pool.names) and "GPU" in pool.names, pool.names


def test_a_note_copied_from_a_sentence_a_page_break_cut_is_not_verified(tmp_path):
    import pdfs

    from notebooklm_clone.sources import extract_document
    from notebooklm_clone.stages.grounding import Source, first_pass

    writer = pdfs.Writer()
    writer.new_page()
    writer.text("The use of axioms may lead to similar advantages in the area of semantics, since a language which can")
    writer.new_page()
    writer.text("Tardigrades survive drying by forming a tun, a dry and compact state of the body.")
    source = Source(extract_document(writer.save(tmp_path / "cut.pdf", toc=False)))
    cut = next(s for s in source.index if "axioms" in s.text)
    copied = first_pass(source, "The use of axioms may lead to similar advantages in the area of semantics", [cut.id], [])
    assert not copied.how and copied.verdict.reasons == ["cut off"]
    whole = next(s for s in source.index if "tun" in s.text)
    assert first_pass(source, "Tardigrades survive drying by forming a tun", [whole.id], []).how == "verified"


@pytest.mark.parametrize("text, quotable", [
    ("No regularization of any kind was employed.", False),  # of Figure 1's caption: alone it says the net used none
    ("In italics are best results achieved by others.", False),
    ("Table 3: Variations on the Transformer architecture.", False),  # what a table shows, nothing it says
    ("Table 1: Comparison of results on ILSVRC- 2010 test set.", False),  # a name's number is no result
    ("Table 2: Results of the 2012 contest on the validation and test sets.", False),  # nor a year
    ("Figure 3: 96 convolutional kernels of size 11×11×3 learned by the first convolutional layer.", True),
    ("Training error (left) and test error (right) on CIFAR-10 with 20-layer and 56-layer networks.", False),
    ("Right: a residual network with 34 parameter layers (3.6 billion FLOPs).", False),
    ("Table 3: Survival time (d) of tuns dried at 85 percent humidity.", True),  # a unit, no panel
    ("Figure 2: Training with mini-batches of 2048 images takes one hour.", True),  # a count, no year
    ("Figure 1: The network reaches a 25% training error rate six times faster than with tanh neurons.", True),
])
def test_a_caption_s_sentence_is_quoted_only_when_it_states_a_number(text, quotable):
    from notebooklm_clone.models import SourceSentence
    from notebooklm_clone.stages.grounding import quotable as is_quotable

    sentence = SourceSentence(id="s1", page=1, start=0, end=len(text), text=text, block_kind="caption")
    assert is_quotable(sentence) is quotable
    assert is_quotable(sentence.model_copy(update={"block_kind": "paragraph"}))  # the same words in the text are


def test_a_section_with_no_note_gets_its_central_sentence_but_an_affiliation_is_no_note():
    """gamification's author line was taken for a heading, and its one sentence ("Hammer is a Mellon ... Fellow at the
    Institute ...") became that section's key point."""
    from notebooklm_clone.config import ChunkSettings
    from notebooklm_clone.llm.tokens import get_tokenizer
    from notebooklm_clone.models import Block, Document, GroundingCounts
    from notebooklm_clone.stages.chunk import chunk_document
    from notebooklm_clone.stages.coverage import every_section_noted
    from notebooklm_clone.stages.grounding import Source

    blocks = [Block(page=1, text="Joey J. Lee, Teachers College Columbia University", kind="heading", level=1),
              Block(page=1, text="Hammer is a Mellon Interdisciplinary Graduate Research Fellow at the Institute for "
                    "Social and Economic Research and Policy, where she studies games and learning in schools.",
                    kind="paragraph", section=["Joey J. Lee, Teachers College Columbia University"]),
              Block(page=1, text="Introduction", kind="heading", level=1),
              Block(page=1, text="Schools face major problems around student motivation and engagement. Students get "
                    "points for completing assignments correctly, and they level up at the end of every academic "
                    "year.", kind="paragraph", section=["Introduction"])]
    document = Document(source="x", sha256="0" * 64, title="Gamification", page_count=1, blocks=blocks)
    source = Source(document)
    chunks = chunk_document(document, ChunkSettings(), get_tokenizer("fallback"))
    notes = every_section_noted([], chunks, source, GroundingCounts())
    points = [p.text for n in notes for p in n.key_points]
    assert len(points) == 1 and "Hammer" not in points[0], points


def test_wrong_options_take_the_answer_s_form_a_number_its_unit_and_a_name_other_names():
    """resnet's quiz offered "128", "18" and "7.32" against "152 layers", and "error", "test", "resnet" against
    "ImageNet": the one option with a unit, or the one name, gives the answer away."""
    import random

    from notebooklm_clone.models import Block, Document
    from notebooklm_clone.stages.grounding import Source
    from notebooklm_clone.stages.quiz import DistractorPool

    text = ("The deepest net has 152 layers and reaches 3.57% error on ImageNet. A plain net of 34 layers is worse. "
            "The error of the 18 plain nets is 7.32 on CIFAR-10 and 4.82 on COCO. The test error drops by 28 points "
            "on VGG data, and 11 runs give an error of 6.43 in the test. The error of the test is low. The error "
            "of each test is reported. The nets train on 128 GPUs in 3 weeks.")
    source = Source(Document(source="x", sha256="0" * 64, title="Deep nets", page_count=1,
                             blocks=[Block(page=1, text=text, kind="paragraph")]))
    pool = DistractorPool(source, [])
    for seed in range(5):
        layers = [w for w in pool.shuffled("152 layers", random.Random(seed)) if w != "152 layers"][:3]
        assert all(w.endswith(" layers") and w[0].isdigit() for w in layers), layers
        assert all("." not in w for w in layers), layers  # whole numbers for a count
        percent = [w for w in pool.shuffled("3.57%", random.Random(seed)) if w != "3.57%"][:3]
        assert all(w.endswith("%") for w in percent), percent
        names = [w for w in pool.shuffled("ImageNet", random.Random(seed)) if w != "ImageNet"][:3]
        assert set(names) <= {"CIFAR-10", "COCO", "VGG", "GPUs"}, names
        assert not any(w[0].isdigit() for w in pool.shuffled("CIFAR-10", random.Random(seed))[:4])  # a name
    # a count of millions takes no "4096 million"; an address is no name
    assert not any(float(w.split()[0]) >= 1000 for w in pool.shuffled("15 million", random.Random(0))[:3]
                   if w.endswith(" million"))
    assert "image-net.org/challenges/LSVRC/2015" not in DistractorPool(Source(Document(
        source="x", sha256="0" * 64, title="t", page_count=1, blocks=[Block(page=1, text="See image-net.org/challenges/"
                                                                         "LSVRC/2015 and CIFAR-10 here.")])), []).names
