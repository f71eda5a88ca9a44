"""The podcast script: a conversation assembled from the grounded notes, one exchange per note.

Small models are poor at inventing fluent prose without inventing facts, so the show is built, not free-written:
- **Material and length** (stages/material.py): grounded notes grouped by the document's sections, as many as the
  material and the asked length allow, never padded.
- **Exchanges.** The expert's answer is the grounded note itself, as spoken; one call per note writes only the
  host's question before it (a Q&A note brings its own). The model's written answers were near-copies of the notes
  when right and inventions when not, at three times the tokens. A question the answer does not answer, or one
  that brings a number or name the evidence lacks, becomes a plain one. Sentences said before, meta-talk (section
  numbers, the paper's roadmap) and claims to the work are removed, and the authors' "we" becomes "they".
- **Frame.** Welcome, plan, transitions and recap come from phrase sets (stages/phrases.py) holding only the title
  and the topics covered: no guest can be invented, nobody thanked mid-show.
The stage returns a ScriptResult; outputs/script.py writes script.json and script.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ..config import Settings
from ..errors import BackendUnavailable
from ..llm.prompts import render_messages
from ..models import (
    Document,
    NotesResult,
    Script,
    ScriptResult,
    ScriptStats,
    Segment,
    SegmentLength,
    Speaker,
    Turn,
)
from ..text.lang import language_code
from ..text.sentences import split_sentences
from ..text.split import count_words
from .calls import Caller, output_schema, prompt_language, resolve_languages
from .focus import Focus
from .grounding import ANAPHOR, Source
from .material import (
    FRAME_WORDS,
    RANK,
    Item,
    Link,
    Plan,
    Topic,
    gather_items,
    plan_episode,
    questions_asked,
    theme_links,
    topic_title,
)
from .phrases import Phrases
from .person import third_person
from .questions import asks_for, share_in
from .script_figures import body_sections, is_fragment, is_impersonation, is_meta_talk
from .turns import URL, Said, clean_turns, speakable, validate_script, words_in

# (id, name, role) for 1-4 speakers; the first is always the host who opens and closes the show
CAST = [
    ("host", "Alex", "the curious host who asks the questions a listener would ask"),
    ("expert", "Sam", "the expert who has read the document closely and explains it"),
    ("skeptic", "Jordan", "a sceptical co-host who questions assumptions and asks for evidence"),
    ("guest", "Riley", "a practitioner co-host who relates the ideas to practice"),
]
STYLE_ROLES = {  # roles that fit the style better than the defaults
    "debate": {"host": "the moderator who pushes back on the document's claims",
               "expert": "the expert who defends them with the document's evidence"},
    "critique": {"expert": "the critic who weighs the work's strengths and weaknesses"},
    "lecture": {"expert": "the lecturer who explains the material step by step"},
}
SOLO_ROLE = "the narrator who explains the document to the listener"
OVERVIEW = re.compile(r"^\W*(?:abstract|summary|overview|r[ée]sum[ée]|zusammenfassung|resumen|sommario|resumo)\W*$",
                      re.IGNORECASE)

MIN_OPENING_WORDS = 6
OPENING_SAYS = 0.6  # share of a note's content words the opening holds for the note to be said by it


class QuestionOut(BaseModel):
    question: str


@dataclass
class Exchange:
    item: Item
    question: str
    answer: str


@dataclass
class Counts:
    plain_questions: int = 0  # the model's question did not fit its answer: a plain one was asked
    about_questions: int = 0  # ... one naming the answer's subject was asked
    answered_calls: int = 0  # question calls whose answer matched the schema
    reused: set[str] = field(default_factory=set)  # the notes' own questions asked already


# ---------------------------------------------------------------------------------------------------------------------
# Speakers


def make_speakers(settings: Settings) -> list[Speaker]:
    n = max(1, min(4, settings.script.speakers))
    names = settings.script.speaker_names
    speakers = []
    for i, (sid, name, role) in enumerate(CAST[:n]):
        role = SOLO_ROLE if n == 1 else STYLE_ROLES.get(settings.script.style, {}).get(sid, role)
        speakers.append(Speaker(id=sid, name=names[i] if i < len(names) and names[i] else name, role=role))
    return speakers


# ---------------------------------------------------------------------------------------------------------------------
# Writing and checking exchanges


_LEANS = re.compile(r"\b(?:these|those|such|the above|ces|diese|estos|estas)\s+\w+", re.IGNORECASE)
# discourse markers that tie a sentence to the one before it in the source; said after a question they dangle
_DANGLING = re.compile(r"^(?:however|after all|moreover|furthermore|in addition|additionally|thus|therefore|hence|"
                       r"indeed|in turn|also|then|still|yet|nevertheless|consequently|accordingly|similarly|"
                       r"likewise|by contrast|in contrast|on the other hand|instead|in fact|cependant|toutefois|"
                       r"ainsi|donc|en outre|de plus|jedoch|außerdem|daher|sin embargo|además|pero),\s+",
                       re.IGNORECASE)


def spoken_answer(item: Item, language: str, said: Said) -> str:
    """The note as the expert says it: speakable, the authors in the third person, without sentences already said,
    meta-talk, a claim to the work (all recorded in `said`) or a web address ("Go to https://..." is no sentence
    once the address is left unsaid)."""
    kept = []
    text = " ".join(s for s in split_sentences(item.text) if not URL.search(s))
    for sentence in split_sentences(third_person(speakable(text), language)):
        if re.search(r"\w", sentence) and not is_meta_talk(sentence) and not is_impersonation(sentence):
            novel = said.novel(sentence)  # its part not said yet ("... in sample B. Most animals ..." after the first)
            if novel:
                said.add(novel)
                kept.append(novel)
    answer = _DANGLING.sub("", " ".join(kept))
    answer = answer[:1].upper() + answer[1:]  # also a note the model began in lower case
    return answer + "." if answer and answer[-1].isalnum() else answer  # a list line read as a sentence


def write_questions(topic: Topic, answers: list[str], title: str, speakers: list[Speaker], caller: Caller,
                    settings: Settings, language: str, counts: Counts) -> list[str]:
    """The host's question before each answer: a Q&A item's own question when its answer answers it, else one the
    model writes for the note ("" where it wrote none). One call per note: given several, a small model skips or
    shifts one."""
    host, expert = speakers[0], speakers[1] if len(speakers) > 1 else speakers[0]
    questions, requests, asked = [], [], []
    for k, (item, answer) in enumerate(zip(topic.items, answers)):
        own = third_person(speakable(item.question), language)
        if not answer or (own and asks_for(own, answer, _evidence(item), language)):
            questions.append(own)
            continue
        questions.append("")
        messages = render_messages(
            "segment", settings.prompts_dir, note=answer, source=speakable(" ".join(item.quotes())), title=title,
            topic=topic.title, host=host.name, expert=expert.name, style=settings.script.style,
            language=prompt_language(settings.script.language), level=settings.notes.level,
            instructions=settings.script.instructions.strip(),
        )  # fmt: skip
        requests.append((messages, output_schema(QuestionOut, []), f"segment {topic.title!r} note {k + 1}"))
        asked.append(k)
    for k, out in zip(asked, caller.many("script", requests, QuestionOut, role="thinking")):
        questions[k] = third_person(speakable(out.question), language) if out else ""
        counts.answered_calls += out is not None
    return questions


def _evidence(item: Item) -> str:
    return " ".join(item.quotes() + [item.text])


def build_exchanges(topic: Topic, title: str, speakers: list[Speaker], caller: Caller, settings: Settings,
                    language: str, phrases: Phrases, said: Said, counts: Counts,
                    asked: dict[str, list[str]] | None = None, focus: Focus | None = None) -> list[Exchange]:
    """A topic's exchanges: each note as the answer, after the model's question when the answer answers it, else
    after a question the notes asked of the same sentences (`asked`: sentence id -> questions) that it answers, else
    after one naming what the answer is about (`focus`), else after a plain question."""
    answers = [spoken_answer(item, language, said) for item in topic.items]
    questions = write_questions(topic, answers, title, speakers, caller, settings, language, counts)
    exchanges = []
    for item, answer, question in zip(topic.items, answers, questions):
        if not answer:  # everything it says was said already
            continue
        if not asks_for(question, answer, _evidence(item), language):
            question = next((q for q in _asked_of(item, asked or {}, language)
                             if q not in counts.reused and asks_for(q, answer, _evidence(item), language)), "")
            term = "" if question or focus is None else focus.term(answer)
            if question:
                counts.reused.add(question)
            elif term:
                question = phrases.about(counts.about_questions, term)
                counts.about_questions += 1
            else:
                question = phrases.question(counts.plain_questions, first=not exchanges)  # each form in turn
                counts.plain_questions += 1
        if focus is not None:
            focus.ask(question)
            focus.hear(answer)
        exchanges.append(Exchange(item, question, answer))
    return exchanges


def _asked_of(item: Item, asked: dict[str, list[str]], language: str) -> list[str]:
    """The questions the notes asked of the item's sentences, as the host would say them."""
    found = [q for e in item.evidence for q in asked.get(e.sentence_id, [])]
    return [third_person(speakable(q), language) for q in dict.fromkeys(found)]


