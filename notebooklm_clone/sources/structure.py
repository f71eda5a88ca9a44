"""What every reader produces (segments: runs of lines with one font, on one page) and how it becomes a Document,
the same way for every kind of file:
1. lines are joined; a word hyphenated across a line break is joined ("infor-/mation" -> "information") unless it
   looks like a real compound ("state-of-the-/art", or the hyphenated form occurs elsewhere in the document);
2. ligatures, soft hyphens, odd spaces and zero-width characters are fixed in every line (`fix_characters`);
3. headings come from the outline (TOC) when the file has one, else from font size and weight (Markdown and text
   readers find their own);
4. blocks get their section path, and the references/bibliography section is marked kind="references" so later
   stages can skip it;
5. a title is chosen and the language guessed.

A reader (`Reader`) is one kind of file: its bytes in, a `Parsed` out; `build_document` does the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput
from ..models import Annotation, Block, Document, PageInfo
from ..store import portable_name
from ..text.lang import guess_language
from ..text.speakable import FORMULA

_CHAR_FIXES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
    "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ", "\t": " ",
    "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u2008": " ", "\u2009": " ",
    "\u200a": " ", "\u2010": "-", "\u2011": "-", "\u2028": " ", "\u2029": " ", "\r": "",
    "\uf0b7": "•", "\uf0a7": "•", "\uf076": "•", "\uf0d8": "•", "\uf0fc": "•",  # a Symbol font's bullets
    "\x88": "•", "\x95": "•",  # bullets a font maps to control characters (tidy_data's list of messy datasets)
})
_SPACES = re.compile(r" {2,}")
# Scripts written without spaces (Thai, kana, Han, CJK punctuation and full-width forms): no space joins two of them
NO_SPACE = re.compile(r"[\u0e00-\u0e7f\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_REFERENCES = re.compile(r"^(\d+(\.\d+)*\.?\s+|[ivx]+\.\s+)?(references|bibliography|works cited|literature cited|"
                         r"references and notes|cited literature|sources)$", re.I)
_NUMBERING = re.compile(r"^(\d+(\.\d+)*\.?|[ivxIVX]+\.|[A-Z]\.)\s+")
BULLET = re.compile(r"^([\u2022\u25e6\u25aa\u2023\u2043\u00b7*\u2013-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
CAPTION = re.compile(r"^(figure|fig\.|table|chart)\s*\d+[.:]", re.I)  # a caption's label
# Starts only where a run of letters starts: a match tried from inside a long run would rescan it (quadratic)
_HYPHENATED = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?:-[^\W\d_]+)+")
LONGEST_WORD = 100  # characters; the start of a longer "word" (a run without spaces) is not looked at
# prefixes that keep their hyphen at a line break ("non-/linear"); not "ex" or "pre", which break words more often
# than they make compounds ("ex-/hibits", "pre-/vious"): a compound of theirs the document writes elsewhere stays
_KEEP_HYPHEN_PREFIXES = {"self", "well", "non", "all", "half", "cross", "co", "anti", "post", "semi"}


def fix_characters(text: str) -> str:
    """Ligatures expanded, soft hyphens and zero-width characters dropped, odd spaces made plain, NFC composed.
    (Not NFKC: that would turn 10⁶ into 106.)"""
    text = unicodedata.normalize("NFC", text.translate(_CHAR_FIXES))
    return _SPACES.sub(" ", text)


@dataclass
class Line:
    """One line of text as a reader saw it: its font size and weight (0 and False where the file has none) and, on a
    laid-out page, its top and bottom."""

    text: str
    size: float
    bold: bool
    y0: float = 0.0
    y1: float = 0.0


@dataclass
class Segment:
    """A run of lines with one font size/weight: a paragraph or a heading candidate."""

    page: int
    lines: list[Line]
    kind: str = "paragraph"
    level: int = 0
    text: str = ""

    @property
    def size(self) -> float:
        return self.lines[0].size

    @property
    def bold(self) -> bool:
        return self.lines[0].bold


@dataclass
class Parsed:
    """A reader's output: the segments in reading order, the pages, and what the file says about itself."""

    segments: list[Segment]
    page_count: int
    pages: list[PageInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    toc: list[tuple[int, str, int]] = field(default_factory=list)
    headings_done: bool = False  # Markdown/text: headings already known
    title_hint: str = ""
    warnings: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)  # the reader's marks (annotations.py)
    language: str = ""  # ISO 639-1 the OCR read a scanned document in; else guessed from the text


@dataclass(frozen=True)
class Reader:
    """One kind of file: `kind` names it in messages ("pdf", "markdown", ...); `read(data, path, password, ocr)` turns
    its bytes into segments, pages and metadata, raising BadInput for a file it cannot use."""

    kind: str
    read: Callable[[bytes, Path, str | None, bool | str], Parsed]  # ocr: False, or "auto" / an --ocr-lang


