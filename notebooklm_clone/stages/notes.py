"""Study notes from the whole document: map (one LLM call per chunk -> ChunkNotes), then reduce (summary, key points,
glossary, Q&A, flashcards, quiz), every item citing the pages it came from.

Nothing is ever truncated to fit a context: each prompt is rendered and measured with the model's tokenizer before
it is sent, and when the notes of a long document do not fit one call they are condensed hierarchically (packed into
batches that fit, each batch condensed to fewer points, repeated) until they do. `plan_notes` runs the same packing
with worst-case outputs and no model, so the calls a 300-page book needs can be checked against the context up front.

Every LLM answer is cached in `<out>/.cache` under a hash of the rendered prompt, the schema and the model (by identity,
not by the address of its server), so a rerun makes no new calls, and a changed setting, prompt template or chunk
redoes only what it shaped. `llm.use_cache = false` turns this cache off too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..llm.client import SchemaMismatch
from ..llm.prompts import render_messages
from ..models import Chunk, Document
from ..store import JsonCache, atomic_write_json, hash_obj
from ..text.citations import strip_citation_marks
from ..text.lang import language_name
from .citations import CitationChecker, CitationReport, format_pages

PRODUCTS = ("summary", "notes", "cards", "quiz")
MAP_LIMITS = {"key_points": 4, "terms": 3, "facts": 3, "questions": 2}
MAP_MINIMUM = {"key_points": 2, "terms": 1}  # a 0.5B model otherwise answers with empty lists
MAX_TOKENS = {"map": 1024, "digest": 1024, "section": 512, "abstract": 640, "qa": 1024, "quiz": 1536, "outline": 768,
              "script": 768}  # output caps per call; the prompt budget is the context minus these
PROMPT_MARGIN = 96  # tokens for the chat template and the JSON grammar's framing, on top of the counted text
MAX_TEMPERATURE = 0.2  # small models need it low to stay inside the schema and the facts


# ---------------------------------------------------------------------------------------------------------------------
# Data


class Cited(BaseModel):
    text: str
    pages: list[int]

    def line(self) -> str:
        return f"{self.text} {format_pages(self.pages)}"


class Term(BaseModel):
    term: str
    definition: str
    pages: list[int]


class ChunkNotes(BaseModel):
    """What the map stage keeps of one chunk."""

    chunk: int
    section: list[str] = Field(default_factory=list)
    pages: list[int]
    key_points: list[Cited] = Field(default_factory=list)
    terms: list[Term] = Field(default_factory=list)
    facts: list[Cited] = Field(default_factory=list)
    questions: list[Cited] = Field(default_factory=list)

    def points(self) -> list[Cited]:
        return self.key_points + self.facts


class SectionSummary(BaseModel):
    title: str
    pages: list[int]
    sentences: list[Cited] = Field(default_factory=list)


class Summary(BaseModel):
    abstract: list[Cited] = Field(default_factory=list)
    sections: list[SectionSummary] = Field(default_factory=list)


class QAPair(BaseModel):
    question: str
    answer: str
    pages: list[int]


class QuizQuestion(BaseModel):
    question: str
    options: list[str]
    answer: str  # the letter of the correct option
    pages: list[int]

    @property
    def correct(self) -> str:
        return self.options["ABCD".index(self.answer)]


class Card(BaseModel):
    front: str
    back: str
    pages: list[int]
    kind: str  # "term" or "qa"


class NotesResult(BaseModel):
    """Everything the notes stage made; the script stage reads `overview` and `chunk_notes`."""

    document: str  # sha256 of the source
    title: str
    files: dict[str, str] = Field(default_factory=dict)  # output name -> path
    chunk_notes: list[ChunkNotes] = Field(default_factory=list)
    overview: list[Cited] = Field(default_factory=list)  # all points, condensed to fit one call
    summary: Summary | None = None
    key_points: list[Cited] = Field(default_factory=list)
    glossary: list[Term] = Field(default_factory=list)
    qa: list[QAPair] = Field(default_factory=list)
    quiz: list[QuizQuestion] = Field(default_factory=list)
    cards: list[Card] = Field(default_factory=list)
    citations: CitationReport = Field(default_factory=CitationReport)
    calls: dict[str, int] = Field(default_factory=dict)  # stage -> LLM calls made (cache hits excluded)
    cached_calls: int = 0  # answers served from out_dir/.cache
    condense_rounds: int = 0
    warnings: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------------
# What the model is asked to return (small, bounded, pages restricted to the ones it was shown)


class _Item(BaseModel):
    text: str
    pages: list[int] = Field(min_length=1, max_length=3)


class _TermOut(BaseModel):
    term: str
    definition: str
    pages: list[int] = Field(min_length=1, max_length=3)


class MapOut(BaseModel):
    key_points: list[_Item] = Field(max_length=MAP_LIMITS["key_points"])
    terms: list[_TermOut] = Field(max_length=MAP_LIMITS["terms"])
    facts: list[_Item] = Field(max_length=MAP_LIMITS["facts"])
    questions: list[_Item] = Field(max_length=MAP_LIMITS["questions"])


class PointsOut(BaseModel):
    points: list[_Item]


class SentencesOut(BaseModel):
    sentences: list[_Item]


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


def output_schema(model: type[BaseModel], pages: list[int], min_items: dict[str, int] | None = None,
                  **max_items: int) -> dict:
    """The JSON schema of `model` with every "pages" item limited to `pages` and list lengths capped.

    llama.cpp turns the schema into a grammar: the model cannot cite a page it was not shown nor write a 40-item list.
    (No maxLength on strings: llama.cpp's grammar for it is so large that sampling slows to a crawl.)
    """
    schema = model.model_json_schema()
    allowed = sorted(set(pages))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                if "pages" in props and allowed:
                    props["pages"]["items"] = {"type": "integer", "enum": allowed}
                for name, limit in max_items.items():
                    if name in props:
                        props[name]["maxItems"] = limit
                for name, least in (min_items or {}).items():
                    if name in props:
                        props[name]["minItems"] = least
                if "answer" in props and "options" in props:
                    props["answer"] = {"type": "string", "enum": ["A", "B", "C", "D"]}
                node["required"] = list(props)  # every field, so the grammar never skips one
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


# ---------------------------------------------------------------------------------------------------------------------
# Measuring prompts against the context


class Budget:
    """Token arithmetic for one model: how much prompt fits beside a given output."""

    def __init__(self, tokenizer, context_size: int, max_output: int | None = None):
        self.tokenizer = tokenizer
        self.context_size = context_size
        self.max_output = max_output

    @classmethod
    def of(cls, llm) -> "Budget":
        caps = llm.capabilities
        return cls(llm.tokenizer, caps.context_size, getattr(caps, "max_output_tokens", None))

    def output(self, stage: str) -> int:
        want = MAX_TOKENS[stage]
        if self.max_output:
            want = min(want, self.max_output)
        return min(want, self.context_size // 3)

    def prompt_limit(self, stage: str) -> int:
        return self.context_size - self.output(stage) - PROMPT_MARGIN

    def count(self, messages: list[dict]) -> int:
        return sum(self.tokenizer.count(m["content"]) + 6 for m in messages)


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
        limits=MAP_LIMITS, **_style(settings),
    )  # fmt: skip


def _style(settings: Settings) -> dict:
    return {"language": prompt_language(settings.notes.language), "level": settings.notes.level,
            "instructions": settings.notes.instructions.strip()}


AUTO_LANGUAGE = ("", "auto")


def resolve_languages(settings: Settings, document: Document) -> Settings:
    """Settings with notes.language and script.language set to the document's language where they are "auto"; a
    language set explicitly is kept."""
    detected = language_name(document.language or "en")
    overrides = {f"{section}.language": detected for section in ("notes", "script")
                 if getattr(settings, section).language.strip().lower() in AUTO_LANGUAGE}
    return settings.with_overrides(**overrides) if overrides else settings


def prompt_language(language: str) -> str:
    """The language a prompt asks for; "auto" unresolved (planning without a document) is measured as English."""
    return "English" if language.strip().lower() in AUTO_LANGUAGE else language


def fit_chunks(chunks: list[Chunk], settings: Settings, budget: Budget) -> list[Chunk]:
    """Body chunks whose map prompt fits the context; a chunk that does not is split until it does (never cut)."""
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


def pack(items: list[str], render: Callable[[list[str]], list[dict]], budget: Budget, stage: str) -> list[list[str]]:
    """Greedy batches of consecutive items whose rendered prompt fits `stage`'s prompt limit (checked, not guessed)."""
    limit = budget.prompt_limit(stage)
    base = budget.count(render([]))
    batches: list[list[str]] = []
    current: list[str] = []
    size = base
    for item in items:
        cost = budget.tokenizer.count(item) + 1
        if base + cost > limit:
            raise UsageError(f"one note is longer than the model's context allows ({cost} tokens): {item[:60]}...")
        if current and size + cost > limit:
            batches.append(current)
            current, size = [], base
        current.append(item)
        size += cost
    if current:
        batches.append(current)
    checked: list[list[str]] = []
    for batch in batches:  # the sum of parts can undercount the whole by a token here and there: verify
        while len(batch) > 1 and budget.count(render(batch)) > limit:
            checked.append(batch[: len(batch) // 2])
            batch = batch[len(batch) // 2:]
        checked.append(batch)
    return checked


def condense(
    points: list[Cited],
    render: Callable[[list[str]], list[dict]],
    digest: Callable[[list[Cited], int], list[Cited]],
    budget: Budget,
    stage: str,
    on_round: Callable[[int, int], None] | None = None,
) -> list[Cited]:
    """Shrink `points` until `render(points)` fits `stage`'s prompt: batches that fit a digest call are condensed to
    fewer points, and the result is packed again, hierarchically, as many rounds as a long document needs."""
    rounds = 0
    while budget.count(render([p.line() for p in points])) > budget.prompt_limit(stage):
        batches = _batches_of(points, budget)
        condensed: list[Cited] = []
        for batch in batches:
            condensed.extend(digest(batch, max(3, min(10, len(batch) // 3))))
        rounds += 1
        if on_round:
            on_round(rounds, len(batches))
        if len(condensed) >= len(points) and budget.count(render([p.line() for p in condensed])) >= budget.count(
            render([p.line() for p in points])
        ):
            raise BackendUnavailable("condensing the notes did not make them shorter; the model ignores the limits")
        points = condensed
    return points


def _batches_of(points: list[Cited], budget: Budget) -> list[list[Cited]]:
    lines = [p.line() for p in points]
    batches = pack(lines, lambda items: _digest_messages(items, 12, "notes", None, {}), budget, "digest")
    out, start = [], 0
    for batch in batches:
        out.append(points[start:start + len(batch)])
        start += len(batch)
    return out


def _digest_messages(items: list[str], limit: int, title: str, prompts_dir: str | None, style: dict) -> list[dict]:
    style = style or {"language": "English", "level": "intro", "instructions": ""}
    return render_messages("digest", prompts_dir, items=items, limit=limit, title=title, **style)


# ---------------------------------------------------------------------------------------------------------------------
# Calling the model, with the answer cache in out_dir/.cache


class Caller:
    """Sends prompts (measured first) and caches the validated answers by hash(prompt, schema, model identity);
    with llm.use_cache = false nothing is cached."""

    def __init__(self, llm, settings: Settings, cache_dir: Path, budget: Budget):
        self.llm = llm
        self.settings = settings
        self.cache = JsonCache(cache_dir / "calls") if settings.llm.use_cache else None
        self.budget = budget
        self.calls: dict[str, int] = {}
        self.cached = 0
        self.warnings: list[str] = []

    def _request(self, stage: str, messages: list[dict], schema: dict, label: str, role: str) -> dict:
        max_tokens = self.budget.output(stage)
        used = self.budget.count(messages)
        if used + max_tokens + PROMPT_MARGIN > self.budget.context_size:
            raise AssertionError(f"{stage} prompt of {used} tokens overflows the {self.budget.context_size} context")
        temperature = min(self.settings.llm.temperature, MAX_TEMPERATURE)
        key = hash_obj("v2", self.llm.model_identity(role), messages, schema, max_tokens, temperature)
        return dict(key=key, kwargs=dict(messages=messages, schema=schema, stage=stage, label=label,
                                         max_tokens=max_tokens, temperature=temperature, role=role))

    def many(self, stage: str, requests: list[tuple[list[dict], dict, str]], model: type[BaseModel],
             role: str = "default") -> list[BaseModel | None]:
        """Answers for (messages, schema, label) requests in order; None where the model's answer was unusable."""
        prepared = [self._request(stage, m, s, label, role) for m, s, label in requests]
        results: list[Any] = [self.cache.get(p["key"]) if self.cache is not None else None for p in prepared]
        missing = [i for i, r in enumerate(results) if r is None]
        self.cached += len(prepared) - len(missing)
        if missing:
            completions = self._complete([prepared[i]["kwargs"] for i in missing])
            self.calls[stage] = self.calls.get(stage, 0) + len(missing)
            for i, completion in zip(missing, completions):
                data = _answer_data(completion)
                if data is not None and self.cache is not None:
                    self.cache.put(prepared[i]["key"], data)
                results[i] = data
        parsed: list[BaseModel | None] = []
        for p, data in zip(prepared, results):
            try:
                parsed.append(model.model_validate(data) if data is not None else None)
            except ValidationError as exc:
                self.warnings.append(f"{p['kwargs']['label'] or stage}: unusable answer ({exc.errors()[0]['msg']})")
                parsed.append(None)
        return parsed

    def _complete(self, requests: list[dict]) -> list[Any]:
        """Completions in order; a request whose answer never matched the schema (SchemaMismatch) gives None and a
        warning instead of failing the document. Any other failure (an outage, a refused key) raises."""
        try:
            return self.llm.complete_many(requests)
        except SchemaMismatch:
            pass
        results = []  # answers received before the failure are in the LLM's response cache: redoing them is free
        for request in requests:
            try:
                results.append(self.llm.complete(**request))
            except SchemaMismatch as exc:
                self.warnings.append(f"{request['label'] or request['stage']}: {exc}")
                results.append(None)
        return results

    def one(self, stage: str, messages: list[dict], schema: dict, model: type[BaseModel], label: str = "",
            role: str = "default") -> BaseModel | None:
        return self.many(stage, [(messages, schema, label)], model, role)[0]


def _answer_data(completion) -> dict | None:
    if isinstance(completion, BaseException) or completion is None:
        return None
    data = getattr(completion, "data", None)
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, dict):
        return data
    try:
        parsed = json.loads(getattr(completion, "text", "") or "")
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


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
            key_points=[Cited(text=_clean(i.text), pages=i.pages) for i in answer.key_points if _clean(i.text)],
            terms=[Term(term=_clean(t.term), definition=_clean(t.definition), pages=t.pages)
                   for t in answer.terms if _clean(t.term) and _clean(t.definition)],
            facts=[Cited(text=_clean(i.text), pages=i.pages) for i in answer.facts if _clean(i.text)],
            questions=[Cited(text=_clean(i.text), pages=i.pages) for i in answer.questions if _clean(i.text)],
        ))  # fmt: skip
    return notes


def _clean(text: str) -> str:
    """One line, no bullet marks, and no "(p. 6)" of the model's own: the checked pages are appended when written."""
    return " ".join(strip_citation_marks(text).split()).strip(" -*•")


def check_chunk_notes(notes: list[ChunkNotes], checker: CitationChecker) -> list[ChunkNotes]:
    checked = []
    for n in notes:
        def cited(items: list[Cited], kind: str) -> list[Cited]:
            out = []
            for item in items:
                pages = checker.check(item.text, item.pages, label=f"{kind}, chunk {n.chunk}")
                if pages:
                    out.append(item.model_copy(update={"pages": pages}))
            return out

        terms = []
        for t in n.terms:
            pages = checker.check(f"{t.term}: {t.definition}", t.pages, anchor=t.term, label=f"term, chunk {n.chunk}")
            if pages:
                terms.append(t.model_copy(update={"pages": pages}))
        checked.append(n.model_copy(update=dict(
            key_points=cited(n.key_points, "key point"), facts=cited(n.facts, "fact"),
            questions=cited(n.questions, "question"), terms=terms)))
    return checked


# ---------------------------------------------------------------------------------------------------------------------
# Reduce


def _pages_of(points: list[Cited]) -> list[int]:
    return sorted({p for point in points for p in point.pages})


def _dedupe(points: list[Cited]) -> list[Cited]:
    seen, out = set(), []
    for p in points:
        key = " ".join(p.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


class Reducer:
    """The reduce calls over notes, all built on `condense` so any length fits."""

    def __init__(self, caller: Caller, settings: Settings, title: str, checker: CitationChecker):
        self.caller = caller
        self.settings = settings
        self.title = title
        self.checker = checker
        self.style = _style(settings)
        self.rounds = 0

    def render(self, template: str, limit: int, **extra) -> Callable[[list[str]], list[dict]]:
        return lambda items: render_messages(template, self.settings.prompts_dir, items=items, limit=limit,
                                             title=self.title, **self.style, **extra)

    def digest(self, batch: list[Cited], limit: int) -> list[Cited]:
        messages = _digest_messages([p.line() for p in batch], limit, self.title, self.settings.prompts_dir, self.style)
        answer = self.caller.one("digest", messages, output_schema(PointsOut, _pages_of(batch), points=limit),
                                 PointsOut, label="condense notes")
        if answer is None:  # keep the batch's first points rather than lose the span
            return batch[:limit]
        points = self._check([Cited(text=_clean(i.text), pages=i.pages) for i in answer.points], "condensed point")
        return points or batch[:limit]

    def condensed(self, points: list[Cited], stage: str, render) -> list[Cited]:
        def count_round(rounds: int, batches: int) -> None:
            self.rounds += 1

        return condense(points, render, self.digest, self.caller.budget, stage, on_round=count_round)

    def _check(self, items: list[Cited], kind: str) -> list[Cited]:
        out = []
        for item in items:
            pages = self.checker.check(item.text, item.pages, label=kind)
            if pages:
                out.append(item.model_copy(update={"pages": pages}))
        return out

    def sentences(self, template: str, stage: str, points: list[Cited], limit: int, label: str, **extra) -> list[Cited]:
        render = self.render(template, limit, **extra)
        points = self.condensed(points, stage, render)
        if not points:
            return []
        answer = self.caller.one(stage, render([p.line() for p in points]),
                                 output_schema(SentencesOut, _pages_of(points), sentences=limit), SentencesOut,
                                 label=label)
        if answer is None:
            return []
        sentences = [Cited(text=_clean(i.text), pages=i.pages) for i in answer.sentences if _clean(i.text)]
        return self._check(sentences, label)

    def summary(self, notes: list[ChunkNotes], overview: list[Cited]) -> Summary:
        abstract = self.sentences("abstract", "abstract", overview, self.settings.notes.abstract_sentences, "abstract")
        sections = []
        for title, group in _sections(notes):
            points = _dedupe([p for n in group for p in n.points()])
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
        answer = self.caller.one("qa", render([p.line() for p in overview]),
                                 output_schema(QAOut, _pages_of(overview), {"pairs": limit}, pairs=limit), QAOut,
                                 label="Q&A")
        pairs = []
        for pair in answer.pairs if answer else []:
            question, reply = _clean(pair.question), _clean(pair.answer)
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
        answer = self.caller.one("quiz", render([p.line() for p in overview]),
                                 output_schema(QuizOut, _pages_of(overview), {"questions": limit}, questions=limit),
                                 QuizOut, label="quiz")
        questions = []
        for q in answer.questions if answer else []:
            options = [_clean(o) for o in q.options]
            if len({o.lower() for o in options}) != 4 or not all(options) or q.answer not in "ABCD":
                self.caller.warnings.append(f"quiz: dropped a question with repeated or empty options: {q.question}")
                continue  # a duplicated or empty option makes the question unanswerable
            correct = options["ABCD".index(q.answer)]
            pages = self.checker.check(f"{q.question} {correct}", q.pages, label="quiz")
            if pages:
                questions.append(QuizQuestion(question=_clean(q.question), options=options, answer=q.answer,
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
    return _dedupe([p for n in notes for p in n.key_points + n.facts])


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


def overview_render(settings: Settings, title: str) -> Callable[[list[str]], list[dict]]:
    """The largest of the whole-document prompts (quiz): notes that fit it fit the abstract, Q&A and outline too."""
    style = _style(settings)
    return lambda items: render_messages("quiz", settings.prompts_dir, items=items, limit=settings.notes.quiz_questions,
                                         title=title, **style)


def run_notes(
    document: Document,
    chunks: list[Chunk],
    llm,
    settings: Settings,
    out_dir: str | Path,
    products: list[str] | tuple[str, ...] = PRODUCTS,
) -> NotesResult:
    """Map every body chunk to ChunkNotes, reduce them to the requested products and write those under `out_dir`.

    `products` may be empty (the script stage still needs the notes). Returns the data plus the files written.
    """
    from ..outputs.study import write_outputs

    unknown = [p for p in products if p not in PRODUCTS]
    if unknown:
        raise UsageError(f"unknown notes product {unknown[0]!r}: choose from {', '.join(PRODUCTS)}")
    out_dir = Path(out_dir)
    settings = resolve_languages(settings, document)
    budget = Budget.of(llm)
    caller = Caller(llm, settings, out_dir / ".cache", budget)
    checker = CitationChecker(document)
    title = document.title or Path(document.source).stem
    result = NotesResult(document=document.sha256, title=title)

    body = fit_chunks(chunks, settings, budget)
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

    result.condense_rounds = reducer.rounds
    result.citations = checker.report
    result.calls = caller.calls
    result.cached_calls = caller.cached
    result.warnings = caller.warnings
    result.files = write_outputs(result, document, out_dir, products)
    if products:  # all the data, citations report included (report.json lists it); a script-only run keeps it as is
        result.files["notes_data"] = str(atomic_write_json(out_dir / "notes.json", result))
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Planning without a model


class PlannedCall(BaseModel):
    stage: str
    prompt_tokens: int
    max_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.max_tokens + PROMPT_MARGIN


def plan_notes(chunks: list[Chunk], settings: Settings, tokenizer, context_size: int,
               max_output: int | None = None, sections: int | None = None) -> list[PlannedCall]:
    """Every call `run_notes` would make for these chunks if each answer were as long as allowed (the worst case),
    with its prompt rendered and measured. Nothing is sent anywhere."""
    budget = Budget(tokenizer, context_size, max_output)
    planned: list[PlannedCall] = []

    def record(stage: str, messages: list[dict]) -> None:
        planned.append(PlannedCall(stage=stage, prompt_tokens=budget.count(messages), max_tokens=budget.output(stage)))

    body = fit_chunks(chunks, settings, budget)
    for chunk in body:
        record("map", map_messages(chunk, settings))

    def worst_case_points(tokens: int, pages: list[int], count: int) -> list[Cited]:
        filler = "The study measured 1234 widgets across many careful trials and reported results"  # ~15 tokens
        per = max(1, tokens // max(1, count))
        words = " ".join([filler] * max(1, per // 15))
        return [Cited(text=words, pages=pages[:1]) for _ in range(count)]

    points: list[Cited] = []
    for chunk in body:
        points += worst_case_points(budget.output("map"), chunk.pages, MAP_LIMITS["key_points"] + MAP_LIMITS["facts"])

    def digest(batch: list[Cited], limit: int) -> list[Cited]:
        lines = [p.line() for p in batch]
        record("digest", _digest_messages(lines, limit, "notes", settings.prompts_dir, _style(settings)))
        return worst_case_points(budget.output("digest"), _pages_of(batch), limit)

    title = "A planned document"
    render = overview_render(settings, title)
    overview = condense(points, render, digest, budget, "quiz")
    for stage in ("abstract", "qa", "quiz"):
        limit = {"abstract": settings.notes.abstract_sentences, "qa": settings.notes.qa_pairs,
                 "quiz": settings.notes.quiz_questions}[stage]
        record(stage, render_messages(stage, settings.prompts_dir, items=[p.line() for p in overview], limit=limit,
                                      title=title, **_style(settings)))
    per_section = max(1, len(points) // max(1, sections or 1))
    for start in range(0, len(points), per_section):
        section_points = points[start:start + per_section]
        section_render = lambda items: render_messages(  # noqa: E731
            "section", settings.prompts_dir, items=items, limit=settings.notes.section_sentences, title=title,
            section="A section", **_style(settings))
        section_points = condense(section_points, section_render, digest, budget, "section")
        record("section", section_render([p.line() for p in section_points]))
    return planned
