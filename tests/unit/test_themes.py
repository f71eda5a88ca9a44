"""Themes across a notebook's sources: found only where two sources both speak of a subject, shown first in the
notes, and said in the episode with each source's own point under its own name."""

from __future__ import annotations

from notebooklm_clone.models import ChunkNotes, Cited, Document, Evidence, NotesResult, Speaker, Theme
from notebooklm_clone.outputs.study import ACROSS_SOURCES, notes_markdown, sections
from notebooklm_clone.stages.material import Item, Topic, theme_links
from notebooklm_clone.stages.phrases import Phrases
from notebooklm_clone.stages.script import assemble, link_exchanges
from notebooklm_clone.stages.script_figures import is_impersonation, is_meta_talk
from notebooklm_clone.stages.themes import shared_themes, source_by_page
from notebooklm_clone.stages.turns import Said

PAGES = {1: ("memo.pdf", 1), 2: ("review.pdf", 1), 3: ("review.pdf", 2)}
MEMO = ["Each cushion was soaked in spring water for three hours before counting.",
        "The spring water stayed at 18 degrees Celsius.",
        "We counted 42 tardigrades in sample A and 17 in sample B.",
        "The schools and families visited on Friday."]
REVIEW = ["A tardigrade loses most of its body water when it forms a tun.",
          "Spring water from the same moss revived most tuns within an hour.",
          "Spring water kept at low temperature slowed the recovery.",
          "Three families of molecules protect the cells."]


def _point(text: str, page: int) -> Cited:
    return Cited(text=text, pages=[page], evidence=[Evidence(sentence_id="s1", page=page, start=0, end=len(text),
                                                             quote=text)], grounding="verified")


def _themes(points: list[Cited], titles=("Moss sample counts", "Tardigrades and their survival")) -> list[Theme]:
    return shared_themes(points, source_by_page(PAGES), {"memo.pdf": MEMO, "review.pdf": REVIEW}, list(titles))


def test_a_theme_is_a_phrase_two_sources_both_speak_of_with_each_sources_points():
    points = [_point(MEMO[0], 1), _point(MEMO[2], 1), _point(MEMO[3], 1),
              _point(REVIEW[1], 2), _point(REVIEW[3], 3), _point(REVIEW[0], 3)]
    themes = _themes(points)
    assert [t.label for t in themes] == ["spring water"]
    assert themes[0].sources == ["memo.pdf", "review.pdf"]
    assert [p.text for p in themes[0].points] == [MEMO[0], REVIEW[1]]
    # "families" is in a point of each source, but the memo names it once in passing: a shared word, not a subject;
    # "tardigrades" is the notebook's subject (a source's title), never a theme within it


def test_no_theme_without_two_sources_or_when_the_phrase_is_everywhere():
    assert _themes([_point(MEMO[0], 1), _point(MEMO[1], 1)]) == []
    assert _themes([_point(MEMO[0], 1), _point(REVIEW[1], 2)], titles=("Spring water", "Review")) == []


def _notes(themes: list[Theme], points: list[Cited]) -> NotesResult:
    return NotesResult(document="x", title="Moss and tardigrades", page_sources=PAGES, themes=themes,
                       key_points=points,
                       chunk_notes=[ChunkNotes(chunk=0, section=["Moss sample counts"], pages=[1],
                                               key_points=points[:2]),
                                    ChunkNotes(chunk=1, section=["Tardigrades and their survival"], pages=[2, 3],
                                               key_points=points[2:])])


def test_the_notes_show_the_themes_first_and_each_point_once():
    points = [_point(MEMO[0], 1), _point(MEMO[2], 1), _point(REVIEW[1], 2), _point(REVIEW[0], 3)]
    result = _notes(_themes(points), points)
    shown = sections(result)
    assert shown[0][0] == [ACROSS_SOURCES, "Spring water"]
    assert [p.text for p in shown[0][1]] == [MEMO[0], REVIEW[1]]
    assert sum(len(items) for _, items in shown) == len(points)
    markdown = notes_markdown(result, Document(source="nb", sha256="x", title="Moss and tardigrades", page_count=3,
                                               page_sources=PAGES))
    theme = markdown.split("### Across the sources > Spring water")[1].split("###")[0]
    assert "(memo.pdf, p. 1)" in theme and "(review.pdf, p. 1)" in theme


