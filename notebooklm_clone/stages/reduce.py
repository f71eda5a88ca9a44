"""Reduce: the grounded map notes turned into the document-level products (summary, Q&A, quiz, glossary, cards).

Every reduce prompt shows grounded points as "[k3] ..." and the model answers with the ids of the points each
sentence is written from. The abstract, Q&A and quiz prompts begin with the same system prompt and the same notes
(_study_system.j2, _study_notes.j2) and only their last lines differ, so asked one after the other the server
evaluates the notes once and reuses them for the next two (llama.cpp keeps the previous request's prefix).
`grounding.combine` keeps a sentence only when the union of those points' evidence
supports it, else the first point stands in for it. Everything is built on `condense`, so any document length fits.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..config import Settings
from ..llm.prompts import render_messages
from ..models import Card, ChunkNotes, Cited, GroundingCounts, QAPair, Question, QuizQuestion, SectionSummary, Term
from .calls import Caller, output_schema, prompt_language
from .condense import Digester, PointsOut, Render, chosen, condense, pages_of, point_ids, point_lines
from .grounding import (
    Source,
    clean_text,
    combine,
    count,
    drop_duplicates,
    most_central,
    pages_of_evidence,
    quote_text,
    union_evidence,
)
from .questions import asks_one_thing, defines_what_it_asks, stands_alone
from .quiz import QuizOut, build_quiz
from .verify import answer_statement, gives_what_is_asked, verify, verify_answer

class _QAOut(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=2)
    question: str
    answer: str


class QAOut(BaseModel):
    pairs: list[_QAOut]


def notes_style(settings: Settings) -> dict:
    """The language, level and instructions every notes prompt is rendered with."""
    return {"language": prompt_language(settings.notes.language), "level": settings.notes.level,
            "instructions": settings.notes.instructions.strip()}


class Reducer:
    """The reduce calls over grounded notes."""

    def __init__(self, caller: Caller, settings: Settings, title: str, source: Source,
                 counts: dict[str, GroundingCounts]):
        self.caller = caller
        self.settings = settings
        self.title = title
        self.source = source
        self.language = source.language
        self.counts = counts
        self.style = notes_style(settings)
        self.digester = Digester(caller, settings, title, self.style, self.language)

    def render(self, template: str, limit: int, **extra) -> Render:
        return lambda items: render_messages(template, self.settings.prompts_dir, items=items, limit=limit,
                                             title=self.title, **self.style, **extra)

    def condensed(self, points: list[Cited], stage: str, render: Render) -> list[Cited]:
        return condense(points, render, self.digester, self.caller.budget(), stage)

    def sentences(self, template: str, stage: str, points: list[Cited], limit: int, label: str, **extra) -> list[Cited]:
        render = self.render(template, limit, **extra)
        points = self.condensed(points, stage, render)
        if not points:
            return []
        answer = self.caller.one(stage, render(point_lines(points)),
                                 output_schema(PointsOut, pages_of(points), {"points": 1}, ids=point_ids(points),
                                               points=limit),
                                 PointsOut, label=label)
        out = []
        for item in answer.points if answer else []:
            grounded = combine(item.text, chosen(points, item.ids), self.language)
            count(self.counts["summary"], grounded.grounding if grounded else "")
            if grounded:
                out.append(grounded)
        return out

    def abstract(self, overview: list[Cited], stressed: list[Cited] = ()) -> list[Cited]:
        """The model's abstract after the points the document stresses (a highlighted sentence, a decision set in
        capitals): a summary of minutes that leaves out what was resolved misses the point of them."""
        limit = self.settings.notes.abstract_sentences
        lead = [p.model_copy() for p in stressed][:limit]
        for point in lead:
            count(self.counts["summary"], point.grounding or "quoted")
        if len(lead) >= limit:
            return lead  # no room left for the model's sentences: no call
        abstract = self.sentences("abstract", "abstract", overview, limit, "abstract")
        abstract = drop_duplicates(abstract, lambda c: c.text, self.language, self.counts["summary"],
                                   [p.text for p in lead])
        return lead + abstract[:max(0, limit - len(lead))]

    def sections(self, notes: list[ChunkNotes], abstract: list[Cited]) -> list[SectionSummary]:
        """A few sentences per top-level section, none saying again what the abstract or an earlier section said.
        From a model that copies what it is asked to condense (Caller.quoting), the section's most central points
        without a call: its section sentences were the points copied (on a 9-page paper, 8 calls, ~2 minutes)."""
        said = [c.text for c in abstract]
        sections = []
        limit = self.settings.notes.section_sentences
        for title, group in _sections(notes):
            points = [p for n in group for p in n.points()]
            if not points:
                continue
            pages = sorted({p for n in group for p in n.pages})
            if self.caller.quoting:
                fresh = drop_duplicates(points, lambda c: c.text, self.language, earlier=said)
                sentences = [p.model_copy() for p in most_central(fresh, lambda c: c.text, self.language, limit)]
                for point in sentences:
                    count(self.counts["summary"], point.grounding or "quoted")
            else:
                sentences = self.sentences("section", "section", points, limit, f"section {title}", section=title)
            sentences = drop_duplicates(sentences, lambda c: c.text, self.language, self.counts["summary"], said)
            said += [c.text for c in sentences]
            sections.append(SectionSummary(title=title, pages=pages, sentences=sentences))
        return sections

    def qa(self, overview: list[Cited]) -> list[QAPair]:
        """Review questions, each kept when the evidence of the point it names supports its answer to it. None from a
        model that copies what it condenses (Caller.quoting): 1 of its 8 pairs held on a 9-page paper, and the map's
        own questions, answered by their sentences, fill the Q&A (more_qa)."""
        limit = self.settings.notes.qa_pairs
        if not overview or self.caller.quoting:
            return []
        answer = self.caller.one("qa", self.render("qa", limit)(point_lines(overview)),
                                 output_schema(QAOut, pages_of(overview), {"pairs": limit}, ids=point_ids(overview),
                                               pairs=limit), QAOut, label="Q&A")
        pairs: list[QAPair] = []
        for pair in answer.pairs if answer else []:
            pair_out = self._pair(pair, chosen(overview, pair.ids))
            count(self.counts["qa"], "verified" if pair_out else "")
            if pair_out:
                pairs.append(pair_out)
        return drop_duplicates(pairs, self._asked, self.language, self.counts["qa"])

    def more_qa(self, pairs: list[QAPair], questions: list[Question], quiz: list[QuizQuestion]) -> list[QAPair]:
        """Short of the limit, the map's own questions (each grounded on its sentences when it was asked), answered
        with those sentences when they answer it: small models write Q&A that wanders across notes, and most of it
        fails the check. None repeats a pair or a quiz question (the quiz, asked first, keeps the sentences whose
        number or name it blanks out)."""
        earlier = [self._asked(p) for p in pairs] + [
            answer_statement(q.question, q.correct, self.language, always=True) for q in quiz]
        out = list(pairs)
        for question in questions:
            if len(out) >= self.settings.notes.qa_pairs:
                break
            pair = None if question.open else answered_by_its_sentences(question, self.language)
            if pair and drop_duplicates([pair], self._asked, self.language, earlier=earlier):
                count(self.counts["qa"], "quoted")
                out.append(pair)
                earlier.append(self._asked(pair))
        return out

    def _asked(self, pair: QAPair) -> str:
        """What a pair claims, its question included: the key repeated pairs are found by."""
        return answer_statement(pair.question, pair.answer, self.language, always=True)

    def _pair(self, pair: _QAOut, points: list[Cited]) -> QAPair | None:
        question = clean_text(pair.question)
        evidence = union_evidence(points)
        if not asks_one_thing(question) or not evidence:
            return None
        quotes = [e.quote for e in evidence]
        reply = clean_text(pair.answer)
        if reply and stands_alone(question, reply) and gives_what_is_asked(question, reply) \
                and defines_what_it_asks(question, reply) \
                and verify_answer(question, reply, quotes, self.language).supported \
                and verify(question, quotes, self.language).supported:
            return QAPair(question=question, answer=reply, pages=pages_of_evidence(evidence), evidence=evidence)
        return None

    def quiz(self, overview: list[Cited], qa: list[QAPair], terms: list[Term]) -> list[QuizQuestion]:
        """The model's questions, topped up with questions on the points' own sentences; when its rewrites rescued
        almost nothing (Caller.quoting), the model only writes the questions those sentences leave open."""
        limit = self.settings.notes.quiz_questions
        if not overview:
            return []
        asked = [answer_statement(p.question, p.answer, self.language) for p in qa]  # as the audit reads them
        wanted = limit
        if self.caller.quoting:
            wanted -= len(build_quiz([], overview, self.source, terms, asked, GroundingCounts(), limit))
        answer = self.caller.one("quiz", self.render("quiz", wanted)(point_lines(overview)),
                                 output_schema(QuizOut, pages_of(overview), {"questions": wanted},
                                               ids=point_ids(overview), questions=wanted), QuizOut,
                                 label="quiz") if wanted > 0 else None
        return build_quiz(answer.questions if answer else [], overview, self.source, terms, asked,
                          self.counts["quiz"], limit)


def answered_by_its_sentences(question: Question, language: str) -> QAPair | None:
    """A Q&A pair of a grounded question and the sentences it rests on, when they answer it: what it asks about is in
    them (as for the model's pairs) and so is its answer (a reason for "why")."""
    quotes = [e.quote for e in question.evidence]
    answer = quote_text(question.evidence)
    if quotes and asks_one_thing(question.text) and stands_alone(question.text, answer) \
            and gives_what_is_asked(question.text, answer) \
            and defines_what_it_asks(question.text, answer) and verify(question.text, quotes, language).supported \
            and verify_answer(question.text, answer, quotes, language).supported:
        return QAPair(question=question.text, answer=answer, pages=pages_of_evidence(question.evidence),
                      evidence=question.evidence)
    return None


def _sections(notes: list[ChunkNotes]) -> list[tuple[str, list[ChunkNotes]]]:
    """Consecutive chunks grouped by their top-level section (a document without headings is one section)."""
    groups: list[tuple[str, list[ChunkNotes]]] = []
    for n in notes:
        title = n.section[0] if n.section else "Overview"
        if groups and groups[-1][0] == title:
            groups[-1][1].append(n)
        else:
            groups.append((title, [n]))
    return groups


def key_points(notes: list[ChunkNotes]) -> list[Cited]:
    return [p for n in notes for p in n.key_points + n.facts]


def glossary(notes: list[ChunkNotes], language: str, counts: GroundingCounts) -> list[Term]:
    """One entry per term (the first grounded definition wins; pages and evidence merged), alphabetical, without
    entries whose definitions say the same."""
    by_term: dict[str, Term] = {}
    for n in notes:
        for t in n.terms:
            key = t.term.lower()
            if key in by_term:
                counts.duplicates += 1
                by_term[key].pages = sorted(set(by_term[key].pages) | set(t.pages))
            else:
                by_term[key] = t.model_copy()
    terms = sorted(by_term.values(), key=lambda t: t.term.lower())
    return drop_duplicates(terms, lambda t: f"{t.term}: {t.definition}", language, counts)


def flashcards(terms: list[Term], qa: list[QAPair], language: str = "en") -> list[Card]:
    """A card per glossary term and per Q&A pair, without a Q&A card that says what a term's card says already
    (the definition of a term is often the answer to "what is" it)."""
    cards = [Card(front=t.term, back=t.definition, pages=t.pages, kind="term", evidence=t.evidence) for t in terms]
    cards += [Card(front=p.question, back=p.answer, pages=p.pages, kind="qa", evidence=p.evidence) for p in qa]

    def said(card: Card) -> str:  # what a card claims, a Q&A card with its question
        if card.kind == "term":
            return f"{card.front}: {card.back}"
        return answer_statement(card.front, card.back, language, always=True)

    return drop_duplicates(cards, said, language)
