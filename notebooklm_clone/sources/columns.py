"""A scanned page's words in reading order, column by column (ocr.py reads the words).

Tesseract finds columns itself when the gutter is wide, but joins the lines of narrow-gutter columns into one line
("...left column text  right column text..."), which read line by line interleaves the columns. So every line is cut
where a gap wider than the line is tall opens (a gutter, not a word space), and the pieces are ordered here:
columns start at the left edges that many pieces share and that few pieces cross; a piece that crosses a gutter (a
title, a full-width paragraph) closes the columns above it, which are read left to right, each top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

from .structure import NO_SPACE, Line

_NO_SPACE = NO_SPACE


@dataclass
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    line: tuple[int, int, int]  # Tesseract's block, paragraph, line
    conf: float


def join_words(words: list[str]) -> str:
    """Words joined by spaces, except between two Chinese, Japanese or Thai characters (those use none)."""
    out = ""
    for word in words:
        if out and not (_NO_SPACE.match(out[-1]) and _NO_SPACE.match(word[:1])):
            out += " "
        out += word
    return out


@dataclass
class Piece:
    """Words of one line with no gutter between them, in points."""

    words: list[Word]
    x0: float
    y0: float
    x1: float
    y1: float
    line: tuple[int, int, int]
    cut: bool = False  # one of several pieces of a Tesseract line (so its paragraph numbers span columns)

    @property
    def text(self) -> str:
        return join_words([w.text for w in self.words])


def pieces_of(reading) -> list[Piece]:
    """Each line cut where the gap between two words is wider than the line is tall (a gutter, not a space);
    punctuation alone in such a gap is dropped."""
    by_line: dict[tuple[int, int, int], list[Word]] = {}
    for word in reading.words:
        by_line.setdefault(word.line, []).append(word)
    pieces = []
    for key, words in by_line.items():
        top, bottom = reading.lines.get(key, (min(w.y0 for w in words), max(w.y1 for w in words)))
        gap_limit = max(bottom - top, 1.0)
        runs: list[list[Word]] = [[]]
        marks: list[Word] = []  # punctuation waiting for the next word: a speck in a gutter reads as "—" or "|"
        for word in words:
            if not any(ch.isalnum() for ch in word.text):
                marks.append(word)
                continue
            prev = runs[-1][-1] if runs[-1] else None
            if prev and max(word.x0 - prev.x1, prev.x0 - word.x1) > gap_limit:
                runs.append([])  # the marks in the gutter are dropped
            elif prev or not runs[-1]:
                runs[-1] += marks
            runs[-1].append(word)
            marks = []
        runs[-1] += marks
        runs = [run for run in runs if run]
        if not runs:
            continue
        pieces += [Piece(run, min(w.x0 for w in run), top, max(w.x1 for w in run), bottom, key, len(runs) > 1)
                   for run in runs]
    return pieces


def column_order(reading):
    """Blocks (bbox, lines) of an ocr.Reading in reading order (see the module docstring)."""
    pieces = pieces_of(reading)
    if not pieces:
        return []
    width = reading.size[0]
    starts = _column_starts(pieces, width)
    tolerance = 0.02 * width

    def column(piece: Piece) -> int:
        return max(i for i, s in enumerate(starts) if s <= piece.x0 + tolerance) if piece.x0 + tolerance >= starts[0] else 0

    def crosses(piece: Piece) -> bool:
        after = [s for s in starts if s > piece.x0 + tolerance]
        return bool(after) and piece.x1 > after[0] + tolerance

    ordered: list[tuple[int, Piece]] = []
    pending: list[list[Piece]] = [[] for _ in starts]
    for piece in sorted(pieces, key=lambda p: (p.y0, p.x0)):
        if crosses(piece):
            ordered += [(i, p) for i, col in enumerate(pending) for p in col] + [(-1, piece)]
            pending = [[] for _ in starts]
        else:
            pending[column(piece)].append(piece)
    ordered += [(i, p) for i, col in enumerate(pending) for p in col]
    return _blocks(ordered)


def _column_starts(pieces: list[Piece], width: float) -> list[float]:
    """Left edges shared by at least a tenth of the pieces (and three), not crossed by more pieces than start there."""
    edges = sorted(p.x0 for p in pieces)
    clusters: list[list[float]] = [[edges[0]]]
    for x in edges[1:]:
        if x - clusters[-1][-1] < 0.05 * width:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    starts = [clusters[0][0]]
    for cluster in clusters[1:]:
        start = cluster[0]
        crossing = sum(1 for p in pieces if p.x0 < start - 0.02 * width and p.x1 > start + 0.02 * width)
        if len(cluster) >= max(3, 0.1 * len(pieces)) and crossing < len(cluster):
            starts.append(start)
    return starts


def _blocks(ordered: list[tuple[int, Piece]]):
    """Consecutive pieces of one column as one block while they are one paragraph: Tesseract's, or, for pieces of
    lines Tesseract joined across columns, lines no further apart than the column's usual line spacing."""
    usual: dict[int, list[float]] = {}
    for (col, last), (col2, piece) in zip(ordered, ordered[1:]):
        if col == col2 and 0 <= piece.y0 - last.y1 < 2 * (last.y1 - last.y0):
            usual.setdefault(col, []).append(piece.y0 - last.y1)
    spacing = {col: sorted(gaps)[len(gaps) // 2] for col, gaps in usual.items()}
    groups: list[tuple[int, list[Piece]]] = []
    for col, piece in ordered:
        if groups and groups[-1][0] == col:
            last = groups[-1][1][-1]
            height, gap = max(last.y1 - last.y0, 1.0), piece.y0 - last.y1
            if last.cut or piece.cut:
                joined = 0 <= gap <= 1.3 * spacing.get(col, 0.0) + 0.15 * height
            else:
                joined = last.line[:2] == piece.line[:2] and 0 <= gap < 1.5 * height
            if joined:
                groups[-1][1].append(piece)
                continue
        groups.append((col, [piece]))
    blocks = []
    for _, run in groups:
        heights = sorted(round(p.y1 - p.y0, 1) for p in run)
        size = float(heights[len(heights) // 2])  # one size per paragraph: OCR boxes are too noisy for more
        lines = [Line(p.text, size, False, p.y0, p.y1) for p in run]
        bbox = (min(p.x0 for p in run), run[0].y0, max(p.x1 for p in run), run[-1].y1)
        blocks.append((bbox, lines))
    return blocks
