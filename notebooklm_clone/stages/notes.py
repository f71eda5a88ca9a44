"""Study notes from the whole document: map (one LLM call per chunk -> ChunkNotes), then reduce (summary, key points,
glossary, Q&A, flashcards, quiz), every item resting on verbatim source sentences.

The map prompt shows a chunk as numbered source sentences and the model answers with the ids each note rests on, so
every note comes with its evidence; grounding.py checks each note against it, relocates, rewrites once (one call
per chunk for all its failed notes, while rewriting rescues any), quotes or drops it; coverage.py adds what no note
took. Reduce steps (reduce.py, quiz.py) work on those grounded points by id in the same way.

Nothing is ever truncated to fit a context: a chunk whose map prompt does not fit is split, and notes too long for
one call are condensed (condense.py). Calls go through `LLM.complete`, which caches every answer (also in the
document's `<out>/.cache`), so a rerun makes no new calls, and a changed setting, prompt template or chunk redoes only
what it shaped. The stage returns a NotesResult; outputs/study.py writes the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..llm.prompts import render_messages
from ..models import (
    Chunk,
    ChunkNotes,
    Cited,
    Document,
    GroundingCounts,
    NotesResult,
    Question,
    SourceSentence,
    Summary,
    Term,
    Theme,
)
from .calls import Budget, Caller, output_schema, resolve_languages
from .condense import Render
from .coverage import by_section, every_definition_noted, every_highlight_noted, every_section_noted
from .evidence import numbered_sentences, sentences_in
from .grounding import (
    Attempt,
    Source,
    after_rewrite,
    circular,
    clean_text,
    count,
    drop_duplicates,
    emphasized,
    first_pass,
    highlighted,
    pages_of_evidence,
    quote_text,
    quoted_by_id,
    says_open,
)
from .reduce import Reducer, flashcards, glossary, key_points, notes_style
from .questions import about_the_content, asks_one_thing
from .themes import shared_themes, source_by_page
from .verify import gives_what_is_asked

STUDY_PRODUCTS = ("summary", "notes", "cards", "quiz")
MAP_LIMITS = {"key_points": 4, "terms": 3, "facts": 3, "questions": 2}
# a 0.5B model otherwise answers with empty lists, and the 1.5B asked for ids gives no questions (0 on a 9-page paper)
MAP_MINIMUM = {"key_points": 2, "terms": 1, "questions": 1}
MAX_TERM_WORDS = 6
MAP_PROBE = 2  # chunks mapped with written notes before judging whether the model's notes hold as written ...
MAP_MIN_WRITTEN = 0.3  # ... the share of its written key points and terms that must hold and condense their evidence
CONDENSED = 0.8  # a written note of more words than this share of its evidence's is a copy: quoting gives the same
REWRITE_PROBE = 2  # rewrite calls made before judging whether rewriting rescues notes at all ...
REWRITE_MIN_RESCUED = 0.2  # ... the share of their notes it must rescue for the other chunks' calls to be made


# ---------------------------------------------------------------------------------------------------------------------
# What the model is asked to return: sentence ids first (restricted by the schema to the ones it was shown), then the
# text written from them


class _ItemOut(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=2)
    text: str


class _TermOut(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=2)
    term: str
    definition: str


def _sentence_ids(limit: int) -> Any:
    """A list of sentence ids (output_schema limits them to those shown): ["s3", "s7"] costs the 1.5B model a third
    of the tokens of [{"ids": ["s3"]}, {"ids": ["s7"]}] as it spaces them, and a chosen sentence is quoted alone
    (with the one before when it points back to it, Source.with_referent)."""
    return Field(max_length=limit, json_schema_extra={"sentence_ids": True})


class MapOut(BaseModel):
    key_points: list[_ItemOut] = Field(max_length=MAP_LIMITS["key_points"])
    terms: list[_TermOut] = Field(max_length=MAP_LIMITS["terms"])
    facts: list[str] = _sentence_ids(MAP_LIMITS["facts"])  # quoted as written: copying costs tokens
    questions: list[_ItemOut] = Field(max_length=MAP_LIMITS["questions"])


class MapSelectOut(BaseModel):  # the map answer of a model whose written notes do not hold: sentences by id, and
    key_points: list[str] = _sentence_ids(MAP_LIMITS["key_points"])  # no terms: coverage.py finds them
    facts: list[str] = _sentence_ids(MAP_LIMITS["facts"])
    questions: list[_ItemOut] = Field(max_length=MAP_LIMITS["questions"])


class RewritesOut(BaseModel):
    rewrites: list[str]


# ---------------------------------------------------------------------------------------------------------------------
# Prompts and languages


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


def map_messages(sentences: list[SourceSentence], section: list[str], settings: Settings,
                 select: bool = False) -> list[dict]:
    return render_messages(
        "map", settings.prompts_dir, text=numbered_sentences(sentences), section=" > ".join(section),
        limits=MAP_LIMITS, select=select, **notes_style(settings),
    )  # fmt: skip


def fit_chunks(chunks: list[Chunk], source: Source, settings: Settings, budget: Budget) -> list[Chunk]:
    """Body chunks with clean sentences whose map prompt fits the map model's context; a chunk that does not is split
    until it does (never cut)."""
    fitted: list[Chunk] = []
    queue = [c for c in chunks if not c.is_references and c.text.strip()]
    limit = budget.prompt_limit("map")
    while queue:
        chunk = queue.pop(0)
        sentences = source.offered(sentences_in(chunk, source.index))
        if not sentences:
            continue  # only debris (an equation, a table of numbers): nothing to take notes from
        if budget.count(map_messages(sentences, chunk.section, settings)) <= limit:
            fitted.append(chunk)
        elif len(chunk.text) < 200:
            raise UsageError(f"the model's context ({budget.context_size} tokens) is too small for the map prompt")
        else:
            queue[:0] = split_chunk(chunk)
    return fitted


# ---------------------------------------------------------------------------------------------------------------------
# Map


class _Draft:
    """One chunk's notes between the first pass and the rewrite: (kind, attempt, term) in answer order."""

    def __init__(self, chunk: Chunk, sentences: list[SourceSentence]):
        self.chunk = chunk
        self.sentences = sentences
        self.items: list[tuple[str, Attempt, str]] = []

    def failed(self) -> list[tuple[str, Attempt, str]]:
        return [item for item in self.items if not item[1].how and item[1].evidence and item[0] != "questions"]


