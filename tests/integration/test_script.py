"""The script stage: outline + segments from real notes with the real 0.5B model; validation and cleaning without."""

from __future__ import annotations

import json
import re

import pytest
from test_notes import shared_notes_run

from notebooklm_clone.errors import BadInput
from notebooklm_clone.llm.endpoints import open_llm
from notebooklm_clone.models import Cited, NotesResult, Script, Segment, Speaker, Turn
from notebooklm_clone.outputs.script import write_script
from notebooklm_clone.stages.evidence import sentence_index
from notebooklm_clone.stages.material import Item, choose, group_topics
from notebooklm_clone.stages.verify import verify
from notebooklm_clone.text.sentences import split_sentences
from notebooklm_clone.stages.person import third_person
from notebooklm_clone.stages.script import make_speakers, run_script
from notebooklm_clone.stages.script_figures import script_figures
from notebooklm_clone.stages.turns import (
    Said,
    clean_turns,
    load_script,
    speakable_turn_text,
    validate_script,
)
from notebooklm_clone.text.split import split_for_speech


@pytest.fixture(scope="module")
def script_run(embedded_small_server, tmp_path_factory):
    """The script from the session's notes run (test_notes.py) of the 3-page paper, its length from the material."""
    document, _, settings, out, notes, _ = shared_notes_run(embedded_small_server, tmp_path_factory)
    assert settings.script.minutes is None
    with open_llm(settings) as llm:
        result = run_script(document, notes, llm, settings, out / ".cache")
    write_script(result.script, out)
    return document, notes, settings, out, result


@pytest.mark.llm
def test_the_default_length_follows_the_material(script_run):
    document, notes, settings, out, result = script_run
    script, stats = result.script, result.stats
    assert stats.length.startswith("from the material") and "3 pages" in stats.length
    # ~100 words of body text: under two minutes, about what the plan estimated from the notes, and the expert says
    # no more than the source holds (each sentence once, nothing padded)
    assert 40 <= script.word_count() <= 2 * settings.script.words_per_minute
    assert 0.5 <= script.word_count() / stats.target_words <= 1.5, (script.word_count(), stats.target_words)
    body = sum(len(s.text.split()) for s in sentence_index(document) if s.clean and s.block_kind != "heading")
    expert = sum(len(t.text.split()) for t in script.turns if t.speaker == "expert")
    assert 0 < expert <= body, (expert, body)
    assert stats.words == script.word_count() and not stats.warnings
    assert [s.budget for s in stats.segments] == [s.words for s in script.segments]


@pytest.mark.llm
def test_asked_minutes_never_pad_and_say_the_material_ran_out(script_run, tmp_path):
    document, notes, settings, out, first = script_run
    longer = settings.with_overrides(**{"script.minutes": 3})  # 450 words asked of ~100 words of source
    with open_llm(longer) as llm:
        result = run_script(document, notes, llm, longer, out / ".cache")
    assert result.stats.target_words == 450 and result.stats.length.startswith("--minutes 3")
    assert result.script.word_count() == first.script.word_count()  # the same material, nothing added
    assert any("material runs out" in w for w in result.stats.warnings), result.stats.warnings


@pytest.mark.llm
def test_the_script_is_grounded_and_free_of_meta_talk_and_impersonation(script_run):
    document, notes, settings, out, result = script_run
    figures = script_figures(result.script, document, result.stats.target_words)
    assert figures.meta_talk == [] and figures.impersonation == []
    assert figures.fragment_turns == 0 and figures.filler_turns == 0
    assert figures.unsupported == [], figures.unsupported
    assert figures.repeated_share <= 0.05
    assert figures.host_question_share >= 0.5
    # every top-level section with body text (the test paper's are under bench-quality's 80 words) is spoken of: an
    # answer of the expert rests on one of its sentences
    sections: dict[str, list[str]] = {}
    for s in sentence_index(document):
        if s.clean and s.section and s.block_kind != "heading" and "reference" not in s.section[0].lower():
            sections.setdefault(s.section[0], []).append(s.text)
    said = [x for t in result.script.turns if t.speaker == "expert" for x in split_sentences(t.text)]
    missed = [name for name, texts in sections.items()
              if not any(verify(x, [text]).supported for x in said for text in texts)]
    assert len(sections) >= 3 and missed == [], missed
    answers = result.stats.answers
    # where the model's question does not fit, the host names the answer's subject; a plain "What comes next?" is the
    # exception
    assert answers["exchanges"] >= 3 and answers["plain_questions"] < answers["exchanges"] / 2, answers
    exchanges = [(q.text, a.text) for q, a in zip(result.script.turns, result.script.turns[1:])
                 if q.speaker == "host" and a.speaker == "expert"]
    naming = [(q, a) for q, a in exchanges if re.search(r"(?:What|And what) (?:do we learn )?about (.+)\?$", q)]
    assert len(naming) == answers["questions_naming_the_subject"], (naming, answers)
    for question, answer in naming:
        term = re.search(r"about (?:the )?(.+)\?$", question).group(1)
        assert term.lower() in answer.lower(), (question, answer)