def link_exchanges(links: list[Link], phrases: Phrases, language: str, said: Said) -> list[Exchange]:
    """For each theme two sources share, two exchanges: the host names both sources and the theme and asks what the
    first says, then what the second says; each answer is that source's own grounded point, so the show connects
    the sources without a word that could mix up which one said what."""
    exchanges = []
    for link in links:
        (first, a), (second, b) = link.sides
        answers = [spoken_answer(a, language, said), spoken_answer(b, language, said)]
        if not all(answers):
            continue
        exchanges += [Exchange(a, phrases.link_first(link.theme, first, second), answers[0]),
                      Exchange(b, phrases.link_second(link.theme, second), answers[1])]
    return exchanges


# ---------------------------------------------------------------------------------------------------------------------
# Assembly


def assemble(title: str, opening: str, topics: list[Topic], exchanges: list[list[Exchange]], speakers: list[Speaker],
             phrases: Phrases) -> tuple[list[Segment], list[Turn]]:
    """Segments and turns: intro (welcome, plan, what it is about, the abstract's points), one segment per topic
    (transition, then question and answer per note), wrap-up (recap of the topics discussed, goodbye)."""
    host = speakers[0].id
    answerers = [s.id for s in speakers[1:]] or [host]
    solo = len(speakers) == 1
    # topics as they are named aloud: a section named like the document (a one-section memo) or its abstract is
    # not announced; the abstract's exchanges join the introduction
    named = [t.title for t, ex in zip(topics, exchanges)
             if ex and t.title.casefold() not in {title.casefold(), topic_title(title).casefold()}
             and not OVERVIEW.match(t.title)]
    segments = [Segment(title="Opening", words=0, summary=f"What {title} is about")]  # not the paper's Introduction
    turns = [Turn(speaker=host, text=phrases.welcome(title, named), segment=0)]
    if opening:
        if not solo:
            turns.append(Turn(speaker=host, text=phrases.opening(), segment=0))
        turns.append(Turn(speaker=answerers[0], text=opening, segment=0))
    n = 0
    for topic, topic_exchanges in zip(topics, exchanges):
        if not topic_exchanges:
            continue
        budget = sum(i.estimate() for i in topic.items)
        if OVERVIEW.match(topic.title) and len(segments) == 1:
            index = 0
            segments[0] = segments[0].model_copy(update={"words": segments[0].words + budget})
        else:
            index = len(segments)
            segments.append(Segment(title=topic.title, words=budget, summary=""))
        part = ""
        for k, exchange in enumerate(topic_exchanges):
            lead = phrases.transition(index - 1, topic.title) if k == 0 and topic.title in named else ""
            if k and not topic.links and exchange.item.part and exchange.item.part != part:  # the source's next part
                lead = phrases.transition(n + 1, topic_title(exchange.item.part))
            part = exchange.item.part
            host_line = " ".join(x for x in (lead, "" if solo else exchange.question) if x)
            if host_line:
                turns.append(Turn(speaker=host, text=host_line, segment=index))
            turns.append(Turn(speaker=answerers[n % len(answerers)], text=exchange.answer, segment=index))
            n += 1
    end = len(segments)
    segments.append(Segment(title="Wrap-up", words=0, summary="What the episode covered"))
    closing = f"{phrases.recap(title, named)} {phrases.goodbye()}"
    turns.append(Turn(speaker=host, text=closing, segment=end))
    return segments, _merged(turns)


