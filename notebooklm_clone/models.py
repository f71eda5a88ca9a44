"""Plain data passed between stages. Every stage is a function from one of these to the next."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from .text.split import count_words

BlockKind = Literal["heading", "paragraph", "list", "table", "caption", "references"]


class Block(BaseModel):
    """One unit of text in reading order, with the page it sits on (1-based) and its section path."""

    text: str
    page: int
    kind: BlockKind = "paragraph"
    level: int = 0  # heading level (1 = top) for headings, 0 otherwise
    section: list[str] = Field(default_factory=list)  # heading titles from the top down


class PageInfo(BaseModel):
    number: int  # 1-based
    ocr: bool = False  # text came from OCR
    empty: bool = False  # no text at all after extraction (and OCR, if it ran)


class Annotation(BaseModel):
    """A reader's mark on a page (a PDF annotation): theirs, not the authors', so never part of the blocks. `quote` is
    the text a highlight (underline, strike-out) marks, found at `start:end` of `Document.page_text(page)`."""

    kind: str  # the PDF annotation type: "Highlight", "FreeText", "Text" (a sticky note), "Ink", "Stamp", ...
    page: int
    rect: tuple[float, float, float, float]
    text: str = ""  # what the reader wrote
    quote: str = ""
    start: int | None = None
    end: int | None = None
    author: str = ""


class Document(BaseModel):
    source: str  # path as given
    sha256: str  # of the source bytes: the key for every later stage
    title: str
    authors: list[str] = Field(default_factory=list)
    language: str = "en"  # ISO 639-1 guess
    page_count: int
    pages: list[PageInfo] = Field(default_factory=list)
    blocks: list[Block] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    # a notebook's sources joined into one Document: its page -> (source name, page in that source), so citations
    # name the source; empty for a single file, whose pages are its own
    page_sources: dict[int, tuple[str, int]] = Field(default_factory=dict)
    annotations: list[Annotation] = Field(default_factory=list)  # the reader's marks, apart from the text

    def page_text(self, page: int) -> str:
        """All text of one page (blocks joined), used to check citations."""
        return "\n\n".join(b.text for b in self.blocks if b.page == page)

    def body_blocks(self) -> list[Block]:
        """Blocks that are not in the references section (later stages skip references)."""
        return [b for b in self.blocks if b.kind != "references"]


class Chunk(BaseModel):
    """A piece of the document that fits the model's token budget."""

    index: int
    text: str
    page_start: int
    page_end: int
    section: list[str] = Field(default_factory=list)
    tokens: int  # measured with the configured tokenizer
    # (char offset in `text`, page number) at each place the page changes, first entry at offset 0
    page_marks: list[tuple[int, int]] = Field(default_factory=list)
    is_references: bool = False

    @property
    def pages(self) -> list[int]:
        return list(range(self.page_start, self.page_end + 1))


class Speaker(BaseModel):
    id: str  # short id used in turns, e.g. "host", "expert"
    name: str
    role: str = ""
    voice: str | None = None  # engine-specific voice override


class Segment(BaseModel):
    title: str
    words: int  # word budget
    summary: str = ""
    note_refs: list[int] = Field(default_factory=list)  # indices into the notes it is written from


class Turn(BaseModel):
    speaker: str  # a Speaker.id
    text: str
    segment: int = 0  # index into Script.segments, used for chapters


class Script(BaseModel):
    title: str
    language: str = "en"
    speakers: list[Speaker]
    segments: list[Segment] = Field(default_factory=list)
    turns: list[Turn]

    def word_count(self) -> int:
        """Spoken length (Chinese and Japanese characters counted as the script budget counts them)."""
        return sum(count_words(t.text) for t in self.turns)


# ---------------------------------------------------------------------------------------------------------------------
# Notes: what the notes stage returns and the script stage and the study outputs read


class Evidence(BaseModel):
    """The verbatim source of a study item: `quote == document.page_text(page)[start:end]`. `sentence_id` is the
    first sentence the span touches (a quote may run over a few sentences of one page)."""

    sentence_id: str
    page: int
    start: int
    end: int
    quote: str


Grounding = Literal["", "verified", "relocated", "rewritten", "quoted", "combined"]


class GroundingCounts(BaseModel):
    """How the items of one output were grounded (see Cited.grounding); `dropped` found no support at all."""

    verified: int = 0
    relocated: int = 0
    rewritten: int = 0
    quoted: int = 0
    combined: int = 0
    dropped: int = 0
    duplicates: int = 0  # near-duplicates removed

    @computed_field
    @property
    def kept(self) -> int:
        return self.verified + self.relocated + self.rewritten + self.quoted + self.combined


