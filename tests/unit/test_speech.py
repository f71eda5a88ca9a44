"""Text made speakable, split to the engine's limit, and cache keys that change exactly when the audio would."""

import pytest

from notebooklm_clone.config import Settings, TTSSettings
from notebooklm_clone.models import Script, Speaker, Turn
from notebooklm_clone.stages.speech import plan_clips
from notebooklm_clone.stages.turns import speakable
from notebooklm_clone.text.speakable import (
    normalize_for_speech,
    ordinal_words,
    spell_number,
    strip_markup,
    year_words,
)
from notebooklm_clone.text.split import split_for_speech
from notebooklm_clone.tts.engine import get_engine


@pytest.mark.parametrize("text, spoken", [
    ("Growth was 3.5% in 2019 (p. 4), e.g. 1,200 units [12].",
     "Growth was three point five percent in twenty nineteen, for example one thousand two hundred units."),
    ("See Fig. 3 vs. Fig. 4 (pp. 4-5), i.e. a ~10% gain → more & better ± 2.",
     "See Figure three versus Figure four, that is a roughly ten percent gain leads to more and better plus or "
     "minus two."),
    ("Smith et al. found it in the 1990s; the 21st test cost $1.5 million at 37°C [1, 3].",
     "Smith and colleagues found it in the nineteen nineties; the twenty-first test cost one point five million "
     "dollars at thirty-seven degrees Celsius."),
    ("Years 2005, 1905 and 1900; p = 0.05 and -3 degrees; pages 10–12.",
     "Years two thousand five, nineteen oh five and nineteen hundred; p equals zero point zero five and minus three "
     "degrees; pages ten to twelve."),
    ("**Bold** and *italic* with `code`, a [link](https://example.org) and https://x.org/y [^2].",
     "Bold and italic with code, a link and."),
    ("## Heading\n- first point (page 7)\n- second point [3-5]", "Heading first point second point"),
    ("R&D costs rose ~20% (p.12).", "R and D costs rose roughly twenty percent."),
])
def test_normalize_for_speech_exact(text, spoken):
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize("text, spoken", [
    # references to the paper itself
    ("Smith et al. (2020) showed it.", "Smith and colleagues (twenty twenty) showed it."),
    ("As Fig. 3 shows.", "As Figure three shows."),
    ("Figs. 2 and 3 agree.", "Figures two and three agree."),
    ("Table 2 lists them.", "Table two lists them."),
    ("By Eq. (4) it holds.", "By Equation four it holds."),
    ("Sec. 3.2 explains.", "Section three point two explains."),
    ("On p. 12 they say.", "On page twelve they say."),
    ("Read pp. 4-5 first.", "Read pages four to five first."),
    # abbreviations
    ("Birds, e.g. crows.", "Birds, for example crows."),
    ("The mean, i.e. the average.", "The mean, that is the average."),
    ("Cats, dogs, etc. were seen.", "Cats, dogs, et cetera were seen."),
    ("CNN vs. RNN.", "CNN versus RNN."),
    ("It differs, cf. Jones.", "It differs, compare Jones."),
    ("It took approx. 5 hours.", "It took approximately five hours."),
    ("It took ~5 hours.", "It took roughly five hours."),
    # formulas
    ("It scales as 1/T^2 here.", "It scales as one over T squared here."),
    ("Volume grows as x^3 here.", "Volume grows as x cubed here."),
    ("We used 10^6 samples.", "We used ten to the sixth samples."),
    ("Sorting is O(n log n) at best.", "Sorting is big O of n log n at best."),
    ("With n = 5 subjects.", "With n equals five subjects."),
    ("Significant at p < 0.05 only.", "Significant at p less than zero point zero five only."),
    ("It was 5 ± 2 units.", "It was five plus or minus two units."),
    ("Here a ≈ b holds.", "Here a is approximately b holds."),
    ("If x ≤ 3 or y ≥ 4.", "If x less than or equal to three or y greater than or equal to four."),
    ("Input → output.", "Input leads to output."),
    ("A 3×3 kernel.", "A three by three kernel."),
    ("Light is 3 × 10^8 fast.", "Light is three times ten to the eighth fast."),
    # units, glued or spaced
    ("A 10ms delay.", "A ten milliseconds delay."),
    ("A 10 ms delay.", "A ten milliseconds delay."),
    ("It needs 5 GB of memory.", "It needs five gigabytes of memory."),
    ("A 2.5 GHz chip.", "A two point five gigahertz chip."),
    ("Only 3 km away.", "Only three kilometers away."),
    ("It weighs 100 kg.", "It weighs one hundred kilograms."),
    ("Kept at 37°C overnight.", "Kept at thirty-seven degrees Celsius overnight."),
    ("Cells are 5 µm wide.", "Cells are five micrometers wide."),
    ("A 20 Hz tone at 16 kHz.", "A twenty hertz tone at sixteen kilohertz."),
    ("Stored as 8 bit or 8-bit values.", "Stored as eight bit or eight-bit values."),
    ("A rate of 1e-3 works.", "A rate of one times ten to the minus three works."),
    ("It lasted 1 ms.", "It lasted one millisecond."),
    # percentages, ranges, decades, ordinals, money
    ("It rose 50% or 50 percent.", "It rose fifty percent or fifty percent."),
    ("It rose 10-20% a year.", "It rose ten to twenty percent a year."),
    ("Popular in the 1990s.", "Popular in the nineteen nineties."),
    ("She came 3rd.", "She came third."),
    ("It cost $1, then £3.50, then €10, then $2bn.",
     "It cost one dollar, then three pounds fifty pence, then ten euros, then two billion dollars."),
    # acronyms stay for the engine to spell; formulas that cannot be spoken are dropped
    ("The CNN beat the LSTM at NASA.", "The CNN beat the LSTM at NASA."),
    ("The total ∑_{i=1}^{n} w_i is the sum.", "The total is the sum."),
    ("Loss is $\\frac{1}{2}\\|w\\|^2$ plus noise.", "Loss is plus noise."),
])
def test_normalize_for_speech_reads_papers_aloud(text, spoken):
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize("text, language, spoken", [
    ("La hausse est de 10 % (voir p. 12).", "fr", "La hausse est de 10 % (voir p. 12)."),
    ("Voir p. 12 et Fig. 3, soit 10ms.", "fr", "Voir p. 12 et Fig. 3, soit 10ms."),
    ("La somme ∑_{i=1}^{n} x_i vaut 3.", "fr", "La somme vaut 3."),
])
def test_english_rules_leave_other_languages_alone(text, language, spoken):
    assert normalize_for_speech(text, language) == spoken