@pytest.mark.llm
def test_script_structure_speakers_and_clean_turns(script_run):
    _, _, settings, out, result = script_run
    script = result.script
    assert [s.id for s in script.speakers] == ["host", "expert"]
    assert script.segments[0].title == "Opening" and script.segments[-1].title == "Wrap-up"
    assert len(script.segments) >= 3
    assert {t.speaker for t in script.turns} <= {"host", "expert"}
    assert {t.segment for t in script.turns} == set(range(len(script.segments)))  # every segment was written
    for turn in script.turns:
        assert turn.text.strip() and len(turn.text) <= settings.script.max_turn_chars
        assert speakable_turn_text(turn.text, script.speakers) == turn.text  # nothing left for TTS to misread
    assert load_script(out / "script.json") == script
    # no sentence of the theme segments is a restatement of one said before it
    said = Said([t for t in script.turns if t.segment == 0])
    for turn in (t for t in script.turns if 0 < t.segment < len(script.segments) - 1):
        assert said.novel(turn.text) == turn.text, turn.text
        said.add(turn.text)
    markdown = (out / "script.md").read_text()
    assert markdown.startswith(f"# {script.title}") and "**Alex:**" in markdown and "## Wrap-up" in markdown


@pytest.mark.llm
def test_script_rerun_makes_no_llm_calls(script_run, tmp_path):
    document, notes, settings, out, first = script_run
    with open_llm(settings.with_overrides(cache_dir=str(tmp_path / "empty"))) as llm:  # only out/.cache can answer
        again = run_script(document, notes, llm, settings, out / ".cache")
        assert llm.usage.totals().get("calls", 0) == 0
    assert again.script == first.script and again.stats.calls == {}


# ---------------------------------------------------------------------------------------------------------------------
# No model needed


