"""Plain data passed between stages. Every stage is a function from one of these to the next."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

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
