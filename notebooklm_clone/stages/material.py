"""The episode's material and plan: which grounded notes the show discusses, in which segments, and how long it is.

The material is the notes stage's grounded items (key points, section summaries, Q&A, facts) and, last in rank, the
body sentences no note used (a thin set of notes does not make a thin episode), near-duplicates removed, in
reading order. Segments follow the document's top-level sections, so every section with notes is covered
(the plan names those that had none). Without --minutes the length follows the material, capped by the document's
length (WORDS_PER_PAGE) and MAX_MINUTES; with --minutes the most important items (one per section first) fill the
time, and when the material runs out the plan says so instead of padding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..config import Settings
from ..models import Document, Evidence, NotesResult, Theme
from ..text.recitals import readable
from ..text.split import count_words
from .evidence import evidence_for, plain_text
from .grounding import AFFILIATION, ANAPHOR, Source, quotable, quote_text
from .script_figures import NOT_BODY, is_fragment, is_meta_talk
from .turns import speakable
from .verify import duplicates

MAX_MINUTES = 20  # the longest episode the material alone may ask for
WORDS_PER_PAGE = 110  # default length: about three quarters of a spoken minute per page, at most the material
FRAME_WORDS = 40  # welcome, plan and recap
QUESTION_WORDS = 12  # the host's side of one exchange, for the length estimate
MAX_TOPICS = 8  # segments between the intro and the wrap-up; adjacent small sections are merged beyond this
# which items the time goes to first; "source": a sentence no note used, for when the notes are thin
RANK = {"key_point": 0, "summary": 1, "qa": 2, "fact": 3, "source": 4}
MIN_ANSWER_WORDS = 6
MAX_LINKS = 3  # themes the episode's "what the sources share" segment takes up
_NUMBERING = re.compile(r"^\s*(?:(?:\d+|[IVXLC]+|[A-Z])(?:\.\d+)*[.)]?\s+|§\s*\d+\s*)")


@dataclass
class Item:
    """One grounded note the show can talk about, where it sits in the document."""

    text: str
    evidence: list[Evidence]
    kind: str  # a RANK key
    section: str = ""
    position: int = 0  # reading order of its first evidence sentence
    question: str = ""  # a Q&A item's own question
    part: str = ""  # in a notebook, the section of its source it comes from (its segment is the source)

    def quotes(self) -> list[str]:
        return [e.quote for e in self.evidence] or [self.text]

    def estimate(self) -> int:
        return count_words(self.text) + QUESTION_WORDS


@dataclass
class Topic:
    """A segment of the show: one top-level section (or a few adjacent ones) and the items it discusses."""

    title: str
    items: list[Item]
    sections: list[str] = field(default_factory=list)
    links: bool = False  # a notebook's "what the sources share": each item from another source


def place(item: Item, source: Source, title: str, notebook: bool) -> Item:
    """Where the item sits: its top-level section (in a notebook, its source), part and reading position, from its
    first evidence sentence."""
    first = source.by_id.get(item.evidence[0].sentence_id) if item.evidence else None
    item.section = (first.section[0] if first and first.section else "") or title or source.document.title
    item.part = first.section[1] if notebook and first and len(first.section) > 1 else ""
    item.position = source.position.get(first.id, 0) if first else 0
    return item


def gather_items(notes: NotesResult, source: Source) -> list[Item]:
    """The notes' grounded items in reading order, near-duplicates and items resting on an already used sentence
    removed (the better-ranked one stays), reference lists left out."""
    found: list[Item] = [Item(p.text, p.evidence, "key_point") for p in notes.key_points]
    if notes.summary:
        found += [Item(s.text, s.evidence, "summary") for section in notes.summary.sections for s in section.sentences]
    # a short answer ("18 degrees Celsius") is no spoken sentence: its source sentence is
    found += [Item(q.answer if count_words(q.answer) >= MIN_ANSWER_WORDS or not q.evidence else quote_text(q.evidence),
                   q.evidence, "qa", question=q.question) for q in notes.qa]
    found += [Item(f.text, f.evidence, "fact") for chunk in notes.chunk_notes for f in chunk.facts]
    noted = {e.sentence_id for item in found for e in item.evidence}
    headed = any(s.section for s in source.index)  # then the text before the first heading is front matter
    notebook = bool(source.document.page_sources)
    found += [Item(readable(plain_text(s.text)), evidence_for(source.index, [s.id]), "source") for s in source.offered(source.index)
              if s.id not in noted and (s.section or not headed) and quotable(s, source.language)
              and not ANAPHOR.match(readable(s.text))  # as said: "ATTENDU QU'elle ..." reads "Elle ..."
              and not is_meta_talk(s.text) and not AFFILIATION.search(s.text)]
    for item in found:
        place(item, source, notes.title, notebook)
    # a heading-like fragment ("Morbi ultrices rutrum lorem") is nothing to say aloud
    found = [i for i in found if not is_fragment(i.text) and not NOT_BODY.match(i.section)]
    found.sort(key=lambda i: RANK[i.kind])
    repeated = {j for _, j in duplicates([i.text for i in found], language=source.language)}
    kept, used = [], set()
    for n, item in enumerate(found):
        ids = {e.sentence_id for e in item.evidence}
        if n in repeated or (ids and ids <= used):
            continue
        kept.append(item)
        used |= ids
    return sorted(kept, key=lambda i: (i.position, RANK[i.kind]))


def questions_asked(notes: NotesResult) -> dict[str, list[str]]:
    """Sentence id -> the grounded questions of the notes (the map's and the Q&A's) that rest on it."""
    asked: dict[str, list[str]] = {}
    for question, evidence in [(q.text, q.evidence) for n in notes.chunk_notes for q in n.questions] + \
            [(p.question, p.evidence) for p in notes.qa]:
        for e in evidence:
            asked.setdefault(e.sentence_id, []).append(question)
    return asked


@dataclass
class Link:
    """A theme two sources share (stages/themes.py), and one point of each, said one after the other."""

    theme: str
    sides: list[tuple[str, Item]]  # (the source's title as said, its point)

    def estimate(self) -> int:
        return sum(item.estimate() for _, item in self.sides)


def theme_links(items: list[Item], themes: list[Theme], source: Source, title: str) -> tuple[list[Link], list[Item]]:
    """Up to MAX_LINKS themes, each with the first point of its first two sources, and the items left for the
    sources' own segments (a linked point is said once, where it is linked). A theme point the material left out
    (its sentence was another item's second one) is taken as it is: it is grounded, and not said elsewhere."""
    by_text = {" ".join(i.text.split()): i for i in items}
    links, used = [], set()
    for theme in themes:
        sides: dict[str, Item] = {}
        for point in theme.points:
            item = by_text.get(" ".join(point.text.split())) or place(
                Item(point.text, point.evidence, "key_point"), source, title, notebook=True)
            if id(item) not in used and item.section not in sides and not is_fragment(item.text):
                sides[item.section] = item
        if len(sides) < 2:
            continue
        chosen = list(sides.items())[:2]
        used |= {id(item) for _, item in chosen}
        links.append(Link(theme.label, [(topic_title(section), item) for section, item in chosen]))
        if len(links) == MAX_LINKS:
            break
    return links, [i for i in items if id(i) not in used]


LONG_TITLE_WORDS = 8


def short_title(title: str) -> str:
    """A long title by its head ("Surviving the Impossible: How Tardigrades Endure Drying, Freezing, Radiation and
    Space" -> "Surviving the Impossible"), as a speaker names it a second time; a short one whole."""
    head, colon, _ = title.partition(":")
    if colon and len(title.split()) > LONG_TITLE_WORDS and len(head.split()) >= 2:
        return head.strip()
    return title


def topic_title(section: str) -> str:
    """A section heading as it is said aloud: no numbering, no shouting, a long one by its head."""
    title = speakable(short_title(_NUMBERING.sub("", section))).strip(" .:")
    if title.isupper():
        title = title.capitalize()
    return title or speakable(section)


def choose(items: list[Item], budget: int) -> list[Item]:
    """The items that fit `budget` words, in reading order: the best of each section first (coverage), then each
    section's second best, and so on (a paper's results are not crowded out by its long introduction: on a 9-page
    paper the introduction got 269 words of the episode and the results 22)."""
    by_section: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.position):
        by_section.setdefault(item.section, []).append(item)
    ranked = [sorted(group, key=lambda i: (RANK[i.kind], i.position)) for group in by_section.values()]
    order = [group[k] for k in range(max(map(len, ranked), default=0)) for group in ranked if k < len(group)]
    chosen, total = [], 0
    for item in order:
        if total + item.estimate() <= budget or not chosen:
            chosen.append(item)
            total += item.estimate()
    return sorted(chosen, key=lambda i: i.position)


