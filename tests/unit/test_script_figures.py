"""Script figures on a hand-built document: a good script gets clean figures (every fact supported, every section
touched), and each planted fault of a bad one (meta-talk, impersonation, filler, fragment, repetition, an invented
fact) is counted exactly."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.models import (
    Block,
    Document,
    NotesResult,
    Script,
    Segment,
    Speaker,
    Turn,
)
from notebooklm_clone.outputs.report import write_document
from notebooklm_clone.outputs.script import write_script
from notebooklm_clone.stages.evidence import sentence_index
from notebooklm_clone.stages.script_figures import (
    body_sections,
    is_filler,
    is_fragment,
    script_figures,
)
from notebooklm_clone.store import atomic_write_json

INTRO = "1 Introduction"
EXPERIMENTS = "2 Experiments"
THANKS = "Acknowledgements"


def block(page: int, text: str, section: str, kind: str = "paragraph") -> Block:
    return Block(page=page, text=text, kind=kind, level=1 if kind == "heading" else 0, section=[section])


DOCUMENT = Document(
    source="tardigrades.pdf", sha256="0" * 64, title="Water bears", page_count=3,
    blocks=[
        block(1, INTRO, INTRO, "heading"),
        block(1, "Tardigrades are microscopic animals that live in mosses, lichens and leaf litter all over the world. "
                 "Most adults are between 0.3 and 0.5 millimetres long and have eight stubby legs. More than 1,300 "
                 "species have been described since Johann Goeze first saw one in 1773. When their habitat dries "
                 "out, tardigrades enter a state called anhydrobiosis and lose almost all of their body water.", INTRO),
        block(1, "In this dried form, known as a tun, the animal curls up and its metabolism falls below 0.01 percent "
                 "of the normal rate. A tun can stay alive for years and revive within hours once it is wetted "
                 "again.", INTRO),
        block(2, EXPERIMENTS, EXPERIMENTS, "heading"),
        block(2, "We collected 120 moss samples from rooftops in Leipzig during the summer of 2021. Each sample was "
                 "dried for six days at room temperature and then soaked in tap water for three hours. The "
                 "tardigrades that started walking again were counted under a light microscope. In total we counted "
                 "842 animals, and 701 of them recovered after rehydration. Animals from samples dried slowly "
                 "survived far better than animals from samples dried within a single hour. Species of the genus "
                 "Ramazzottius recovered more often than species of the genus Macrobiotus.", EXPERIMENTS),
        block(3, THANKS, THANKS, "heading"),
        block(3, "We thank the building managers of Leipzig for letting us climb onto their rooftops, and the "
                 "students of the summer field course for their patient help with sorting moss. The microscope was "
                 "lent to us by the zoology department, whose staff also trained us to use it. Funding came from a "
                 "small grant of the university, which we gratefully acknowledge here. We also thank two anonymous "
                 "reviewers for their careful reading and their many helpful comments on an earlier draft.", THANKS),
        Block(page=3, text="Goeze, J. A. E. (1773). Herrn Karl Bonnets Abhandlungen aus der Insektologie.",
              kind="references", section=["References"]),
    ],
)  # fmt: skip

SPEAKERS = [Speaker(id="host", name="Maya Chen"), Speaker(id="expert", name="Leo Park")]
SEGMENTS = [Segment(title="Opening", words=100), Segment(title="Findings", words=100), Segment(title="Close", words=50)]
FACT = "Tardigrades are microscopic animals that live in mosses, lichens and leaf litter all over the world."


def script(*turns: tuple[int, str, str]) -> Script:
    return Script(title="Water bears", speakers=SPEAKERS, segments=SEGMENTS,
                  turns=[Turn(speaker=who, text=text, segment=segment) for segment, who, text in turns])


GOOD = script(
    (0, "host", "Welcome to the show! Leo, what exactly is a tardigrade?"),
    (0, "expert", f"{FACT} Most adults are between 0.3 and 0.5 millimetres long."),
    (0, "host", "And what happens when their home dries out?"),
    (0, "expert", ("They enter a state called anhydrobiosis and curl up into a tun. Their metabolism falls below 0.01 "
                   "percent of the normal rate.")),
    (1, "host", "How did the team test this?"),
    (1, "expert", ("They dried moss samples for six days and then soaked them in tap water for three hours. Of 842 "
                   "animals, 701 recovered after rehydration.")),
    (1, "host", "Which animals did best?"),
    (1, "expert", ("Animals dried slowly survived far better than animals dried within a single hour, and Ramazzottius "
                   "recovered more often than Macrobiotus.")),
    (2, "host", "Thanks for listening, everyone!"),
)  # fmt: skip

META = "Section 2 describes the method."
GUEST = "Joining us today is Dr. Jane Smith."
INVITED = "Thank you for having me."
RESEARCHER = "I'm a researcher at Google."
COUNTED = "We counted 42 tardigrades in our lab."
JOINING = "Thank you for joining us."
FILLER = "Yes, that's right!"
FRAGMENT = "Six dry days"
INVENTED = "In 2007 tardigrades survived ten days in open space on the FOTON-M3 mission."

BAD = script(
    (0, "host", f"Welcome to the show! {GUEST}"),
    (0, "expert", f"{INVITED} {RESEARCHER}"),
    (1, "host", META),
    (1, "expert", COUNTED),
    (1, "host", FILLER),
    (1, "expert", FRAGMENT),
    (1, "host", f"{JOINING} What else did you find?"),
    (1, "expert", FACT),
    (2, "host", "Did they go to space?"),
    (2, "expert", f"{INVENTED} {FACT}"),
    (2, "host", "Thanks for listening!"),
)  # fmt: skip


def test_body_sections_are_long_top_level_sections_without_acknowledgements():
    sections = body_sections(sentence_index(DOCUMENT))
    assert list(sections) == [INTRO, EXPERIMENTS]
    assert sections == {INTRO: 64 + 39, EXPERIMENTS: 89}  # the acknowledgements' 80 words would count, but are out


def test_good_script():
    figures = script_figures(GOOD, DOCUMENT, target_words=100)
    # turn words: 10, 25, 8, 22, 6, 24, 4, 20, 4
    assert figures.words == 123 and figures.target_words == 100 and figures.ratio == 1.23
    assert figures.host_question_share == 0.8  # 4 of 5 host turns ask; the goodbye does not
    assert figures.median_turn_words == 10.0 and figures.max_turn_words == 25
    assert figures.repeated_share == 0.0
    assert figures.meta_talk == [] and figures.impersonation == []
    assert figures.filler_turns == 0 and figures.fragment_turns == 0
    assert figures.fact_sentences == 7  # every sentence of the expert
    assert figures.unsupported == [] and figures.unsupported_share == 0.0
    assert figures.sections == 2 and figures.coverage == 1.0 and figures.sections_missed == []


def test_bad_script():
    figures = script_figures(BAD, DOCUMENT)
    # turn words: 11, 10, 5, 7, 3, 3, 10, 16, 5, 29, 3
    assert figures.target_words is None and figures.ratio is None and figures.words == 102
    assert figures.host_question_share == 0.333  # 2 of 6 host turns ask
    assert figures.median_turn_words == 7.0 and figures.max_turn_words == 29
    # FACT's 12 shingles said again, among the shingles of the sentences that state something (META, COUNTED, FACT,
    # INVENTED, FACT; "FOTON-M3" is two tokens); questions and greetings do not count
    assert figures.repeated_share == round(12 / (1 + 3 + 12 + 10 + 12), 3)
    assert figures.meta_talk == [META]
    assert figures.impersonation == [GUEST, INVITED, RESEARCHER, COUNTED, JOINING]
    assert figures.filler_turns == 1  # FILLER
    assert figures.fragment_turns == 1  # FRAGMENT
    assert figures.fact_sentences == 5  # META, COUNTED, FACT, INVENTED, FACT
    assert figures.unsupported == [META, COUNTED, INVENTED] and figures.unsupported_share == 0.6
    assert figures.sections == 2 and figures.coverage == 0.5 and figures.sections_missed == [EXPERIMENTS]


def test_thanks_for_joining_is_only_impersonation_mid_show():
    opening = script((0, "host", JOINING), (1, "expert", FACT), (2, "host", JOINING))
    assert script_figures(opening, DOCUMENT).impersonation == []
    mid = script((0, "host", FACT), (1, "host", JOINING), (2, "host", FACT))
    assert script_figures(mid, DOCUMENT).impersonation == [JOINING]


@pytest.mark.parametrize("sentence, meta, impersonating", [
    ("In section three they turn to the experiments.", True, False),
    ("This paper is organized as follows.", True, False),
    ("The rest of this paper explains the method.", True, False),
    ("As Fig. 3 shows, most animals recovered.", True, False),
    ("Table 2 lists the species.", True, False),
    ("In the next section the authors test it.", True, False),
    ("As one of the authors, I can tell you it was hard.", False, True),
    ("In our study most animals recovered.", False, True),
    ("We propose a new way to dry them.", False, True),
    ("It is an aspect of data cleaning that I call data tidying.", False, True),  # a single author's "I"
    ("It underlies my work in the plyr and ggplot packages.", False, True),
    ("The author calls it data tidying.", False, False),
    ("Our guests today know tardigrades well.", False, True),
    ("Thanks so much for inviting me.", False, True),
    ("I\u2019m a professor at Leipzig.", False, True),
    ("As the authors note, most animals recovered.", False, False),
    ("The researchers counted 842 animals.", False, False),
    ("A cross-section of the moss held dozens of them.", False, False),
    ("That figure surprised me.", False, False),
])
def test_meta_talk_and_impersonation_phrases(sentence, meta, impersonating):
    figures = script_figures(script((1, "expert", sentence)), DOCUMENT)
    assert (figures.meta_talk == [sentence], figures.impersonation == [sentence]) == (meta, impersonating)


def test_filler():
    assert is_filler(FILLER) and is_filler("That's fascinating!") and is_filler("Great question, Leo.", "en", {"Leo"})
    assert not is_filler(FRAGMENT) and not is_filler("Exactly, 42.") and not is_filler("Great question, Leo.")


def test_fragments():
    assert is_fragment("Six dry days") and is_fragment("Exactly.") and is_fragment("Wow, really?")
    assert not is_fragment("They dry out.") and not is_fragment("They dry out in six long days")


def test_check_reports_the_script_figures(tmp_path):
    """`check --json` prints them next to the audit and report.json keeps them under "faithfulness", against the
    target length the script stage recorded."""
    write_document(DOCUMENT, tmp_path)
    atomic_write_json(tmp_path / "notes.json", NotesResult(document=DOCUMENT.sha256, title=DOCUMENT.title))
    write_script(BAD, tmp_path)
    atomic_write_json(tmp_path / "report.json", {"source": DOCUMENT.source, "script": {"target_words": 50}})
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    expected = script_figures(BAD, DOCUMENT, target_words=50).model_dump()
    assert expected["ratio"] == 2.04 and expected["impersonation"]
    assert json.loads(result.stdout)["script_figures"] == expected
    assert json.loads((tmp_path / "report.json").read_text())["faithfulness"]["script_figures"] == expected