def build_document(parsed: Parsed, source: str, sha: str, path: Path) -> Document:
    """The Document every reader's output becomes (see the module docstring); BadInput if no text is left."""
    segments = parsed.segments
    hyphenated = _Spellings(segments)
    for seg in segments:
        if not seg.text:
            seg.text = _join_lines(seg.lines, hyphenated).strip()
    segments = [s for s in segments if s.text]
    _join_hyphen_across_blocks(segments, hyphenated)
    segments = [s for s in segments if s.text]
    title_segment = None
    if not parsed.headings_done:
        if parsed.toc:
            _headings_from_toc(segments, parsed.toc)
            _headings_beside_toc(segments)
            title_segment = _title_by_size(segments)
        else:
            title_segment = _headings_from_fonts(segments)
    metadata = parsed.metadata
    authors = [a.strip() for a in re.split(r";|,|&|\band\b", metadata.get("author", "")) if a.strip()]
    _no_masthead_or_byline(segments, _good_title(metadata.get("title", "")) or parsed.title_hint, authors)
    blocks = _blocks_with_sections(segments)
    if not any(b.text.strip() for b in blocks):
        why = "; ".join(parsed.warnings)
        raise BadInput(f"no extractable text in {source}" + (f" ({why})" if why else ""))
    _mark_references(blocks)
    title = _good_title(metadata.get("title", "")) or parsed.title_hint or (title_segment.text if title_segment else "")
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading"), "") or portable_name(path.stem)
    body = " ".join(b.text for b in blocks if b.kind != "references")
    return Document(source=source, sha256=sha, title=" ".join(title.split())[:300], authors=authors,
                    language=parsed.language or guess_language(body), page_count=parsed.page_count,
                    pages=parsed.pages, blocks=blocks, metadata=metadata, warnings=parsed.warnings,
                    annotations=[_located(a, blocks) for a in parsed.annotations])


def _no_masthead_or_byline(segments: list[Segment], title: str, authors: list[str]) -> None:
    """Large print above the title on the first page (a journal's masthead, "JSS") and an author's name set large
    (tidy_data's "Hadley Wickham", "By A. EINSTEIN") title no section: the abstract would be filed under them."""
    names = {_norm_title(a) for a in authors}
    key = _norm_title(title) if title else None
    at_title = next((k for k, s in enumerate(segments) if s.page == 1 and _norm_title(s.text) == key), -1)
    for k, seg in enumerate(segments):
        if seg.kind != "heading":
            continue
        byline = re.match(r"(?i:by)\s+[A-Z]", seg.text) and len(seg.text.split()) <= 6  # "By A. EINSTEIN"
        if k < at_title or _norm_title(seg.text) in names or byline:
            seg.kind = "paragraph"


def _located(annotation: Annotation, blocks: list[Block]) -> Annotation:
    """A highlight with the span of its quote in its page's text (as Document.page_text joins it), when found."""
    words = annotation.quote.split()
    if not words:
        return annotation
    page_text = "\n\n".join(b.text for b in blocks if b.page == annotation.page)
    found = re.search(r"\s+".join(re.escape(w) for w in words), page_text)
    if not found:
        return annotation
    return annotation.model_copy(update={"start": found.start(), "end": found.end(), "quote": found.group(0)})


def _join_lines(lines: list[Line], hyphenated: _Spellings) -> str:
    """Lines of one paragraph joined by spaces, list items by newlines, words broken at a line end made whole."""
    out, soft_break = "", False
    for line in lines:
        text = fix_characters(line.text).strip()
        if not out:
            out = text
        elif soft_break:  # the line ended in a soft hyphen: a word broken where the typesetter was allowed to
            out += text
        elif BULLET.match(text) and BULLET.match(out.partition("\n")[0]):
            out += "\n" + text
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and text[:1].isalpha():
            out = _dehyphenate(out, text, hyphenated)
        elif NO_SPACE.match(out[-1:]) and NO_SPACE.match(text[:1]):
            out += text
        else:
            out += " " + text
        soft_break = line.text.rstrip().endswith("\u00ad")
    return out


class _Spellings:
    """How the document writes words away from line breaks: its hyphenated compounds, and the words inside its lines
    (a line's first and last words may be the halves of a broken word)."""

    def __init__(self, segments: list[Segment]):
        self.hyphenated = {w.lower() for seg in segments for line in seg.lines if "-" in line.text
                           for w in _HYPHENATED.findall(line.text)}
        self.inner = {w.lower() for seg in segments for line in seg.lines
                      for w in re.findall(r"[^\W\d_]+", line.text)[1:-1]}

    def compound(self, prefix: str, suffix: str) -> bool:
        """ "current-/best", "record-/breaking": two words the document uses, never written as one."""
        prefix, suffix = prefix.lower(), suffix.lower()
        return f"{prefix}-{suffix}" in self.hyphenated or (
            min(len(prefix), len(suffix)) >= 3 and prefix.isalpha() and suffix.isalpha()
            and prefix in self.inner and suffix in self.inner and prefix + suffix not in self.inner)