class Cited(BaseModel):
    """A statement, the pages that hold it and the verbatim sentences it rests on.

    `grounding` says how the statement was checked against `evidence` before it was kept: written by the model and
    supported as written ("verified"), supported by other sentences of the same passage than the ones the model
    chose ("relocated"), rewritten once after failing ("rewritten"), replaced by the quote itself ("quoted"), or a
    condensation of several grounded statements that falls back to one of them ("combined"). Empty for notes made
    before evidence existed."""

    text: str
    pages: list[int]
    evidence: list[Evidence] = Field(default_factory=list)
    grounding: Grounding = ""


class Question(Cited):
    """A question the document raises. `open` only when the document itself says the matter is open, unknown, left
    for future work or uncertain; otherwise it is a question to check oneself on."""

    open: bool = False


class Term(BaseModel):
    """A term the document uses, defined in the document's own words (the definition rests on `evidence`)."""

    term: str
    definition: str
    pages: list[int]
    evidence: list[Evidence] = Field(default_factory=list)
    grounding: Grounding = ""


class ChunkNotes(BaseModel):
    """What the map stage keeps of one chunk."""

    chunk: int
    section: list[str] = Field(default_factory=list)
    pages: list[int]
    key_points: list[Cited] = Field(default_factory=list)
    terms: list[Term] = Field(default_factory=list)
    facts: list[Cited] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)

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
    evidence: list[Evidence] = Field(default_factory=list)


class QuizQuestion(BaseModel):
    question: str
    options: list[str]
    answer: str  # the letter of the correct option
    pages: list[int]
    evidence: list[Evidence] = Field(default_factory=list)

    @property
    def correct(self) -> str:
        return self.options["ABCD".index(self.answer)]


class Card(BaseModel):
    front: str
    back: str
    pages: list[int]
    evidence: list[Evidence] = Field(default_factory=list)
    kind: str  # "term" or "qa"


class Theme(BaseModel):
    """A subject two or more of a notebook's sources speak of (stages/themes.py): each source's points on it, as they
    were written and grounded."""

    label: str  # the phrase the points use
    points: list[Cited]
    sources: list[str]  # the sources' names, in the order their points come


class NotesResult(BaseModel):
    """Everything the notes stage made; the script stage reads `overview` and `chunk_notes`, outputs/ writes it."""

    document: str  # sha256 of the source
    title: str
    files: dict[str, str] = Field(default_factory=dict)  # output name -> path (filled in when written)
    chunk_notes: list[ChunkNotes] = Field(default_factory=list)
    overview: list[Cited] = Field(default_factory=list)  # all points, condensed to fit one call
    summary: Summary | None = None
    key_points: list[Cited] = Field(default_factory=list)
    glossary: list[Term] = Field(default_factory=list)
    qa: list[QAPair] = Field(default_factory=list)
    quiz: list[QuizQuestion] = Field(default_factory=list)
    cards: list[Card] = Field(default_factory=list)
    grounding: dict[str, GroundingCounts] = Field(default_factory=dict)  # output -> how its items were grounded
    calls: dict[str, int] = Field(default_factory=dict)  # stage -> LLM calls made (cache hits excluded)
    cached_calls: int = 0  # answers served from a cache
    condense_rounds: int = 0
    warnings: list[str] = Field(default_factory=list)
    page_sources: dict[int, tuple[str, int]] = Field(default_factory=dict)  # the Document's, for the outputs
    themes: list[Theme] = Field(default_factory=list)  # a notebook's subjects shared by two or more sources


# ---------------------------------------------------------------------------------------------------------------------
# Script: what the script stage returns besides the Script itself


class SegmentLength(BaseModel):
    title: str
    budget: int  # words planned
    words: int  # words written


class ScriptStats(BaseModel):
    """The length check and the calls of one script run (report.json's "script")."""

    target_words: int
    words: int
    ratio: float
    length: str = ""  # how the length was chosen (from the material, or --minutes)
    segments: list[SegmentLength] = Field(default_factory=list)
    answers: dict[str, int] = Field(default_factory=dict)  # how the answers were grounded (verified, from_note, ...)
    sections_skipped: list[str] = Field(default_factory=list)  # body sections with no grounded note to discuss
    calls: dict[str, int] = Field(default_factory=dict)
    cached_calls: int = 0
    warnings: list[str] = Field(default_factory=list)


