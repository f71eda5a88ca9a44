"""The script stage: outline + segments from real notes with the real 0.5B model; validation and cleaning without."""

from __future__ import annotations

import json

import pytest
from test_notes import shared_notes_run

from notebooklm_clone.errors import BadInput
from notebooklm_clone.llm.endpoints import open_llm
from notebooklm_clone.models import Cited, NotesResult, Script, Segment, Speaker, Turn
from notebooklm_clone.outputs.script import write_script
from notebooklm_clone.stages.script import (
    make_speakers,
    run_script,
    segment_material,
    word_budgets,
)
from notebooklm_clone.stages.turns import (
    Said,
    clean_turns,
    drop_greetings,
    load_script,
    share_turns,
    speakable_turn_text,
    validate_script,
)
from notebooklm_clone.text.split import split_for_speech


@pytest.fixture(scope="module")
def script_run(embedded_small_server, tmp_path_factory):
    """The script from the session's notes run (test_notes.py) of the 3-page paper: 0.6 minutes -> 90 words."""
    document, _, settings, out, notes, _ = shared_notes_run(embedded_small_server, tmp_path_factory)
    with open_llm(settings) as llm:
        result = run_script(document, notes, llm, settings, out / ".cache")
    write_script(result.script, out)
    return document, notes, settings, out, result


@pytest.mark.llm
def test_script_length_is_within_20_percent_of_the_target(script_run):
    _, _, settings, out, result = script_run
    script, stats = result.script, result.stats
    target = settings.script.minutes * settings.script.words_per_minute
    assert sum(s.words for s in script.segments) == target == 90
    assert 0.8 * target <= script.word_count() <= 1.2 * target, script.word_count()
    assert stats.words == script.word_count() and stats.target_words == 90
    assert [s.budget for s in stats.segments] == [s.words for s in script.segments]


@pytest.mark.llm
def test_script_structure_speakers_and_clean_turns(script_run):
    _, _, settings, out, result = script_run
    script = result.script
    assert [s.id for s in script.speakers] == ["host", "expert"]
    assert script.segments[0].title == "Introduction" and script.segments[-1].title == "Wrap-up"
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


@pytest.mark.parametrize("total,themes", [(225, 1), (750, 3), (3000, 6), (100, 2)])
def test_word_budgets_add_up_to_the_target(total, themes):
    budgets = word_budgets(total, themes)
    assert sum(budgets) == total and len(budgets) == themes + 2 and min(budgets) > 0


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


def test_drop_greetings_removes_repeated_welcomes_but_keeps_the_content():
    turns = [Turn(speaker="host", text="Welcome to the episode 'Water Bears'. Today, we're diving into tardigrades. "
                                       "They survive 6,000 metres of altitude."),
             Turn(speaker="expert", text="Hello everyone! I'm Sam, the expert here."),
             Turn(speaker="expert", text="A welcome finding: Dsup binds chromatin.")]
    assert [t.text for t in drop_greetings(turns)] == ["They survive 6,000 metres of altitude.",
                                                      "A welcome finding: Dsup binds chromatin."]


def test_share_turns_alternates_a_one_speaker_segment_and_leaves_a_dialogue_alone():
    one_voice = [Turn(speaker="expert", text=f"Point {i}.", segment=1) for i in range(3)]
    assert [t.speaker for t in share_turns(one_voice, SPEAKERS)] == ["expert", "host", "expert"]
    dialogue = [Turn(speaker="host", text="Why?"), Turn(speaker="expert", text="Because."),
                Turn(speaker="expert", text="Also this.")]
    assert share_turns(dialogue, SPEAKERS) == dialogue
    assert share_turns(one_voice[:1], SPEAKERS) == one_voice[:1]


def test_said_drops_restated_sentences_and_keeps_the_new_ones():
    said = Said([Turn(speaker="expert", text="Tardigrades are eight-legged micro-animals known as water bears. Yes.")])
    restated = "Tardigrades are eight-legged micro animals known as water bears! Dsup binds to chromatin in the nucleus."
    assert said.novel(restated) == "Dsup binds to chromatin in the nucleus."
    assert said.novel("Yes.") == "" and said.novel("Yes, exactly.") == "Yes, exactly."
    assert said.novel("Water bears are eight-legged micro-animals that survive drying.") != ""  # 2 of 6 shingles


def test_a_theme_segment_sees_only_the_notes_no_other_segment_covers():
    points = [Cited(text=f"Point {i}.", pages=[1]) for i in range(6)]
    segments = [Segment(title="Introduction", words=20, note_refs=[0, 1]),
                Segment(title="A", words=50, note_refs=[1, 2]), Segment(title="B", words=50, note_refs=[3]),
                Segment(title="Wrap-up", words=20, note_refs=[2, 3])]
    assert segment_material(1, segments, points, ["- term: meaning"]) == ["- Point 2.", "- Point 4.", "- Point 5.",
                                                                          "- term: meaning"]
    assert segment_material(2, segments, points, []) == ["- Point 3.", "- Point 4.", "- Point 5."]
    assert len(segment_material(3, segments, points, [])) == 6


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


def test_a_chinese_script_is_trimmed_to_its_budget_and_its_length_is_counted(tmp_path):
    from notebooklm_clone.stages.turns import trim_to
    from notebooklm_clone.text.split import CJK_CHARS_PER_WORD

    sentence = "水熊虫在干燥时进入休眠状态，失去体内大部分水分，新陈代谢几乎停止。"  # 30 characters
    turns = [Turn(speaker="host" if i % 2 else "expert", text=sentence) for i in range(10)]
    per_turn = round(30 / CJK_CHARS_PER_WORD)
    kept = trim_to(turns, 5 * per_turn)
    assert len(kept) == 5
    script = Script(title="水熊虫", language="zh", speakers=SPEAKERS, segments=[Segment(title="A", words=80)],
                    turns=kept)
    assert script.word_count() == 5 * per_turn
    write_script(script, tmp_path)
    assert f"*{5 * per_turn} words*" in (tmp_path / "script.md").read_text()


def test_the_segment_prompt_asks_chinese_for_characters():
    from notebooklm_clone.stages.script import spoken_length
    from notebooklm_clone.text.split import CJK_CHARS_PER_WORD

    assert spoken_length(120, "Chinese") == f"{round(120 * CJK_CHARS_PER_WORD)} characters"
    assert spoken_length(120, "ja") == f"{round(120 * CJK_CHARS_PER_WORD)} characters"
    assert spoken_length(120, "English") == "120 words"
    assert spoken_length(120, "German") == "120 words"