def map_chunks(chunks: list[Chunk], source: Source, caller: Caller, settings: Settings,
               counts: dict[str, GroundingCounts]) -> list[ChunkNotes]:
    """One call per chunk, every note grounded; one rewrite call per chunk with notes its evidence does not support.
    A model known to copy or garble what it condenses (ModelCapabilities.writes_notes False) is asked for sentence ids
    from the first chunk; one not known is, when under MAP_MIN_WRITTEN of the first chunks' written key points and terms
    hold and condense their sentences (on a 9-page paper 36 of the 1.5B model's 37 held notes were copies). Chosen
    sentences are quoted: writing costs most of the map's generated tokens for notes no better than the quote. A chunk
    whose answer is unusable yields no notes."""
    drafts = [_Draft(chunk, source.offered(sentences_in(chunk, source.index))) for chunk in chunks]
    writes = caller.llm.capabilities_for(caller.llm.model_for("map")).writes_notes
    written = held = 0
    for batch in (slice(0, MAP_PROBE), slice(MAP_PROBE, None)):
        probed = bool(batch.start and writes is None and written and held < MAP_MIN_WRITTEN * written)
        select = writes is False or probed
        if probed and drafts[batch]:
            caller.warnings.append(f"map: {held} of the first {written} written notes held and condensed their "
                                   f"sentences; those of {len(drafts[batch])} more chunks are chosen by id, quoted")
        model, requests = MapSelectOut if select else MapOut, []
        for draft in drafts[batch]:
            schema = output_schema(model, draft.chunk.pages, min_items=MAP_MINIMUM, ids=[s.id for s in draft.sentences])
            label = f"chunk {draft.chunk.index} (pp. {draft.chunk.page_start}-{draft.chunk.page_end})"
            requests.append((map_messages(draft.sentences, draft.chunk.section, settings, select), schema, label))
        answers = caller.many("map", requests, model, role="map")
        for draft, answer in zip(drafts[batch], answers):
            if answer is None:
                caller.warnings.append(f"chunk {draft.chunk.index}: no notes (the model's answer was unusable)")
                continue
            _take(draft, answer, source, counts)
            tried = [a for kind, a, _ in draft.items if kind in ("key_points", "terms") and a.how != "quoted"]
            written, held = written + len(tried), held + sum(bool(a.how) and _condensed(a) for a in tried)
        caller.quoting |= select  # a model that copies what it is asked to condense: later steps choose, not write
    rewrites = _rewrite(drafts, source, caller, settings)
    notes = [_finish(draft, source, rewrites.get(id(draft), []), counts) for draft in drafts]
    return _without_repeats([n for n in notes if n is not None], source.language, counts)