class ScriptFigures(BaseModel):
    """How trustworthy and listenable a finished script is, read from the script and its source alone
    (stages/script_figures.py; bench_quality's "script" table, `check --json`'s "script_figures")."""

    target_words: int | None = None  # the length asked for, when known
    words: int
    ratio: float | None = None  # words / target_words
    host_question_share: float  # share of the host's turns that ask something
    median_turn_words: float
    max_turn_words: int
    repeated_share: float  # share of the script's 5-word shingles said before
    meta_talk: list[str] = Field(default_factory=list)  # sentences reading the paper's structure aloud
    impersonation: list[str] = Field(default_factory=list)  # sentences claiming authorship, research or guests
    filler_turns: int = 0  # turns with nothing in them but a reaction
    fragment_turns: int = 0  # turns that are no sentence
    fact_sentences: int = 0  # sentences stating a fact (checked against the source)
    unsupported: list[str] = Field(default_factory=list)  # fact sentences no source window supports
    unsupported_share: float = 0.0
    sections: int = 0  # body sections (top-level, 80+ words, references and acknowledgements out)
    coverage: float | None = None  # share of those a supported sentence rests on
    sections_missed: list[str] = Field(default_factory=list)


class ScriptResult(BaseModel):
    script: Script
    stats: ScriptStats


# ---------------------------------------------------------------------------------------------------------------------
# Podcast: what the mix stage returns and outputs/podcast.py writes


class Placed(BaseModel):
    """A clip on the programme timeline."""

    turn: int
    speaker: str
    name: str
    segment: int
    text: str  # as displayed (markup and citations removed, numbers kept)
    start_s: float
    end_s: float


class Chapter(BaseModel):
    title: str
    start_s: float
    end_s: float


class Mixed(BaseModel):
    """The mixed programme: the encoded MP3 (untagged) and what was measured on it once decoded."""

    title: str  # the script's title (the transcript's heading)
    mp3: bytes = Field(repr=False)
    placed: list[Placed]
    chapters: list[Chapter]
    duration_s: float
    lufs: float
    peak_dbtp: float


# ---------------------------------------------------------------------------------------------------------------------
# Evidence: the document's body as numbered sentences, and the verbatim span a study item rests on


class SourceSentence(BaseModel):
    """One sentence of the body, where it sits: `text == document.page_text(page)[start:end]`, verbatim.

    `id` is short ("s12", numbered in reading order over the body) so a model can cite it cheaply, and the same for
    the same document. `clean` is False for extraction debris (replacement characters, broken equations, bare
    reference markers, running headers): such a sentence keeps its id but is not offered to a model as evidence."""

    id: str
    page: int
    start: int
    end: int
    text: str
    section: list[str] = Field(default_factory=list)
    block_kind: BlockKind = "paragraph"
    clean: bool = True


# ---------------------------------------------------------------------------------------------------------------------
# Audit: how far a document's study outputs are borne out by its source (the `check` command, report.json's
# "faithfulness")


class AuditItem(BaseModel):
    """One study item that did not pass: its source does not support it, it repeats an earlier item, or the source
    supports it only on pages it does not cite. `evidence` is the verbatim source text it was checked against."""

    output: str  # "summary", "key_points", "glossary", "qa", "quiz", "cards", "script"
    number: int  # 1-based position within the output
    text: str  # the statement checked
    pages: list[int] = Field(default_factory=list)  # the pages it cites
    supported: bool
    score: float = 0.0  # share of its content words found in the evidence
    reasons: list[str] = Field(default_factory=list)
    evidence: str = ""
    evidence_page: int | None = None
    wrong_pages: bool = False
    duplicate_of: str = ""  # "key_points #2": the earlier item it says again


class OutputAudit(BaseModel):
    """Counts for one output. supported + unsupported == checked; duplicate and wrong_pages count items of either."""

    output: str
    checked: int = 0
    supported: int = 0
    unsupported: int = 0
    duplicate: int = 0
    wrong_pages: int = 0
    skipped: int = 0  # script sentences with nothing to check (greetings, questions, banter)

    @computed_field
    @property
    def faithful(self) -> float:
        """Share of checked items the source supports."""
        return round(self.supported / self.checked, 3) if self.checked else 1.0


class AuditReport(BaseModel):
    document: str  # sha256 of the source
    title: str
    outputs: list[OutputAudit] = Field(default_factory=list)
    items: list[AuditItem] = Field(default_factory=list)  # every flagged item, in output order

    def total(self) -> OutputAudit:
        total = OutputAudit(output="total")
        for part in self.outputs:
            for key in ("checked", "supported", "unsupported", "duplicate", "wrong_pages", "skipped"):
                setattr(total, key, getattr(total, key) + getattr(part, key))
        return total

    def unsupported(self) -> list[AuditItem]:
        return [item for item in self.items if not item.supported]