def _dehyphenate(left: str, right: str, hyphenated: _Spellings) -> str:
    """Join `left` (ending in '-') and `right`: drop the hyphen for a word split by a line break, keep it for a compound."""
    # Only the end of `left` is read: it is the paragraph so far, and rescanning it for every line is quadratic
    prefix = re.search(r"[\w-]*-$", left[-LONGEST_WORD:]).group(0)[:-1]
    suffix = re.match(r"[\w-]*", right).group(0)
    keep = ("-" in prefix or not right[0].islower() or hyphenated.compound(prefix, suffix)
            or prefix.lower() in _KEEP_HYPHEN_PREFIXES)
    return left + right if keep else left[:-1] + right


def _join_hyphen_across_blocks(segments: list[Segment], hyphenated: _Spellings) -> None:
    """A paragraph cut by a column break (same page, no sentence end, next part starts in lower case) is joined back;
    across a page break it stays two blocks (a block has one page), but a word split there is moved up whole."""
    for i in range(1, len(segments)):
        prev, seg = segments[i - 1], segments[i]
        if not (prev.kind == seg.kind == "paragraph" and prev.text and seg.text[:1].islower()):
            continue
        if prev.page == seg.page and not prev.text.endswith((".", "!", "?", ":", '"', "”")):
            hyphen = prev.text.endswith("-") and len(prev.text) > 1 and prev.text[-2].isalpha()
            seg.text = _dehyphenate(prev.text, seg.text, hyphenated) if hyphen else f"{prev.text} {seg.text}"
            prev.lines.extend(seg.lines)  # extended in place: a long chain of joins stays linear
            seg.lines = prev.lines
            prev.text = ""
        elif prev.text.endswith("-") and len(prev.text) > 1 and prev.text[-2].isalpha():
            word, _, rest = seg.text.partition(" ")
            prev.text = _dehyphenate(prev.text, word, hyphenated)
            seg.text = rest.strip()


def _body_size(segments: list[Segment]) -> float:
    weights: Counter[float] = Counter()
    for seg in segments:
        weights[seg.size] += len(seg.text)
    return weights.most_common(1)[0][0] if weights else 0.0


_NUMBER_CELL = re.compile(r"[-+]?\d+(?:[.,]\d+)*%?")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|janvier|février|mars|avril|mai|juin|juillet|août|septembre|"
          r"octobre|novembre|décembre)\.?")
# a date alone ("January 3, 2024", "20 juin 2023", "2024-01-03"): when a text was written, no part of it
_DATELINE = re.compile(rf"^\W*(?:\w+day,?\s+)?(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\.?\s+{_MONTH}"
                       rf"\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})\W*$", re.IGNORECASE)
# a magazine's jump line ("A. R. HOARE--cont'd from page 580", "Continued on page 12"): no heading, but the article
# it carries on resumes there
_JUMP_LINE = re.compile(r"\bcont(?:inued|['’]?d)\.?\s+(?:from|on)\s+(?:p\.|page)\s*\d+", re.IGNORECASE)


def _is_heading_like(seg: Segment) -> bool:
    """Short, has letters, does not end like a sentence, is not a formula, a caption, a jump line, a table's row
    ("row a b c A 1 4 7 B 2 5 8"), a date alone or a list item."""
    text = seg.text
    return (len(text) <= 160 and len(text.split()) <= 18 and not text.endswith((".", ",", ";", ":"))
            and any(ch.isalpha() for ch in text) and not FORMULA.search(text)  # a displayed rule, set large
            and not CAPTION.match(text) and not _JUMP_LINE.search(text)
            and sum(bool(_NUMBER_CELL.fullmatch(w)) for w in text.split()[1:]) < 3  # a table's row, set in bold
            and not _DATELINE.match(text)
            and (not BULLET.match(text) or bool(_NUMBERING.match(text))))