def _condensed(attempt: Attempt) -> bool:
    return len(attempt.text.split()) <= CONDENSED * len(quote_text(attempt.evidence).split())


def _take(draft: _Draft, answer: MapOut | MapSelectOut, source: Source, counts: dict[str, GroundingCounts]) -> None:
    """A chunk's map answer, each item through its first pass (chosen sentences are quoted)."""
    chosen = dict.fromkeys((kind, item) for kind in ("key_points", "facts") for item in getattr(answer, kind)
                           if isinstance(item, str))  # facts, and a select answer's key points: sentence ids
    for kind, item in chosen:
        quoted = quoted_by_id(source, [item], draft.sentences)
        if quoted is None:
            count(counts["key_points"], "")
        else:
            draft.items.append((kind, quoted, ""))
    for kind in ("key_points", "questions"):
        for item in getattr(answer, kind):
            if isinstance(item, _ItemOut):
                draft.items.append((kind, first_pass(source, item.text, item.ids, draft.sentences,
                                                     question=kind == "questions"), ""))
    for t in answer.terms if isinstance(answer, MapOut) else []:
        term_attempt = _term_first_pass(source, t, draft.sentences)
        if term_attempt is None:
            count(counts["glossary"], "")
        else:
            draft.items.append(("terms", *term_attempt))


def _term_first_pass(source: Source, t: _TermOut, sentences: list[SourceSentence]) -> tuple[Attempt, str] | None:
    """A glossary term the passage uses, with a definition its evidence supports; the evidence moves to a sentence
    that uses the term (a defining one first) when the chosen ones do not."""
    term = clean_text(t.term).strip(" .:;,")
    if not term or len(term.split()) > MAX_TERM_WORDS:
        return None
    using = source.uses(term, sentences)
    if not using:
        return None  # a term the passage does not use is a textbook entry, not a note on this document
    chosen = source.evidence(t.ids)
    ids = [e.sentence_id for e in chosen if e.sentence_id in {s.id for s in using}] or [using[0].id]
    return first_pass(source, f"{term}: {clean_text(t.definition)}", ids, []), term


def _rewrite(drafts: list[_Draft], source: Source, caller: Caller, settings: Settings) -> dict[int, list[str]]:
    """One rewrite call per chunk with failed notes: each note with its source sentences, rewritten from them. When
    the first calls rescue almost none (a small model rewrites what it wrote), the other chunks' failed notes are
    quoted without a call: the calls would cost minutes and change nothing."""
    requests, owners = [], []
    for draft in drafts:
        failed = draft.failed()
        if not failed:
            continue
        items = [{"text": attempt.text, "source": " ".join(" ".join(e.quote.split()) for e in attempt.evidence)}
                 for _, attempt, _ in failed]
        messages = render_messages("rewrite", settings.prompts_dir, items=items,
                                   terms=any(kind == "terms" for kind, _, _ in failed), **notes_style(settings))
        schema = output_schema(RewritesOut, [], rewrites=len(items))
        schema["properties"]["rewrites"]["minItems"] = len(items)
        requests.append((messages, schema, f"rewrite, chunk {draft.chunk.index}"))
        owners.append(draft)
    rewrites: dict[int, list[str]] = {}
    tried = rescued = 0
    for batch in (slice(0, REWRITE_PROBE), slice(REWRITE_PROBE, None)):
        if batch.start and tried and rescued < REWRITE_MIN_RESCUED * tried:
            caller.quoting = True  # also for a short document, whose probe was all its rewrites
            if requests[batch]:
                caller.warnings.append(f"rewrite: the first {REWRITE_PROBE} calls rescued {rescued} of {tried} "
                                       f"unsupported notes; those of {len(requests[batch])} more chunks are quoted")
            break
        answers = caller.many("rewrite", requests[batch], RewritesOut, role="map") if requests[batch] else []
        for draft, answer in zip(owners[batch], answers):
            got = rewrites[id(draft)] = answer.rewrites if answer else []
            for at, (kind, attempt, term) in enumerate(draft.failed()):
                text = got[at] if at < len(got) else None
                tried += 1
                rescued += after_rewrite(source, attempt, _named(kind, term, text)).how == "rewritten"
    return rewrites


