"""Markdown and plain text, parsed directly: paragraphs split on blank lines; Markdown headings from `#` lines (and
`===`/`---` underlines), links and emphasis reduced to their text, front matter read as metadata. Pages come from
form feeds when the file has them, else they are synthetic, about `TEXT_PAGE_CHARS` characters each, cut at paragraph
ends, so citations still point somewhere near (`metadata["pagination"]` says which).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..models import PageInfo
from .encoding import decode_text
from .structure import BULLET, Line, Parsed, Reader, Segment, fix_characters

TEXT_PAGE_CHARS = 3000  # synthetic page size for Markdown/plain text without form feeds


def read_markdown(data: bytes, path: Path, password: str | None, ocr: bool) -> Parsed:
    return _read(data, path, markdown=True)


def read_text(data: bytes, path: Path, password: str | None, ocr: bool) -> Parsed:
    return _read(data, path, markdown=False)


MARKDOWN, TEXT = Reader("markdown", read_markdown), Reader("text", read_text)


def _read(data: bytes, path: Path, markdown: bool) -> Parsed:
    text, warning = decode_text(data, path)
    parsed = _parse_plain(text, markdown=markdown)
    if warning:
        parsed.warnings.append(warning)
    return parsed


_MD_HEADING = re.compile(r"(#{1,6})\s+(\S.*)")  # the closing #s are cut by _heading_text, not here (linear time)
# Link text holds no bracket and the target at most one level of parentheses (Wikipedia URLs): every scan stops at
# the next bracket or parenthesis, so a line full of unclosed ones stays linear
_MD_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|`)")


def _heading_text(text: str) -> str:
    """An ATX heading's text without its optional closing run of #s (CommonMark: only after a space, so `C#` stays)."""
    text = text.rstrip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        text = bare.rstrip()
    return text or "#"


def _parse_plain(text: str, markdown: bool) -> Parsed:
    """Paragraphs split on blank lines; Markdown headings from #-lines and underlines; pages as the module says."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    metadata: dict[str, str] = {}
    if markdown and text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end > 0:
            for line in text[4:end].splitlines():
                key, sep, value = line.partition(":")
                if sep and value.strip():
                    metadata[key.strip().lower()] = value.strip().strip("\"'")
            text = text[end + 4:]
    has_form_feeds = "\f" in text
    segments: list[Segment] = []
    page, page_chars = 1, 0
    for page_text in text.split("\f"):
        if segments and has_form_feeds:
            page += 1
        for para in _plain_paragraphs(page_text, markdown):
            if not has_form_feeds and page_chars >= TEXT_PAGE_CHARS:
                page, page_chars = page + 1, 0
            kind, level, body = para
            lines = [Line(fix_characters(line), 0.0, False) for line in body]
            seg = Segment(page, lines, kind=kind, level=level)
            if kind == "list":
                seg.text = "\n".join(l.text.strip() for l in lines)
            segments.append(seg)
            page_chars += sum(len(l) for l in body)
    pages = max(page, 1)
    metadata["pagination"] = "form feeds" if has_form_feeds else f"synthetic (~{TEXT_PAGE_CHARS} characters a page)"
    return Parsed(segments=segments, page_count=pages, pages=[PageInfo(number=n) for n in range(1, pages + 1)],
                   metadata=metadata, headings_done=True, title_hint=metadata.get("title", ""))


def _plain_paragraphs(text: str, markdown: bool):
    """(kind, level, lines) per paragraph."""
    in_fence, fence_lines = False, []
    para: list[str] = []

    def flush():
        if para:
            lines = [_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", l)) if markdown else l for l in para]
            kind = "list" if markdown and all(BULLET.match(l.strip()) or l.startswith((" ", "\t")) for l in lines) \
                and BULLET.match(lines[0].strip()) else "paragraph"
            yield kind, 0, lines
            para.clear()

    lines = text.split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if markdown and stripped.startswith("```"):
            if in_fence:
                if fence_lines:
                    yield "paragraph", 0, ["\n".join(fence_lines)]
                in_fence, fence_lines = False, []
            else:
                yield from flush()
                in_fence = True
            continue
        if in_fence:
            fence_lines.append(line)
            continue
        heading = _MD_HEADING.fullmatch(stripped) if markdown else None
        if heading:
            yield from flush()
            yield "heading", len(heading.group(1)), [_MD_EMPHASIS.sub("", _heading_text(heading.group(2)))]
            continue
        if markdown and para and len(para) == 1 and re.fullmatch(r"=+|-+", stripped) and len(stripped) >= 3:
            title = para.pop()
            yield "heading", 1 if stripped[0] == "=" else 2, [title]
            continue
        if not stripped:
            yield from flush()
            continue
        para.append(line)
    if fence_lines:
        yield "paragraph", 0, ["\n".join(fence_lines)]
    yield from flush()
