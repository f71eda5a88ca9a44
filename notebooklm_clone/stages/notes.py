"""Study notes from the whole document: map (one LLM call per chunk -> ChunkNotes), then reduce (summary, key points,
glossary, Q&A, flashcards, quiz), every item citing the pages it came from.

Nothing is ever truncated to fit a context: a chunk whose map prompt does not fit is split, and notes too long for
one call are condensed (condense.py). Calls go through `LLM.complete`, which caches every answer (also in the
document's `<out>/.cache`), so a rerun makes no new calls, and a changed setting, prompt template or chunk redoes only
what it shaped. The stage returns a NotesResult; outputs/study.py writes the files.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..llm.prompts import render_messages
from ..models import (
    Card,
    Chunk,
    ChunkNotes,
    Cited,
    Document,
    NotesResult,
    QAPair,
    QuizQuestion,
    SectionSummary,
    Summary,
    Term,
)
from .calls import Budget, Caller, output_schema, prompt_language, resolve_languages
from .citations import CitationChecker
from .condense import (
    CitedOut,
    Digester,
    Render,
    checked,
    cited_line,
    clean_item,
    cleaned,
    condense,
    dedupe,
    pages_of,
)

STUDY_PRODUCTS = ("summary", "notes", "cards", "quiz")
MAP_LIMITS = {"key_points": 4, "terms": 3, "facts": 3, "questions": 2}
MAP_MINIMUM = {"key_points": 2, "terms": 1}  # a 0.5B model otherwise answers with empty lists


# ---------------------------------------------------------------------------------------------------------------------
# What the model is asked to return (small, bounded, pages restricted to the ones it was shown)


class _TermOut(BaseModel):
    term: str
    definition: str
    pages: list[int] = Field(min_length=1, max_length=3)


class MapOut(BaseModel):
    key_points: list[CitedOut] = Field(max_length=MAP_LIMITS["key_points"])
    terms: list[_TermOut] = Field(max_length=MAP_LIMITS["terms"])
    facts: list[CitedOut] = Field(max_length=MAP_LIMITS["facts"])
    questions: list[CitedOut] = Field(max_length=MAP_LIMITS["questions"])


class SentencesOut(BaseModel):
    sentences: list[CitedOut]


class _QAOut(BaseModel):
    question: str
    answer: str
    pages: list[int] = Field(min_length=1, max_length=3)


class QAOut(BaseModel):
    pairs: list[_QAOut]


class _QuizOut(BaseModel):
    question: str
    options: list[str] = Field(min_length=4, max_length=4)
    answer: str
    pages: list[int] = Field(min_length=1, max_length=3)


class QuizOut(BaseModel):
    questions: list[_QuizOut]


# ---------------------------------------------------------------------------------------------------------------------
# Prompts and languages


def with_page_markers(chunk: Chunk) -> str:
    """The chunk text with a "[page N]" line wherever a new page starts, so the model can cite it."""
    marks = sorted(chunk.page_marks) or [(0, chunk.page_start)]
    if marks[0][0] != 0:
        marks.insert(0, (0, chunk.page_start))
    parts = []
    for i, (offset, page) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(chunk.text)
        piece = chunk.text[offset:end].strip()
        if piece:
            parts.append(f"[page {page}]\n{piece}")
    return "\n".join(parts) if parts else f"[page {chunk.page_start}]\n{chunk.text.strip()}"


def split_chunk(chunk: Chunk) -> list[Chunk]:
    """Halve a chunk at the line break nearest its middle (page marks follow), for a model whose context is tiny."""
    text = chunk.text
    middle = len(text) // 2
    cut = text.rfind("\n", 0, middle)
    if cut <= 0:
        cut = text.rfind(" ", 0, middle)
    if cut <= 0:
        cut = middle
    marks = sorted(chunk.page_marks) or [(0, chunk.page_start)]
    first_marks = [(o, p) for o, p in marks if o < cut]
    page_at_cut = first_marks[-1][1] if first_marks else chunk.page_start
    second_marks = [(0, page_at_cut)] + [(o - cut, p) for o, p in marks if o > cut]
    halves = []
    for piece, piece_marks in ((text[:cut], first_marks), (text[cut:], second_marks)):
        pages = [p for _, p in piece_marks] or [chunk.page_start]
        halves.append(chunk.model_copy(update=dict(
            text=piece, page_marks=piece_marks, page_start=min(pages), page_end=max(pages), tokens=chunk.tokens // 2)))
    return halves


def map_messages(chunk: Chunk, settings: Settings) -> list[dict]:
    return render_messages(
        "map", settings.prompts_dir, text=with_page_markers(chunk), section=" > ".join(chunk.section),
        limits=MAP_LIMITS, **notes_style(settings),
    )  # fmt: skip


def notes_style(settings: Settings) -> dict:
    """The language, level and instructions every notes prompt is rendered with."""
    return {"language": prompt_language(settings.notes.language), "level": settings.notes.level,
            "instructions": settings.notes.instructions.strip()}



def fit_chunks(chunks: list[Chunk], settings: Settings, budget: Budget) -> list[Chunk]:
    """Body chunks whose map prompt fits the map model's context; a chunk that does not is split until it does (never
    cut)."""
    fitted: list[Chunk] = []
    queue = [c for c in chunks if not c.is_references and c.text.strip()]
    limit = budget.prompt_limit("map")
    while queue:
        chunk = queue.pop(0)
        if budget.count(map_messages(chunk, settings)) <= limit:
            fitted.append(chunk)
        elif len(chunk.text) < 200:
            raise UsageError(f"the model's context ({budget.context_size} tokens) is too small for the map prompt")
        else:
            queue[:0] = split_chunk(chunk)
    return fitted


# ---------------------------------------------------------------------------------------------------------------------
# Map


def map_chunks(chunks: list[Chunk], caller: Caller, settings: Settings) -> list[ChunkNotes]:
    """One call per chunk (concurrently when the LLM allows); a chunk whose answer is unusable yields no notes."""
    requests = []
    for chunk in chunks:
        schema = output_schema(MapOut, chunk.pages, min_items=MAP_MINIMUM)
        label = f"chunk {chunk.index} (pp. {chunk.page_start}-{chunk.page_end})"
        requests.append((map_messages(chunk, settings), schema, label))
    answers = caller.many("map", requests, MapOut, role="map")
    notes = []
    for chunk, answer in zip(chunks, answers):
        if answer is None:
            caller.warnings.append(f"chunk {chunk.index}: no notes (the model's answer was unusable)")
            continue
        notes.append(ChunkNotes(
            chunk=chunk.index, section=chunk.section, pages=chunk.pages,
            key_points=cleaned(answer.key_points), facts=cleaned(answer.facts), questions=cleaned(answer.questions),
            terms=[Term(term=clean_item(t.term), definition=clean_item(t.definition), pages=t.pages)
                   for t in answer.terms if clean_item(t.term) and clean_item(t.definition)],
        ))  # fmt: skip
    return notes


def check_chunk_notes(notes: list[ChunkNotes], checker: CitationChecker) -> list[ChunkNotes]:
    """The notes with every citation checked against the page text (see citations.py)."""
    out = []
    for n in notes:
        terms = []
        for t in n.terms:
            pages = checker.check(f"{t.term}: {t.definition}", t.pages, anchor=t.term, label=f"term, chunk {n.chunk}")
            if pages:
                terms.append(t.model_copy(update={"pages": pages}))
        out.append(n.model_copy(update=dict(
            key_points=checked(n.key_points, checker, f"key point, chunk {n.chunk}"),
            facts=checked(n.facts, checker, f"fact, chunk {n.chunk}"),
            questions=checked(n.questions, checker, f"question, chunk {n.chunk}"), terms=terms)))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Reduce


class Reducer:
    """The reduce calls over notes, all built on `condense` so any length fits."""

    def __init__(self, caller: Caller, settings: Settings, title: str, checker: CitationChecker):
        self.caller = caller
        self.settings = settings
        self.title = title
        self.checker = checker
        self.style = notes_style(settings)
        self.digester = Digester(caller, settings, title, self.style, checker)

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
        answer = self.caller.one(stage, render([cited_line(p) for p in points]),
                                 output_schema(SentencesOut, pages_of(points), sentences=limit), SentencesOut,
                                 label=label)
        if answer is None:
            return []
        return checked(cleaned(answer.sentences), self.checker, label)

    def summary(self, notes: list[ChunkNotes], overview: list[Cited]) -> Summary:
        abstract = self.sentences("abstract", "abstract", overview, self.settings.notes.abstract_sentences, "abstract")
        sections = []
        for title, group in _sections(notes):
            points = dedupe([p for n in group for p in n.points()])
            if not points:
                continue
            pages = sorted({p for n in group for p in n.pages})
            sentences = self.sentences("section", "section", points, self.settings.notes.section_sentences,
                                       f"section {title}", section=title)
            sections.append(SectionSummary(title=title, pages=pages, sentences=sentences))
        return Summary(abstract=abstract, sections=sections)

    def qa(self, overview: list[Cited]) -> list[QAPair]:
        limit = self.settings.notes.qa_pairs
        render = self.render("qa", limit)
        if not overview:
            return []
        answer = self.caller.one("qa", render([cited_line(p) for p in overview]),
                                 output_schema(QAOut, pages_of(overview), {"pairs": limit}, pairs=limit), QAOut,
                                 label="Q&A")
        pairs = []
        for pair in answer.pairs if answer else []:
            question, reply = clean_item(pair.question), clean_item(pair.answer)
            if not question or not reply:
                continue
            pages = self.checker.check(reply, pair.pages, label="Q&A")
            if pages:
                pairs.append(QAPair(question=question, answer=reply, pages=pages))
        return pairs

    def quiz(self, overview: list[Cited]) -> list[QuizQuestion]:
        limit = self.settings.notes.quiz_questions
        render = self.render("quiz", limit)
        if not overview:
            return []
        answer = self.caller.one("quiz", render([cited_line(p) for p in overview]),
                                 output_schema(QuizOut, pages_of(overview), {"questions": limit}, questions=limit),
                                 QuizOut, label="quiz")
        questions = []
        for q in answer.questions if answer else []:
            options = [clean_item(o) for o in q.options]
            if len({o.lower() for o in options}) != 4 or not all(options) or q.answer not in "ABCD":
                self.caller.warnings.append(f"quiz: dropped a question with repeated or empty options: {q.question}")
                continue  # a duplicated or empty option makes the question unanswerable
            correct = options["ABCD".index(q.answer)]
            pages = self.checker.check(f"{q.question} {correct}", q.pages, label="quiz")
            if pages:
                questions.append(QuizQuestion(question=clean_item(q.question), options=options, answer=q.answer,
                                              pages=pages))
        return questions


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
    return dedupe([p for n in notes for p in n.key_points + n.facts])


def glossary(notes: list[ChunkNotes]) -> list[Term]:
    """One entry per term (first definition wins; pages merged), alphabetical."""
    by_term: dict[str, Term] = {}
    for n in notes:
        for t in n.terms:
            key = t.term.lower()
            if key in by_term:
                by_term[key].pages = sorted(set(by_term[key].pages) | set(t.pages))
            else:
                by_term[key] = t.model_copy()
    return sorted(by_term.values(), key=lambda t: t.term.lower())


def flashcards(terms: list[Term], qa: list[QAPair]) -> list[Card]:
    cards = [Card(front=t.term, back=t.definition, pages=t.pages, kind="term") for t in terms]
    cards += [Card(front=p.question, back=p.answer, pages=p.pages, kind="qa") for p in qa]
    return cards


# ---------------------------------------------------------------------------------------------------------------------
# The stage


def overview_render(settings: Settings, title: str) -> Render:
    """The largest of the whole-document prompts (quiz): notes that fit it fit the abstract, Q&A and outline too."""
    style = notes_style(settings)
    return lambda items: render_messages("quiz", settings.prompts_dir, items=items, limit=settings.notes.quiz_questions,
                                         title=title, **style)


def run_notes(
    document: Document,
    chunks: list[Chunk],
    llm,
    settings: Settings,
    cache_dir: str | Path | None = None,
    products: list[str] | tuple[str, ...] = STUDY_PRODUCTS,
) -> NotesResult:
    """Map every body chunk to ChunkNotes and reduce them to the requested products (the data; no file is written).

    `products` may be empty (the script stage still needs the notes). `cache_dir`: the document's answer cache
    (out_dir/.cache), so a rerun of the document makes no calls.
    """
    unknown = [p for p in products if p not in STUDY_PRODUCTS]
    if unknown:
        raise UsageError(f"unknown notes product {unknown[0]!r}: choose from {', '.join(STUDY_PRODUCTS)}")
    settings = resolve_languages(settings, document)
    caller = Caller(llm, settings, Path(cache_dir) if cache_dir else None)
    checker = CitationChecker(document)
    title = document.title or Path(document.source).stem
    result = NotesResult(document=document.sha256, title=title)

    body = fit_chunks(chunks, settings, caller.budget("map"))
    if not body:
        raise UsageError(f"{document.source}: no text to take notes from") if not chunks else \
            UsageError(f"{document.source}: only a references section, no body text to take notes from")
    notes = check_chunk_notes(map_chunks(body, caller, settings), checker)
    result.chunk_notes = notes
    all_points = key_points(notes)
    if not all_points:  # empty notes are never a finished document (nor the ground for a script)
        last = f"; last problem: {caller.warnings[-1]}" if caller.warnings else ""
        raise BackendUnavailable(
            f"{document.source}: no usable notes from any of the {len(body)} chunks (the model's answers were "
            f"unusable or cited pages that do not hold their text){last}"
        )

    reducer = Reducer(caller, settings, title, checker)
    result.overview = reducer.condensed(all_points, "quiz", overview_render(settings, title))
    result.key_points = all_points
    result.glossary = glossary(notes)
    if "summary" in products:
        result.summary = reducer.summary(notes, result.overview)
    if "notes" in products or "cards" in products:
        result.qa = reducer.qa(result.overview)
    if "cards" in products:
        result.cards = flashcards(result.glossary, result.qa)
    if "quiz" in products:
        result.quiz = reducer.quiz(result.overview)

    result.condense_rounds = reducer.digester.rounds
    result.citations = checker.report
    result.calls = caller.calls
    result.cached_calls = caller.cached
    result.warnings = caller.warnings
    return result