def _named(kind: str, term: str, rewrite: str | None) -> str | None:
    """A glossary rewrite starts with its term, as the first pass did."""
    if kind == "terms" and rewrite and not clean_text(rewrite).lower().startswith(term.lower()):
        return f"{term}: {rewrite}"
    return rewrite


def _finish(draft: _Draft, source: Source, rewrites: list[str],
            counts: dict[str, GroundingCounts]) -> ChunkNotes | None:
    """The chunk's notes once every failed one is rewritten, quoted or dropped."""
    if not draft.items:
        return None
    failed = {id(attempt): i for i, (_, attempt, _) in enumerate(draft.failed())}
    notes = ChunkNotes(chunk=draft.chunk.index, section=draft.chunk.section, pages=draft.chunk.pages)
    for kind, attempt, term in draft.items:
        output = "glossary" if kind == "terms" else "questions" if kind == "questions" else "key_points"
        at = failed.get(id(attempt))
        rewrite = _named(kind, term, rewrites[at] if at is not None and at < len(rewrites) else None)
        done = after_rewrite(source, attempt, rewrite, quote_allowed=kind != "questions")
        if kind == "questions" and done.how and not (asks_one_thing(done.text)
                                                     and about_the_content(done.text, quote_text(done.evidence))):
            done.how = ""  # several run together ("What is the capital? What are ...?"), "this dataset", the layout
        if kind == "questions" and done.how and not says_open(done.evidence) \
                and not gives_what_is_asked(done.text, quote_text(done.evidence)):
            done.how = ""  # "why?" where the document gives no reason: nothing to check oneself on
        if kind == "terms" and done.how == "quoted" and not source.defines(term, done.text):
            done.how = ""  # a sentence that only uses the term is no definition of it
        if kind == "terms" and done.how and circular(term, done.text.split(":", 1)[-1]):
            done.how = ""  # "meta-game: a toolkit ... into a playful meta-game": the term explained by itself
        count(counts[output], done.how)
        if not done.how:
            continue
        pages = pages_of_evidence(done.evidence)
        if kind == "terms":
            definition = done.text.split(":", 1)[1].strip() if done.how != "quoted" and ":" in done.text else done.text
            notes.terms.append(Term(term=term, definition=definition, pages=pages, evidence=done.evidence,
                                    grounding=done.how))
        elif kind == "questions":
            notes.questions.append(Question(text=done.text, pages=pages, evidence=done.evidence, grounding=done.how,
                                            open=says_open(done.evidence)))
        else:
            getattr(notes, kind).append(Cited(text=done.text, pages=pages, evidence=done.evidence, grounding=done.how))
    return notes


def _without_repeats(notes: list[ChunkNotes], language: str, counts: dict[str, GroundingCounts]) -> list[ChunkNotes]:
    """Near-duplicate notes removed across the whole document (chunks overlap, and a point recurs in a paper), the
    first one kept where it first appears."""
    seen: list[str] = []
    questions: list[str] = []
    out = []
    for n in notes:
        key = drop_duplicates(n.key_points, lambda c: c.text, language, counts["key_points"], seen)
        seen += [c.text for c in key]
        facts = drop_duplicates(n.facts, lambda c: c.text, language, counts["key_points"], seen)
        seen += [c.text for c in facts]
        asked = drop_duplicates(n.questions, lambda c: c.text, language, counts["questions"], questions)
        questions += [q.text for q in asked]
        out.append(n.model_copy(update=dict(key_points=key, facts=facts, questions=asked)))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# The stage


def overview_render(settings: Settings, title: str) -> Render:
    """The largest of the whole-document prompts (quiz): notes that fit it fit the abstract, Q&A and outline too."""
    style = notes_style(settings)
    return lambda items: render_messages("quiz", settings.prompts_dir, items=items, limit=settings.notes.quiz_questions,
                                         title=title, **style)