def test_the_episode_links_two_sources_each_answer_from_the_source_it_is_attributed_to():
    memo = Item(MEMO[0], _point(MEMO[0], 1).evidence, "key_point", section="Moss sample counts")
    review = Item(REVIEW[1], _point(REVIEW[1], 2).evidence, "key_point", section="Tardigrades and their survival")
    other = Item(REVIEW[0], _point(REVIEW[0], 3).evidence, "key_point", section="Tardigrades and their survival")
    themes = _themes([_point(MEMO[0], 1), _point(REVIEW[1], 2), _point(REVIEW[0], 3)])
    links, rest = theme_links([memo, review, other], themes, None, "Moss and tardigrades")
    assert rest == [other]  # a linked point is said once, where it is linked
    phrases = Phrases("en")
    exchanges = link_exchanges(links, phrases, "en", Said([]))
    assert [(e.question, e.answer) for e in exchanges] == [
        ("Both Moss sample counts and Tardigrades and their survival speak of spring water. What does Moss sample "
         "counts say?", MEMO[0]),
        ("And what does Tardigrades and their survival say about spring water?", REVIEW[1]),
    ]
    speakers = [Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")]
    topics = [Topic("Tardigrades and their survival", [other]),
              Topic(phrases.links(), [e.item for e in exchanges], links=True)]
    segments, turns = assemble("Moss and tardigrades", "", topics, [[], exchanges], speakers, phrases)
    assert segments[-2].title == "what the sources share"
    host_lines = [t.text for t in turns if t.speaker == "host" and t.segment == len(segments) - 2]
    assert host_lines[0].startswith("First, what the sources share. Both Moss sample counts and")
    assert not any(is_meta_talk(t.text) or is_impersonation(t.text) for t in turns)


def test_a_notebook_source_s_segment_names_its_parts_and_a_long_title_is_said_by_its_head():
    from notebooklm_clone.stages.material import short_title, topic_title
    from notebooklm_clone.stages.script import Exchange

    long = "Surviving the Impossible: How Tardigrades Endure Drying, Freezing, Radiation and Space"
    assert short_title(long) == topic_title(long) == "Surviving the Impossible"
    assert short_title("Why Bother: Risks and Benefits") == "Why Bother: Risks and Benefits"
    items = [Item(text, [], "key_point", section=long, part=part) for text, part in
             ((REVIEW[0], "1 The tun"), (REVIEW[1], "1 The tun"), (REVIEW[2], "2 Cold"))]
    exchanges = [Exchange(item, "What else?", item.text) for item in items]
    speakers = [Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")]
    _, turns = assemble("Notebook", "", [Topic(topic_title(long), items)], [exchanges], speakers, Phrases("en"))
    host = [t.text for t in turns if t.speaker == "host"][1:-1]
    assert host[0] == "First, Surviving the Impossible. What else?"
    assert host[1] == "What else?"
    assert host[2].endswith(", Cold. What else?") and "Surviving" not in host[2]



def test_a_section_named_like_the_long_title_is_not_announced_as_a_topic():
    from notebooklm_clone.stages.material import topic_title
    from notebooklm_clone.stages.script import Exchange

    long = "Surviving the Impossible: How Tardigrades Endure Drying, Freezing, Radiation and Space"
    item = Item(REVIEW[0], [], "key_point", section=long)
    speakers = [Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")]
    _, turns = assemble(long, "", [Topic(topic_title(long), [item])], [[Exchange(item, "What else?", item.text)]],
                        speakers, Phrases("en"))
    assert turns[0].text == f"Welcome to the show. Today we are reading {long}."  # no plan naming it again