def _merged(turns: list[Turn]) -> list[Turn]:
    """Consecutive lines of one speaker in one segment as one turn (the welcome and the first question)."""
    out: list[Turn] = []
    for turn in turns:
        if out and out[-1].speaker == turn.speaker and out[-1].segment == turn.segment:
            out[-1] = out[-1].model_copy(update={"text": f"{out[-1].text} {turn.text}"})
        else:
            out.append(turn)
    return out


def opening_line(notes: NotesResult, language: str, avoid: set[str] = frozenset()) -> tuple[str, set[str]]:
    """What the document is about, in one grounded sentence of the abstract (third person; not a dateline like "Field
    note, 14 March."), and the evidence it used (the items resting on it and saying what it says are not discussed
    again). A sentence that leans on another ("... solve these difficult problems") opens nothing, so it comes last;
    one resting on a sentence in `avoid` (a notebook's links between sources say it) opens nothing either."""
    abstract = notes.summary.abstract if notes.summary else []
    usable = [s for s in abstract if speakable(s.text) and not is_meta_talk(s.text) and not is_fragment(s.text)
              and not URL.search(s.text)
              and MIN_OPENING_WORDS <= count_words(s.text) <= 60 and not {e.sentence_id for e in s.evidence} & avoid]
    usable.sort(key=lambda s: bool(ANAPHOR.match(s.text) or _LEANS.search(s.text)))
    if not usable:
        return "", set()
    return third_person(speakable(usable[0].text), language), {e.sentence_id for e in usable[0].evidence}