SPEAKERS = [Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")]


@pytest.mark.parametrize("raw,clean", [
    ("Host: Welcome back to the show!", "Welcome back to the show!"),
    ("Sam: Alex: So the tun state (p. 4) matters.", "So the tun state matters."),
    ("[laughs] That is **amazing** (pp. 4-5).", "That is amazing."),
    ("## Results 🎉 The rate was 81 percent [page 2].", "Results The rate was 81 percent."),
    ("*chuckles* Right, see https://example.org for more.", "Right, see for more."),
    ("Note: this label is not a speaker.", "Note: this label is not a speaker."),
    ("It enlarges the dataset with transformations (e.g., [25, 4]).", "It enlarges the dataset with transformations."),
    ("Error rates of 37.5% and 17.0%5.", "Error rates of 37.5% and 17.0%."),  # a footnote mark, not a digit
    ("Error rates of 22.4%16.3% in a table.", "Error rates of 22.4%16.3% in a table."),  # two run together, no mark
    ("We train on these extracted patches4. ResNet50 and mp3 stay.", "We train on these extracted patches. ResNet50 "
     "and mp3 stay."),
    ("It is 3.5% (p < 0.05) here (i.e., the input).", "It is 3.5% (p < 0.05) here (i.e., the input)."),
    ("2. Each observation forms a row.", "Each observation forms a row."),  # a list's number is not read
    ("\u2022 Filter: subsetting observations.", "Filter: subsetting observations."),
])
def test_speakable_turn_text_removes_what_tts_would_read_aloud(raw, clean):
    assert speakable_turn_text(raw, SPEAKERS) == clean


def test_long_turns_are_split_at_sentence_boundaries():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    pieces = split_for_speech(text, 120)
    assert " ".join(pieces) == text
    assert all(len(p) <= 120 and p.endswith(".") for p in pieces)
    turns = clean_turns([Turn(speaker="host", text=text), Turn(speaker="ghost", text="Hi."),
                         Turn(speaker="expert", text="[pause] ** ")], SPEAKERS, 120)
    assert [t.speaker for t in turns] == ["host"] * len(pieces)


@pytest.mark.parametrize("n,ids", [(1, ["host"]), (2, ["host", "expert"]), (4, ["host", "expert", "skeptic", "guest"])])
def test_speakers(n, ids):
    from notebooklm_clone.config import Settings

    speakers = make_speakers(Settings(script={"speakers": n, "speaker_names": ["Kim"]}))
    assert [s.id for s in speakers] == ids and speakers[0].name == "Kim"
    assert all(s.role for s in speakers)


def test_load_script_rejects_bad_files_with_one_line(tmp_path):
    bad_json = tmp_path / "a.json"
    bad_json.write_text("{not json")
    unknown = tmp_path / "b.json"
    unknown.write_text(Script(title="t", speakers=SPEAKERS, turns=[Turn(speaker="ghost", text="Hi")]).model_dump_json())
    empty = tmp_path / "c.json"
    only_citation = Script(title="t", speakers=SPEAKERS, turns=[Turn(speaker="host", text="(p. 3)")])
    empty.write_text(only_citation.model_dump_json())
    missing_field = tmp_path / "d.json"
    missing_field.write_text(json.dumps({"title": "t", "turns": []}))
    for path, words in [(bad_json, "not valid JSON"), (unknown, "undeclared speaker 'ghost'"),
                        (empty, "no turns with spoken text"), (missing_field, "speakers"),
                        (tmp_path / "none.json", "not found")]:
        with pytest.raises(BadInput, match=words):
            load_script(path)
    good = tmp_path / "e.json"
    good.write_text(Script(title="t", speakers=SPEAKERS, turns=[Turn(speaker="host", text="Host: Hello (p. 2)")])
                    .model_dump_json())
    assert load_script(good).turns[0].text == "Hello"


def test_the_podcast_stage_validates_with_the_same_function(tmp_path):
    from notebooklm_clone.config import Settings
    from notebooklm_clone.stages.podcast import render_podcast

    ghost = Script(title="t", speakers=SPEAKERS, turns=[Turn(speaker="ghost", text="Hi")])
    with pytest.raises(BadInput, match="undeclared speaker 'ghost'"):
        validate_script(ghost)
    with pytest.raises(BadInput, match="undeclared speaker 'ghost'"):
        render_podcast(ghost, Settings(cache_dir=str(tmp_path)))


def test_said_drops_restated_sentences_and_keeps_the_new_ones():
    said = Said([Turn(speaker="expert", text="Tardigrades are eight-legged micro-animals known as water bears. Yes.")])
    restated = "Tardigrades are eight-legged micro animals known as water bears! Dsup binds to chromatin in the nucleus."
    assert said.novel(restated) == "Dsup binds to chromatin in the nucleus."
    assert said.novel("Yes.") == "" and said.novel("Yes, exactly.") == "Yes, exactly."
    assert said.novel("Water bears are eight-legged micro-animals that survive drying.") != ""  # 2 of 6 shingles
    # the sentence splitter keeps "sample B. Most" together (an initial?): the part said in the opening still goes
    opened = Said([Turn(speaker="expert", text="The authors counted 42 tardigrades in sample A and 17 in sample B.")])
    assert opened.novel("The authors counted 42 tardigrades in sample A and 17 in sample B. Most animals were walking "
                        "within forty minutes.") == "Most animals were walking within forty minutes."
    assert opened.novel("J. Smith described the animal in 1773.") == "J. Smith described the animal in 1773."
    # and the expert's answer keeps only that new part (the memo's episode said the count twice)
    from notebooklm_clone.stages.script import spoken_answer

    item = Item(text="The authors counted 42 tardigrades in sample A and 17 in sample B. Most animals were walking "
                     "within forty minutes.", evidence=[], kind="point")
    assert spoken_answer(item, "en", opened) == "Most animals were walking within forty minutes."


def test_no_usable_segment_fails_instead_of_a_canned_script_fake_server(tmp_path):
    from fakes import FakeLLMServer, fake_settings, ok

    from notebooklm_clone.errors import BackendUnavailable
    from notebooklm_clone.models import Document

    document = Document(source="paper.pdf", sha256="0" * 64, title="Water Bears", page_count=1)
    points = [Cited(text="Water bears survive drying in a tun state.", pages=[1]),
              Cited(text="Of 120 animals, 97 recovered.", pages=[1])]
    notes = NotesResult(document=document.sha256, title="Water Bears", overview=points, key_points=points)
    with FakeLLMServer([ok("Sorry, I cannot help with that.")]) as fake:  # never JSON: every call is a mismatch
        settings = fake_settings(fake, tmp_path, repair_retries=0).with_overrides(**{"script.minutes": 0.5})
        with open_llm(settings) as llm:
            with pytest.raises(BackendUnavailable, match="the model wrote no usable script turns for any segment"):
                run_script(document, notes, llm, settings, tmp_path / "out" / ".cache")
    assert not (tmp_path / "out" / "script.json").exists()


def test_empty_notes_give_no_script_fake_server(tmp_path):
    from fakes import FakeLLMServer, fake_settings, ok

    from notebooklm_clone.errors import BackendUnavailable
    from notebooklm_clone.models import Document

    document = Document(source="paper.pdf", sha256="0" * 64, title="Water Bears", page_count=1)
    with FakeLLMServer([ok("{}")]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            with pytest.raises(BackendUnavailable, match="no notes to write a script from"):
                run_script(document, NotesResult(document=document.sha256, title="t"), llm,
                           fake_settings(fake, tmp_path), tmp_path / "out" / ".cache")
        assert fake.requests == []


# ---------------------------------------------------------------------------------------------------------------------
# Chinese and Japanese have no spaces between words: their characters are counted


def test_word_count_counts_chinese_and_japanese_characters():
    from notebooklm_clone.text.split import CJK_CHARS_PER_WORD, count_words

    assert count_words("Water bears enter a tun state.") == 6
    zh = "水熊虫在干燥时进入休眠状态。"  # 13 characters and a full stop
    assert count_words(zh) == round(13 / CJK_CHARS_PER_WORD)
    ja = "クマムシは乾燥すると休眠します。"  # 15 kana and kanji
    assert count_words(ja) == round(15 / CJK_CHARS_PER_WORD)
    assert count_words("DNA 修复蛋白 Dsup") == 2 + round(4 / CJK_CHARS_PER_WORD)
    assert count_words("") == 0


def test_a_chinese_script_length_is_counted_in_characters(tmp_path):
    from notebooklm_clone.stages.material import Item
    from notebooklm_clone.text.split import CJK_CHARS_PER_WORD

    sentence = "水熊虫在干燥时进入休眠状态，失去体内大部分水分，新陈代谢几乎停止。"  # 30 characters
    per_turn = round(30 / CJK_CHARS_PER_WORD)
    turns = [Turn(speaker="host" if i % 2 else "expert", text=sentence) for i in range(5)]
    script = Script(title="水熊虫", language="zh", speakers=SPEAKERS, segments=[Segment(title="A", words=80)],
                    turns=turns)
    assert script.word_count() == 5 * per_turn
    write_script(script, tmp_path)
    assert f"*{5 * per_turn} words*" in (tmp_path / "script.md").read_text()
    assert Item(text=sentence, evidence=[], kind="fact").estimate() == per_turn + 12  # the plan counts the same way


# ---------------------------------------------------------------------------------------------------------------------
# The plan and the hosts' voice, without a model


def _item(text: str, section: str, position: int, kind: str = "key_point") -> Item:
    return Item(text=text, evidence=[], kind=kind, section=section, position=position)


def test_a_short_budget_takes_one_item_per_section_first_then_by_rank_in_reading_order():
    items = [_item("Water bears survive drying in a tun state for years.", "1 Introduction", 0),
             _item("Of 120 animals, 97 recovered within an hour of rehydration.", "2 Results", 5, "fact"),
             _item("Recovery took longer after ten years of drying than after one.", "2 Results", 6),
             _item("CAHS proteins form a gel that protects the cells while dry.", "3 Discussion", 9, "summary")]
    room = items[0].estimate() + items[2].estimate() + items[3].estimate()
    chosen = choose(items, room)  # room for three: one per section, and Results' key point beats its fact
    assert [i.position for i in chosen] == [0, 6, 9]
    assert [i.position for i in choose(items, 10_000)] == [0, 5, 6, 9]
    assert len(choose(items, 1)) == 1  # never nothing


def test_a_long_first_section_does_not_crowd_out_the_later_ones():
    intro = [_item(f"The introduction makes point number {k} about water bears.", "1 Introduction", k)
             for k in range(6)]
    results = [_item(f"The results show finding number {k} about water bears.", "2 Results", 10 + k) for k in range(3)]
    room = sum(i.estimate() for i in intro[:3] + results[:3])
    chosen = choose(intro + results, room)
    assert [i.section for i in chosen].count("2 Results") == 3 and len(chosen) == 6
    assert [i.position for i in chosen] == [0, 1, 2, 10, 11, 12]


def test_topics_follow_the_sections_and_merge_small_neighbours_beyond_the_cap():
    items = [_item(f"Point {k} about the subject at hand.", f"{k + 1} Section {k}", k) for k in range(10)]
    items.insert(1, _item("Another point about the subject at hand.", "1 Section 0", 1))
    topics = group_topics(items)
    assert len(topics) == 8
    assert topics[0].title == "Section 0" and len(topics[0].items) == 2
    assert sum(len(t.items) for t in topics) == 11
    assert [i.position for t in topics for i in t.items] == [i.position for i in items]  # reading order kept
    assert any(" and " in t.title for t in topics)


@pytest.mark.parametrize("text,spoken", [
    ("We counted 42 tardigrades in sample A.", "The authors counted 42 tardigrades in sample A."),
    ("In our study we found that they recover.", "In the authors' study they found that they recover."),
    ("Most of us agree. Let us see.", "Most of the authors agree. Let us see."),
    ("The axiom governing our reasoning is simple. We use it.", "The axiom governing the authors' reasoning is "
                                                                 "simple. The authors use it."),
    ("The US army paid for it.", "The US army paid for it."),
    ("How does the authors' method work? Does the authors mean time?", "How does the authors' method work? Do the "
                                                                       "authors mean time?"),  # the verb agrees
    # a single author (tidy_data: "an aspect of data cleaning that I call data tidying", "my work in the plyr package")
    ("It is an aspect that I call data tidying. It underlies my work.", "It is an aspect that the author calls data "
                                                                        "tidying. It underlies the author's work."),
    ("I also argue that it helps. I have shown this.", "The author also argues that it helps. The author has shown "
                                                       "this."),
    ("In Table I the results are shown. Experiment I was a success.", "In Table I the results are shown. Experiment "
                                                                      "I was a success."),  # numerals
])
def test_the_hosts_speak_of_the_authors_in_the_third_person(text, spoken):
    assert third_person(text, "en") == spoken
    assert third_person("Nous avons compté 42 tardigrades.", "fr") == "Nous avons compté 42 tardigrades."


ANSWER = "The authors dried 120 animals at 85 percent humidity for one day, because drying kills the weak ones."


@pytest.mark.parametrize("question,kept", [
    ("How many animals did the authors dry?", True),
    ("At what humidity were the animals dried?", True),
    ("Why were the animals dried?", True),  # the answer gives a reason ("because")
    ("How many animals survived the drying?", True),  # a number is there (no check can tell which one)
    ("How many days did the animals stay in the freezer?", False),  # "freezer" is not in the evidence
    ("Were 300 animals dried?", False),  # a number the evidence lacks
    ("What did Spallanzani dry?", False),  # a name the evidence lacks
    ("What is humidity?", False),  # the answer does not say what humidity is
    ("Did the authors dry 120 animals at 85 percent humidity for one day?", False),  # reads the answer out first
    ("Section 2: what did they dry?", False),  # meta-talk
    ("Tell me about the drying.", False),  # no question
    ("Why were the animals dried at {85} percent humidity?", False),  # a formula's braces, not sayable
    ("What was the humidity used for drying 120 animals at 85 percent?", False),  # states the value it asks for
    ("What is the difference between drying the animals and drying the animals for a day?", False),  # garbled
])
def test_a_question_is_kept_only_when_its_answer_answers_it(question, kept):
    from notebooklm_clone.stages.questions import asks_for

    assert asks_for(question, ANSWER, ANSWER, "en") is kept


@pytest.mark.parametrize("question,answer,kept", [
    # resnet's episode: an open question shares its answer's words and still asks something
    ("What dataset do the authors evaluate their method on?", "The authors evaluate their method on the ImageNet 2012 "
     "classification dataset that consists of 1000 classes.", True),
    ("How do the authors combine these 300 new predictions with the original 300 predictions?", "The authors combine "
     "these 300 new predictions with the original 300 predictions.", False),  # the answer only repeats it
])
def test_an_open_question_may_share_its_answer_s_words_but_not_be_its_answer(question, answer, kept):
    from notebooklm_clone.stages.questions import asks_for

    assert asks_for(question, answer, answer, "en") is kept


def test_the_frame_names_title_and_topics_in_each_language_and_is_no_claim():
    from notebooklm_clone.stages.phrases import Phrases, is_frame
    from notebooklm_clone.stages.script_figures import states_fact
    from notebooklm_clone.text.sentences import split_sentences

    en = Phrases("English")
    assert en.welcome("Why Bother?", ["Methods", "Results"]) == ("Welcome to the show. Today we are reading Why "
                                                                 "Bother? We will go through Methods and Results.")
    assert en.recap("Water Bears", ["A", "B", "C"]) == "That was Water Bears, from A to C."
    many = ["Background", "Proposed Design Changes", "Costs of Compliance", "Regulatory Findings", "Comments Invited"]
    assert en.welcome("Airworthiness Directives", many) == ("Welcome to the show. Today we are reading Airworthiness "
                                                            "Directives. We will go through 5 parts, from Background "
                                                            "to Comments Invited.")  # not a roll call of ten
    assert en.recap("Water Bears", []) == "That was Water Bears."
    assert [en.question(n) for n in range(8)] == list(dict.fromkeys(en.question(n) for n in range(8)))  # no repeat
    from notebooklm_clone.stages.phrases import PHRASES
    from notebooklm_clone.stages.script_figures import is_filler

    assert not [q for language, table in PHRASES.items() for q in table["questions"] + table["first_questions"]
                if is_filler(q, language)]  # "And after that?" counted as a filler turn in every episode
    firsts = {en.question(n, first=True) for n in range(3)}  # a topic's first plain question asks no "what else"
    assert firsts and not any("else" in q or "next" in q for q in firsts) and all(is_frame(q) for q in firsts)
    fr = Phrases("fr")
    assert fr.welcome("Procès-verbal", ["Urbanisme"]) == ("Bienvenue. Aujourd'hui, nous lisons Procès-verbal. "
                                                          "Nous allons parler d'Urbanisme.")  # elided
    assert fr.recap("PV", ["Adoption de l’ordre du jour", "Résolution"]) == "C'était PV, d'Adoption de l’ordre du " \
                                                                           "jour à Résolution."
    assert fr.recap("PV", ["Varia", "Levée"]) == "C'était PV, de Varia à Levée."
    assert is_frame(fr.recap("PV", ["Adoption", "Levée"])) and is_frame(fr.welcome("PV", ["Urbanisme"]))
    assert Phrases("xx").goodbye() == en.goodbye()  # a language without a set speaks English
    for line in (en.welcome("Gamification in Education", ["Definitions and Uses", "Goals and Techniques"]),
                 en.welcome("Airworthiness Directives", many), Phrases("de").welcome("Regeln", many),
                 en.recap("Gamification in Education", ["Definitions and Uses", "Risks and Benefits"])):
        assert not any(states_fact(s) for s in split_sentences(line)), line


def test_the_opening_says_what_a_resolution_decides_not_a_recital():
    """The French minutes opened on a recital ("La portion arrière ... est en mauvais état"): the decision, in
    capitals ("IL EST RÉSOLU ..."), was taken for a sentence pointing back ("il")."""
    from notebooklm_clone.models import Cited, NotesResult, Summary
    from notebooklm_clone.stages.script import opening_line

    decision = "IL EST RÉSOLU À L’UNANIMITÉ D’APPROUVER la demande de démolition partielle du bâtiment."
    recital = "La portion arrière, visée par la demande, est en mauvais état."
    notes = NotesResult(document="0" * 64, title="Procès-verbal", summary=Summary(abstract=[
        Cited(text=decision, pages=[2]), Cited(text=recital, pages=[1])]))
    assert opening_line(notes, "fr")[0] == decision
    pointing = NotesResult(document="0" * 64, title="Memo", summary=Summary(abstract=[
        Cited(text="Il est protégé par le règlement 1274 depuis 2010.", pages=[1]), Cited(text=recital, pages=[1])]))
    assert opening_line(pointing, "fr")[0] == recital


def test_a_sentence_with_a_web_address_is_not_said():
    """The Federal Register's episode opened on "Federal eRulemaking Portal: Go to": its address left unsaid."""
    from notebooklm_clone.stages.material import Item
    from notebooklm_clone.stages.script import spoken_answer
    from notebooklm_clone.stages.turns import Said

    item = Item("Federal eRulemaking Portal: Go to https://www.regulations.gov. Follow the instructions for submitting "
                "comments.", [], "key_point")
    assert spoken_answer(item, "en", Said()) == "Follow the instructions for submitting comments."