def test_citations_and_markup_never_survive_but_numbers_stay_for_display():
    assert strip_markup("It grew 3.5% (p. 4) in **2019** [12].") == "It grew 3.5% in 2019."
    assert normalize_for_speech("(p. 4) [12]") == ""
    assert strip_markup("A disagree alert,5 may affect the landing.5 The crew saw Fig.3 and 1,5 m.") == \
        "A disagree alert, may affect the landing. The crew saw Fig.3 and 1,5 m."  # footnote numbers go
    assert speakable("\u2022 Hand Delivery: deliver to the address above.") == "Hand Delivery: deliver to the address above."


def test_other_languages_keep_numbers_but_lose_markup():
    german = normalize_for_speech("Das **Wachstum** lag bei 3,5 % (S. 4) [12].", "de")
    assert german == "Das Wachstum lag bei 3,5 % (S. 4)."


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (45, "forty-five"), (100, "one hundred"),
                                      (1200, "one thousand two hundred"), (2_000_017, "two million seventeen")])
def test_spell_number(n, words):
    assert spell_number(n) == words


@pytest.mark.parametrize("n, words", [(1999, "nineteen ninety-nine"), (2020, "twenty twenty"),
                                      (2005, "two thousand five"), (1900, "nineteen hundred"),
                                      (1905, "nineteen oh five"), (2000, "two thousand")])
def test_year_words(n, words):
    assert year_words(n) == words


@pytest.mark.parametrize("n, words", [(1, "first"), (2, "second"), (3, "third"), (12, "twelfth"), (20, "twentieth"),
                                      (21, "twenty-first"), (100, "one hundredth")])