def group_topics(items: list[Item]) -> list[Topic]:
    """Items grouped by section in reading order; beyond MAX_TOPICS the smallest topic joins its smaller
    neighbour."""
    topics: list[Topic] = []
    for item in items:
        if topics and item.section in topics[-1].sections:
            topics[-1].items.append(item)
        else:
            topics.append(Topic(topic_title(item.section), [item], [item.section]))
    while len(topics) > MAX_TOPICS:
        small = min(range(len(topics)), key=lambda k: len(topics[k].items))
        neighbours = [k for k in (small - 1, small + 1) if 0 <= k < len(topics)]
        a, b = sorted((small, min(neighbours, key=lambda k: len(topics[k].items))))
        titles = [topic_title(s) for s in topics[a].sections + topics[b].sections]
        title = " and ".join(titles) if len(titles) == 2 else f"{', '.join(titles[:-1])} and {titles[-1]}"
        topics[a:b + 1] = [Topic(title, topics[a].items + topics[b].items, topics[a].sections + topics[b].sections)]
    return topics


@dataclass
class Plan:
    topics: list[Topic]
    target_words: int
    how: str  # how the length was chosen, for the report
    warnings: list[str]
    skipped: list[str]  # body sections with no grounded note


def plan_episode(items: list[Item], document: Document, settings: Settings, sections: list[str],
                 reserved: int = 0) -> Plan:
    """Which items the episode discusses and how long it is (see the module docstring). `reserved`: words already
    given to a notebook's links between its sources."""
    material = FRAME_WORDS + reserved + sum(i.estimate() for i in items)
    wpm = settings.script.words_per_minute
    warnings = []
    if settings.script.minutes:
        asked = round(settings.script.minutes * wpm)
        chosen = choose(items, asked - FRAME_WORDS - reserved)
        target = asked
        how = f"--minutes {settings.script.minutes:g}: {asked} words asked"
        if material < asked * (1 - settings.script.length_tolerance):
            warnings.append(f"the material runs out at about {material} words ({material / wpm:.1f} minutes) of "
                            f"the {asked} asked: the episode is shorter rather than padded")
    else:
        cap = min(MAX_MINUTES * wpm, FRAME_WORDS + WORDS_PER_PAGE * max(1, document.page_count))
        chosen = choose(items, cap - FRAME_WORDS - reserved)
        target = FRAME_WORDS + reserved + sum(i.estimate() for i in chosen)
        how = (f"from the material: {len(chosen)} of {len(items)} grounded notes, about {target} words "
               f"({target / wpm:.1f} minutes) for {document.page_count} page{'s' * (document.page_count != 1)}")
    covered = {i.section for i in chosen}
    skipped = [topic_title(s) for s in sections if s not in covered and not NOT_BODY.match(s)]
    return Plan(group_topics(chosen), target, how, warnings, skipped)