# ---------------------------------------------------------------------------------------------------------------------
# The stage


def run_script(document: Document, notes_result: NotesResult, llm, settings: Settings,
               cache_dir: str | Path | None = None) -> ScriptResult:
    """Material, plan, exchanges, assembly, validation: the Script and its stats (no file is written). `cache_dir`:
    the document's answer cache (out_dir/.cache), so a rerun of the document makes no calls."""
    settings = resolve_languages(settings, document)
    language = language_code(settings.script.language)
    caller = Caller(llm, settings, Path(cache_dir) if cache_dir else None)
    speakers = make_speakers(settings)
    phrases = Phrases(language)
    title = speakable(notes_result.title or document.title) or "the document"
    source = Source(document)
    items = gather_items(notes_result, source)
    if not items:
        raise BackendUnavailable(f"{document.source}: no notes to write a script from")
    links, items = theme_links(items, notes_result.themes, source, notes_result.title)
    linked = {e.sentence_id for link in links for _, item in link.sides for e in item.evidence}
    opening, opened = opening_line(notes_result, language, avoid=linked)
    rest = [i for i in items if not (i.evidence and {e.sentence_id for e in i.evidence} <= opened
                                     and share_in(i.text, opening, language) >= OPENING_SAYS)] or items
    plan = plan_episode(rest, document, settings, list(body_sections(source.index)),
                        reserved=sum(link.estimate() for link in links))
    counts = Counts()
    asked = questions_asked(notes_result)
    said = Said([Turn(speaker=speakers[0].id, text=opening)] if opening else [])
    focus = Focus(" ".join(b.text for b in document.body_blocks()), title, language)
    focus.hear(opening)
    exchanges: list[list[Exchange]] = []
    for topic in plan.topics:
        exchanges.append(build_exchanges(topic, title, speakers, caller, settings, language, phrases, said, counts,
                                         asked, focus))
    if caller.calls and not counts.answered_calls:  # the endpoint answered nothing usable: bare notes would hide it
        last = f"; last problem: {caller.warnings[-1]}" if caller.warnings else ""
        raise BackendUnavailable(f"{document.source}: the model wrote no usable script turns for any segment{last}")
    exchanges = fit_length(exchanges, plan, settings)
    topics = list(plan.topics)
    linked = link_exchanges(links, phrases, language, said)
    if linked:  # a notebook: what its sources share, each source's point under its own name
        topics.append(Topic(phrases.links(), [e.item for e in linked], links=True))
        exchanges.append(linked)
    segments, turns = assemble(title, opening, topics, exchanges, speakers, phrases)
    turns = clean_turns(turns, speakers, settings.script.max_turn_chars)
    script = validate_script(Script(title=title, language=language, speakers=speakers, segments=segments, turns=turns),
                             settings.script.max_turn_chars)
    return ScriptResult(script=script, stats=script_stats(script, plan, counts, caller,
                                                          sum(len(topic) for topic in exchanges)))


def fit_length(exchanges: list[list[Exchange]], plan: Plan, settings: Settings) -> list[list[Exchange]]:
    """With --minutes, an episode over the tolerance loses its lowest-ranked exchanges (last first) until it fits;
    each topic keeps one."""
    if not settings.script.minutes:
        return exchanges
    limit = plan.target_words * (1 + settings.script.length_tolerance) - FRAME_WORDS

    def words() -> int:
        return sum(count_words(e.question) + count_words(e.answer)
                   for topic in exchanges for e in topic)

    while words() > limit:
        candidates = [(RANK[e.item.kind], t, k) for t, topic in enumerate(exchanges) if len(topic) > 1
                      for k, e in enumerate(topic)]
        if not candidates:
            break
        _, t, k = max(candidates)
        exchanges[t] = exchanges[t][:k] + exchanges[t][k + 1:]
    return exchanges


def script_stats(script: Script, plan: Plan, counts: Counts, caller: Caller, exchanges: int) -> ScriptStats:
    """The length check (target and actual words, per segment), how the length was chosen, how the answers were
    grounded, and the calls made."""
    return ScriptStats(
        target_words=plan.target_words, words=script.word_count(),
        ratio=round(script.word_count() / max(1, plan.target_words), 3), length=plan.how,
        segments=[SegmentLength(title=s.title, budget=s.words,
                                words=words_in([t for t in script.turns if t.segment == i]))
                  for i, s in enumerate(script.segments)],
        answers={"exchanges": exchanges, "plain_questions": counts.plain_questions,
                 "questions_naming_the_subject": counts.about_questions,
                 "questions_from_notes": len(counts.reused)},
        sections_skipped=plan.skipped,
        calls=caller.calls, cached_calls=caller.cached, warnings=plan.warnings + caller.warnings,
    )  # fmt: skip