def notebook_themes(points: list[Cited], terms: list[Term], source: Source) -> list[Theme]:
    """A notebook's themes shared by two or more of its sources (stages/themes.py); none for a single document."""
    page_sources = source.document.page_sources
    if len({name for name, _ in page_sources.values()}) < 2:
        return []
    sentences: dict[str, list[str]] = {}
    for sentence in source.offered(source.index):
        sentences.setdefault(page_sources.get(sentence.page, ("", 0))[0], []).append(sentence.text)
    titles = list(dict.fromkeys(s.section[0] for s in source.index if s.section))
    return shared_themes(points, source_by_page(page_sources), sentences, titles, source.language,
                         [t.term for t in terms])


def run_notes(
    document: Document,
    chunks: list[Chunk],
    llm,
    settings: Settings,
    cache_dir: str | Path | None = None,
    products: list[str] | tuple[str, ...] = STUDY_PRODUCTS,
) -> NotesResult:
    """Map every body chunk to grounded ChunkNotes and reduce them to the requested products (the data; no file is
    written).

    `products` may be empty (the script stage still needs the notes). `cache_dir`: the document's answer cache
    (out_dir/.cache), so a rerun of the document makes no calls.
    """
    unknown = [p for p in products if p not in STUDY_PRODUCTS]
    if unknown:
        raise UsageError(f"unknown notes product {unknown[0]!r}: choose from {', '.join(STUDY_PRODUCTS)}")
    settings = resolve_languages(settings, document)
    caller = Caller(llm, settings, Path(cache_dir) if cache_dir else None)
    source = Source(document)
    title = document.title or Path(document.source).stem
    result = NotesResult(document=document.sha256, title=title)
    counts = {name: GroundingCounts() for name in ("key_points", "glossary", "questions", "summary", "qa", "quiz")}

    body = fit_chunks(chunks, source, settings, caller.budget("map"))
    if not body:
        raise UsageError(f"{document.source}: no text to take notes from") if not chunks else \
            UsageError(f"{document.source}: only a references section, no body text to take notes from")
    notes = map_chunks(body, source, caller, settings, counts)
    if not key_points(notes):  # empty notes are never a finished document (nor the ground for a script)
        last = f"; last problem: {caller.warnings[-1]}" if caller.warnings else ""
        raise BackendUnavailable(f"{document.source}: no usable notes from any of the {len(body)} chunks (the model's "
                                 f"answers were unusable or not supported by the sentences they named){last}")
    notes = every_section_noted(notes, body, source, counts["key_points"])
    notes = every_highlight_noted(notes, body, source, counts["key_points"])
    notes = every_definition_noted(notes, body, source, counts["glossary"])
    notes = _without_repeats(notes, source.language, counts)  # a sentence added above may say what a later note says
    result.chunk_notes = notes = by_section(notes, source)
    all_points = key_points(notes)

    reducer = Reducer(caller, settings, title, source, counts)
    result.overview = reducer.condensed(all_points, "quiz", overview_render(settings, title))
    result.key_points = all_points
    result.glossary = glossary(notes, source.language, counts["glossary"])
    result.page_sources = document.page_sources
    result.themes = notebook_themes(all_points, result.glossary, source)
    # abstract, Q&A and quiz one after the other: they share the prompt prefix holding the overview (reduce.py)
    stressed = {s.id for s in highlighted(source) + emphasized(source)}
    abstract = reducer.abstract(result.overview, [p for p in all_points
                                                  if any(e.sentence_id in stressed for e in p.evidence)]) \
        if "summary" in products else []
    if "notes" in products or "cards" in products:
        result.qa = reducer.qa(result.overview)
    if "quiz" in products:
        result.quiz = reducer.quiz(result.overview, result.qa, result.glossary)
    if "notes" in products or "cards" in products:
        result.qa = reducer.more_qa(result.qa, [q for n in notes for q in n.questions], result.quiz)
    if "summary" in products:
        result.summary = Summary(abstract=abstract, sections=reducer.sections(notes, abstract))
    if "cards" in products:
        result.cards = flashcards(result.glossary, result.qa, source.language)

    result.condense_rounds = reducer.digester.rounds
    result.grounding = {name: c for name, c in counts.items() if c.kept or c.dropped or c.duplicates}
    result.calls = caller.calls
    result.cached_calls = caller.cached
    result.warnings = caller.warnings
    return result
