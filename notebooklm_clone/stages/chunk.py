"""Chunk: a Document's blocks in, chunks that each fit the model's token budget out.

Text is cut at the largest boundary that makes pieces fit: a whole section when it fits, else its paragraphs
(blocks), else a paragraph's sentences, else a sentence's words (and a giant "word", such as a URL, by characters).
Pieces are packed greedily; a section that does not fit in what is left of the current chunk starts a new one, so
chunks break at section boundaries whenever they can. Each chunk's size is measured with the tokenizer on its final
text, so no chunk exceeds `budget_tokens` even where token counts do not add up across joins.

When a chunk must break inside a section, the next chunk starts with whole sentences from the end of the previous
one (at most `overlap_tokens`), so the map stage sees a little context. There is no overlap across sections.
The references section is chunked after the body and its chunks are flagged `is_references`, so they come last and
the map stage can skip them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ChunkSettings
from ..errors import UsageError
from ..llm.tokens import Tokenizer
from ..models import Block, Chunk, Document
from ..text.sentences import split_sentences

MIN_BUDGET = 16


@dataclass
class _Piece:
    text: str
    page: int
    section: tuple[str, ...]
    joiner: str  # put before this piece when it follows another one in a chunk: "\n\n" between blocks, " " inside
    tokens: int = 0


def chunk_document(document: Document, settings: ChunkSettings, tokenizer: Tokenizer) -> list[Chunk]:
    """Split the document into chunks of at most settings.budget_tokens tokens (see the module docstring)."""
    budget = settings.budget_tokens
    if budget < MIN_BUDGET:
        raise UsageError(f"chunk budget {budget} is too small (at least {MIN_BUDGET} tokens)")
    overlap = max(0, min(settings.overlap_tokens, budget // 2))
    packer = _Packer(budget, overlap, tokenizer)
    packer.by_source = bool(document.page_sources)  # a notebook: no chunk holds text of two sources
    body = [b for b in document.blocks if b.kind != "references" and b.text.strip()]
    references = [b for b in document.blocks if b.kind == "references" and b.text.strip()]
    chunks = packer.pack(body, is_references=False) + packer.pack(references, is_references=True)
    for index, chunk in enumerate(chunks):
        chunk.index = index
    return chunks


class _Packer:
    """Greedy packing of one run of blocks (the body, or the references) into chunks."""

    by_source = False

    def __init__(self, budget: int, overlap: int, tokenizer: Tokenizer):
        self.budget, self.overlap, self.tokenizer = budget, overlap, tokenizer
        self.chunks: list[Chunk] = []
        self.current: list[_Piece] = []  # pieces of the chunk being filled
        self.is_references = False

    def count(self, text: str) -> int:
        return self.tokenizer.count(text)

    def pack(self, blocks: list[Block], is_references: bool) -> list[Chunk]:
        self.chunks, self.current, self.is_references = [], [], is_references
        for section in _sections(blocks):
            pieces = [_Piece(b.text.strip(), b.page, tuple(b.section), "\n\n") for b in section]
            if self.by_source and self.current and self.current[-1].section[:1] != pieces[0].section[:1]:
                self._flush()  # a notebook's sources are top-level sections: their notes must not mix
            if self._within(self.current + pieces):
                self.current += pieces
                continue
            self._flush()
            if self._within(pieces):
                self.current = pieces
                continue
            queue = self._split_to_fit(pieces)
            while queue:
                piece = queue.pop(0)
                if self.current and not self._fits([piece]):
                    if piece.joiner == "\n\n" and self._room() > self.budget // 3:
                        sentences = self._sentences(piece)
                        if len(sentences) > 1:  # fill the room left with this paragraph's first sentences
                            queue[:0] = sentences
                            continue
                    carried = self._overlap_from(self.current, piece)
                    self._flush()
                    self.current = self._trim_overlap(carried, piece)
                self.current.append(piece)
        self._flush()
        return self.chunks

    def _tokens(self, piece: _Piece) -> int:
        if not piece.tokens:
            piece.tokens = self.count(piece.text)
        return piece.tokens

    def _estimate(self, pieces: list[_Piece]) -> int:
        """Sum of the pieces' own counts plus one per join: within a few tokens of the joined text's count."""
        return sum(self._tokens(p) for p in pieces) + len(pieces) - 1

    def _fits(self, extra: list[_Piece]) -> bool:
        return not self.current or self._within(self.current + extra)

    def _within(self, pieces: list[_Piece]) -> bool:
        """Exact count only near the budget: re-tokenising the whole chunk per added sentence would be quadratic."""
        estimate = self._estimate(pieces)
        slack = 2 * len(pieces) + 4  # a join can merge or split a token or two on either side
        if estimate + slack <= self.budget:
            return True
        if estimate - slack > self.budget:
            return False
        return self.count(_join(pieces)) <= self.budget

    def _room(self) -> int:
        return self.budget - self._estimate(self.current)

    def _sentences(self, piece: _Piece) -> list[_Piece]:
        parts = [_Piece(s, piece.page, piece.section, " ") for s in split_sentences(piece.text)]
        if parts:
            parts[0].joiner = piece.joiner
        return parts

    def _split_to_fit(self, pieces: list[_Piece]) -> list[_Piece]:
        """Blocks that fit stay whole; others become sentences; sentences that do not fit become runs of words."""
        out: list[_Piece] = []
        for piece in pieces:
            piece.tokens = self.count(piece.text)
            if piece.tokens <= self.budget:
                out.append(piece)
                continue
            for part in self._sentences(piece):
                part.tokens = self.count(part.text)
                out.extend([part] if part.tokens <= self.budget else self._split_words(part))
        return out

    def _split_words(self, piece: _Piece) -> list[_Piece]:
        out: list[_Piece] = []
        words: list[str] = []
        for word in piece.text.split():
            for token in self._split_giant(word):
                if words and self.count(" ".join(words + [token])) > self.budget:
                    out.append(_Piece(" ".join(words), piece.page, piece.section, " "))
                    words = []
                words.append(token)
        if words:
            out.append(_Piece(" ".join(words), piece.page, piece.section, " "))
        out[0].joiner = piece.joiner
        for part in out:
            part.tokens = self.count(part.text)
        return out

    def _split_giant(self, word: str) -> list[str]:
        """A single 'word' over budget (a URL, a base64 blob): cut it by characters into pieces that fit."""
        size = len(word)
        while size > 1:
            parts = [word[i:i + size] for i in range(0, len(word), size)]
            if all(self.count(part) <= self.budget for part in parts):
                return parts
            size //= 2
        return list(word)

    def _overlap_from(self, previous: list[_Piece], following: _Piece) -> list[_Piece]:
        """Whole sentences from the end of `previous`, in the same section as `following`, within overlap_tokens."""
        if not self.overlap or self.is_references or not previous or previous[-1].section != following.section:
            return []
        carried: list[_Piece] = []
        for piece in reversed(previous):
            if piece.section != following.section:
                break
            sentences = split_sentences(piece.text)
            for i, sentence in enumerate(reversed(sentences)):
                candidate = [_Piece(sentence, piece.page, piece.section, " ")] + carried
                if self.count(_join(candidate)) > self.overlap:
                    return carried
                carried = candidate
        return carried

    def _trim_overlap(self, carried: list[_Piece], piece: _Piece) -> list[_Piece]:
        while carried and self.count(_join(carried + [piece])) > self.budget:
            carried = carried[1:]
        return carried

    def _flush(self) -> None:
        pieces = self.current
        self.current = []
        while pieces:
            text = _join(pieces)
            tokens = self.count(text)
            if tokens > self.budget and len(pieces) > 1:  # joins tokenised differently from the parts: give one back
                self.current.insert(0, pieces.pop())
                continue
            self.chunks.append(_make_chunk(pieces, text, tokens, self.is_references))
            pieces, self.current = self.current, []


def _sections(blocks: list[Block]) -> list[list[Block]]:
    """Runs of blocks with the same section path (a heading starts a new run)."""
    runs: list[list[Block]] = []
    for block in blocks:
        if runs and block.kind != "heading" and block.section == runs[-1][-1].section:
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def _join(pieces: list[_Piece]) -> str:
    out = []
    for i, piece in enumerate(pieces):
        if i:
            out.append(piece.joiner)
        out.append(piece.text)
    return "".join(out)


def _make_chunk(pieces: list[_Piece], text: str, tokens: int, is_references: bool) -> Chunk:
    marks: list[tuple[int, int]] = []
    offset = 0
    for i, piece in enumerate(pieces):
        if i:
            offset += len(piece.joiner)
        if not marks or marks[-1][1] != piece.page:
            marks.append((offset, piece.page))
        offset += len(piece.text)
    pages = [page for _, page in marks]
    return Chunk(index=0, text=text, page_start=min(pages), page_end=max(pages), section=list(pieces[0].section),
                 tokens=tokens, page_marks=marks, is_references=is_references)