def test_ordinal_words(n, words):
    assert ordinal_words(n) == words


def test_split_at_sentences_under_the_limit():
    text = "One sentence here. Two is here! Three, with a comma, is long enough to matter? Yes."
    assert split_for_speech(text, 40) == ["One sentence here. Two is here!", "Three, with a comma,",
                                          "is long enough to matter? Yes."]
    assert split_for_speech(text, 1000) == [text]
    long_word_soup = " ".join(["word"] * 50)
    pieces = split_for_speech(long_word_soup, 30)
    assert all(len(p) <= 30 for p in pieces) and " ".join(pieces) == long_word_soup


def _script(second_text="Thanks. It grew 3.5% (p. 4)."):
    return Script(title="t", speakers=[Speaker(id="a", name="A"), Speaker(id="b", name="B")],
                  turns=[Turn(speaker="a", text="Welcome."), Turn(speaker="b", text=second_text),
                         Turn(speaker="a", text="[12]")])


def test_clip_keys_change_only_with_what_is_spoken(tmp_path):
    settings = Settings(cache_dir=str(tmp_path))
    engine = get_engine(settings.tts, cache_dir=tmp_path)
    first = plan_clips(_script(), settings, engine)
    assert [(j.turn, j.voice, j.text) for j in first] == [(0, "joe", "Welcome."),
                                                          (1, "jf_alpha", "Thanks. It grew three point five percent.")]
    # a citation-only edit does not change the audio, so the key stays; a spoken edit changes exactly one key
    same = plan_clips(_script("Thanks. It grew 3.5% [7]."), settings, engine)
    edited = plan_clips(_script("Thanks. It grew 4%."), settings, engine)
    assert [j.path for j in same] == [j.path for j in first]
    assert [j.path == k.path for j, k in zip(first, edited)] == [True, False]
    # another voice is another clip
    swapped = settings.with_overrides(**{"tts.voices": {"a": "joe-deep"}})
    assert plan_clips(_script(), swapped, get_engine(swapped.tts, cache_dir=tmp_path))[0].path != first[0].path
    assert all(j.path.startswith(str(tmp_path / "tts")) for j in first)


def test_unknown_voice_is_a_usage_error(tmp_path):
    from notebooklm_clone.errors import UsageError

    settings = Settings(cache_dir=str(tmp_path), tts=TTSSettings(voices={"a": "nobody"}))
    with pytest.raises(UsageError, match="nobody"):
        plan_clips(_script(), settings, get_engine(settings.tts, cache_dir=tmp_path))


def test_ctrl_c_keeps_finished_clips_and_writes_no_mp3_fake_interrupt(tmp_path, monkeypatch):
    """Ctrl-C cannot be typed in a test, so the engine raises KeyboardInterrupt on its third clip."""
    from notebooklm_clone.outputs.podcast import write_podcast
    from notebooklm_clone.stages.podcast import render_podcast
    from notebooklm_clone.tts.espeak import EspeakEngine

    script = Script(title="t", speakers=[Speaker(id="a", name="A"), Speaker(id="b", name="B")],
                    turns=[Turn(speaker="a", text=f"This is turn number {i}.") for i in range(4)])
    settings = Settings(cache_dir=str(tmp_path / "cache"), tts=TTSSettings(engine="espeak", workers=1))
    real = EspeakEngine.synthesize
    calls = []

    def interrupted(self, text, voice):
        calls.append(text)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, text, voice)

    monkeypatch.setattr(EspeakEngine, "synthesize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render_podcast(script, settings)
    cache = tmp_path / "cache" / "tts"
    assert len(list(cache.rglob("*.flac"))) == 2 and not list(cache.rglob("*.part"))
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(EspeakEngine, "synthesize", real)
    result, mixed = render_podcast(script, settings)
    write_podcast(mixed, tmp_path / "out", script.title, settings.audio.artist, settings.audio.album)
    assert (result.clips_synthesized, result.clips_cached) == (2, 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["podcast.json", "podcast.mp3", "podcast.srt",
                                                                     "podcast.vtt", "transcript.md"]