def _headings_from_fonts(segments: list[Segment]) -> Segment | None:
    """Larger-than-body or bold short lines become headings, levels by size. The largest text on page 1, when that
    size occurs nowhere else, is the title (a level-1 heading that the sections below do not nest under)."""
    body = _body_size(segments)
    if not body:
        return None
    candidates = [s for s in segments if _is_heading_like(s) and
                  (s.size >= body * 1.12 or (s.bold and s.size >= body - 0.5 and len(s.lines) <= 2))]
    title = None
    page_one = [s for s in segments[:15] if s.page == 1]
    if page_one:
        biggest = max(page_one, key=lambda s: s.size)
        same = [s for s in segments if abs(s.size - biggest.size) < 0.3]
        if biggest.size >= body * 1.3 and all(s.page == 1 for s in same) and len(biggest.text) <= 300:
            title = biggest
            title.kind, title.level = "heading", 1
            if len(same) > 1:  # a title wrapped over two blocks
                for extra in same:
                    if extra is not title and segments.index(extra) - segments.index(title) == 1:
                        title.text += " " + extra.text
                        extra.text = ""
    sizes = sorted({round(s.size * 2) / 2 for s in candidates  # a wrapped title's second block is emptied: not a size
                    if s is not title and s.text and s.size >= body * 1.12}, reverse=True)
    for seg in candidates:
        if seg is title or not seg.text:
            continue
        seg.kind = "heading"
        seg.level = min(4, sizes.index(round(seg.size * 2) / 2) + 1) if seg.size >= body * 1.12 else min(4, len(sizes) + 1)
    return title


def _norm_title(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", _NUMBERING.sub("", text.strip()).lower())


def _headings_from_toc(segments: list[Segment], toc: list[tuple[int, str, int]]) -> None:
    """Each outline entry marks the first matching text on its page as a heading of the entry's level."""
    by_page: dict[int, list[Segment]] = {}
    for seg in segments:
        by_page.setdefault(seg.page, []).append(seg)
    for level, title, page in toc:
        want = _norm_title(title)
        if not want:
            continue
        for seg in by_page.get(page, []):
            if seg.kind != "heading" and len(seg.text) <= len(title) + 20 and _norm_title(seg.text) == want:
                seg.kind, seg.level = "heading", level
                break


def _headings_beside_toc(segments: list[Segment]) -> None:
    """Outlines often list only the top levels. A line styled like an outline heading is a heading of that level; a
    heading-like line smaller than every outline heading (but larger than body text, or bold) is one level deeper."""
    matched = [s for s in segments if s.kind == "heading"]
    if not matched:
        return
    body = _body_size(segments)
    levels: dict[tuple[float, bool], int] = {}
    for seg in matched:
        levels[(seg.size, seg.bold)] = min(seg.level, levels.get((seg.size, seg.bold), 99))
    smallest, deepest = min(s.size for s in matched), max(s.level for s in matched)
    for seg in segments:
        if seg.kind == "heading" or not _is_heading_like(seg):
            continue
        if (seg.size, seg.bold) in levels:
            seg.kind, seg.level = "heading", levels[(seg.size, seg.bold)]
        elif seg.size < smallest - 0.3 and (seg.size >= body * 1.12 or (seg.bold and seg.size >= body - 0.5
                                                                        and len(seg.lines) <= 2)):
            seg.kind, seg.level = "heading", deepest + 1


def _title_by_size(segments: list[Segment]) -> Segment | None:
    page_one = [s for s in segments[:15] if s.page == 1]
    if not page_one:
        return None
    biggest = max(page_one, key=lambda s: s.size)
    return biggest if biggest.size > _body_size(segments) * 1.2 else None


def _blocks_with_sections(segments: list[Segment]) -> list[Block]:
    stack: list[tuple[int, str]] = []
    blocks = []
    for seg in segments:
        kind = seg.kind
        if kind == "heading":
            while stack and stack[-1][0] >= seg.level:
                stack.pop()
            stack.append((seg.level, seg.text))
        elif kind == "paragraph":
            if CAPTION.match(seg.text):
                kind = "caption"
            elif "\n" in seg.text and BULLET.match(seg.text):
                kind = "list"
        blocks.append(Block(text=seg.text, page=seg.page, kind=kind, level=seg.level if kind == "heading" else 0,
                            section=[title for _, title in stack]))
    return blocks


def _mark_references(blocks: list[Block]) -> None:
    """From a "References"/"Bibliography" heading (or a lone line saying so) to the next heading of the same or a
    higher level (or, for a lone line, any heading), or to a jump line."""
    start = None
    for i, block in enumerate(blocks):
        if _REFERENCES.match(block.text.strip()) and (block.kind == "heading" or len(block.text) < 40):
            start = i
            break
    if start is None:
        return
    level = blocks[start].level if blocks[start].kind == "heading" else 99
    blocks[start].kind = "references"
    for block in blocks[start + 1:]:
        if block.kind == "heading" and block.level <= level or _JUMP_LINE.search(block.text):
            break  # (an article continued from another page resumes after a jump line)
        block.kind = "references"


def _good_title(title: str) -> str:
    title = title.strip()
    if not title or re.search(r"\.(docx?|pdf|tex|dvi|indd|rtf|odt)$|^untitled|^microsoft word|^slide \d", title, re.I):
        return ""
    return title
