"""PDF, EPUB and HTML, read with PyMuPDF (which lays EPUB and HTML out into pages of its own, so their page numbers
are those of that layout). What happens to a page, in order:
1. text from PyMuPDF's dict output (OCR'd with Tesseract when the page has images but no text layer);
2. blocks put in reading order: full-width blocks keep their place, and between two of them the left column is read
   before the right one;
3. running headers/footers (the same text, digits ignored, in the top or bottom margin of several pages) and bare page
   numbers are dropped;
4. each block is cut into segments where font or spacing changes (a heading and its paragraph share a block).
Joining lines, headings and references are structure.py's, as for every kind of file.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pymupdf

from ..errors import BadInput
from ..models import PageInfo
from .encoding import declared_charset, decode_text
from .structure import Line, Parsed, Reader, Segment, fix_characters

MARGIN = 0.12  # top/bottom fraction of the page where running headers, footers and page numbers live
_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_PRESERVE_WHITESPACE  # ligatures expanded, no images
_PAGE_NUMBER = re.compile(r"^[\s\-\u2013\u2014]*(page\s+)?([0-9]{1,5}|[ivxlcdm]{1,7})(\s*(/|of)\s*[0-9]{1,5})?[\s\-\u2013\u2014]*$", re.I)


def read_pdf(data: bytes, path: Path, password: str | None, ocr: bool) -> Parsed:
    return _parse_layout(data, "pdf", path, password, ocr)


def read_epub(data: bytes, path: Path, password: str | None, ocr: bool) -> Parsed:
    return _parse_layout(data, "epub", path, password, ocr)


def read_html(data: bytes, path: Path, password: str | None, ocr: bool) -> Parsed:
    """MuPDF reads HTML as UTF-8 whatever it declares: it gets UTF-8, decoded as encoding.py says."""
    text, warning = decode_text(data, path, declared=declared_charset(data))
    parsed = _parse_layout(text.encode("utf-8"), "html", path, password, ocr)
    if warning:
        parsed.warnings.append(warning)
    return parsed


PDF, EPUB, HTML = Reader("pdf", read_pdf), Reader("epub", read_epub), Reader("html", read_html)


def _parse_layout(data: bytes, kind: str, path: Path, password: str | None, ocr: bool) -> Parsed:
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        doc = pymupdf.open(stream=data, filetype=kind)
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for damaged files
        raise BadInput(f"{path} is damaged or not a readable {kind.upper()} file ({_short(exc)})") from None
    with doc:
        if doc.needs_pass:
            if password is None:
                raise BadInput(f"{path} is encrypted: give its password with --password")
            if not doc.authenticate(password):
                raise BadInput(f"wrong password for {path}")
        try:
            page_count = doc.page_count
        except Exception as exc:  # noqa: BLE001
            raise BadInput(f"{path} is damaged ({_short(exc)})") from None
        if page_count == 0:
            raise BadInput(f"{path} has no pages (truncated or damaged?)")
        warnings: list[str] = []
        if kind == "pdf" and getattr(doc, "is_repaired", False):
            warnings.append(f"{path} is damaged; MuPDF repaired it and some text may be missing")
        tessdata = find_tessdata() if ocr else None
        pages: list[PageInfo] = []
        raw: list[list[tuple[tuple[float, float, float, float], list[Line]]]] = []
        sizes: list[tuple[float, float]] = []
        trouble: dict[str, list[int]] = {"unreadable": [], "needs-ocr": [], "ocr-failed": []}
        for index in range(page_count):
            try:
                page = doc[index]
                sizes.append((page.rect.width, page.rect.height))
                blocks, how = _read_page(page, tessdata)
            except Exception:  # noqa: BLE001 - one broken page must not lose the rest
                sizes[index:] = [(612.0, 792.0)]
                blocks, how = [], "unreadable"
            trouble.get(how, []).append(index + 1)
            pages.append(PageInfo(number=index + 1, ocr=how == "ocr", empty=not blocks))
            raw.append(blocks)
        try:
            toc = [(lvl, fix_characters(title).strip(), pg) for lvl, title, pg, *_ in doc.get_toc(simple=True)]
        except Exception:  # noqa: BLE001
            toc = []
        metadata = {k: fix_characters(v).strip() for k, v in (doc.metadata or {}).items() if isinstance(v, str) and v.strip()}
    if trouble["unreadable"]:
        warnings.append(f"pages {_ranges(trouble['unreadable'])} could not be read and were skipped")
    if trouble["needs-ocr"]:
        why = "OCR is off (--no-ocr)" if not ocr else (
            "Tesseract language data not found (install tesseract-ocr and tesseract-ocr-eng, or set TESSDATA_PREFIX)")
        warnings.append(f"pages {_ranges(trouble['needs-ocr'])} have no text layer and stayed empty: {why}")
    if trouble["ocr-failed"]:
        warnings.append(f"OCR failed on pages {_ranges(trouble['ocr-failed'])}; they stayed empty")
    segments = _layout_segments(raw, sizes)
    return Parsed(segments=segments, page_count=page_count, pages=pages, metadata=metadata, toc=toc,
                   warnings=warnings)


def _read_page(page: pymupdf.Page, tessdata: str | None):
    """(blocks, how): how is "text", "ocr", "blank", "needs-ocr" (pictures but no OCR) or "ocr-failed"."""
    blocks = _page_blocks(page.get_text("dict", flags=_FLAGS))
    if blocks:
        return blocks, "text"
    if not page.get_images(full=False):
        return [], "blank"
    if not tessdata:
        return [], "needs-ocr"
    try:
        textpage = page.get_textpage_ocr(flags=_FLAGS, language=_ocr_language(tessdata), dpi=300, full=True,
                                         tessdata=tessdata)
        return _merge_ocr_lines(_page_blocks(page.get_text("dict", flags=_FLAGS, textpage=textpage))), "ocr"
    except Exception:  # noqa: BLE001 - a Tesseract failure leaves the page empty; the caller reports it
        return [], "ocr-failed"


def find_tessdata() -> str | None:
    """Tesseract's language folder (TESSDATA_PREFIX when set, else where the tesseract-ocr package puts it)."""
    explicit = os.environ.get("TESSDATA_PREFIX")
    candidates = [explicit] if explicit else []
    if not explicit:
        candidates += sorted(str(p) for p in Path("/usr/share/tesseract-ocr").glob("*/tessdata"))
        candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"]
    for folder in candidates:
        if folder and any(Path(folder).glob("*.traineddata")):
            return folder
    return None


def _ocr_language(tessdata: str) -> str:
    return "eng" if (Path(tessdata) / "eng.traineddata").exists() else sorted(Path(tessdata).glob("*.traineddata"))[0].stem


def _page_blocks(page_dict: dict) -> list[tuple[tuple[float, float, float, float], list[Line]]]:
    """(bbox, lines) of each text block; a line's size is its longest span's, bold if every span is."""
    blocks = []
    for block in page_dict["blocks"]:
        if block.get("type", 0) != 0:
            continue
        lines = []
        for line in block["lines"]:
            spans = line["spans"]
            text = "".join(s["text"] for s in spans)
            if not text.strip():
                continue
            main = max(spans, key=lambda s: len(s["text"])) if len(spans) > 1 else spans[0]
            bold = all(s["flags"] & 16 or "Bold" in s["font"] for s in spans if s["text"].strip())
            bbox = line["bbox"]
            lines.append(Line(text, round(main["size"], 1), bold, bbox[1], bbox[3]))
        if lines:
            blocks.append((tuple(block["bbox"]), lines))
    return blocks


def _merge_ocr_lines(blocks):
    """Tesseract gives one block per line and a size per word: rebuild paragraphs from line spacing, and give each
    paragraph one size (its median line height) so font-based heading detection is not fooled by OCR noise."""
    merged: list[tuple[list[float], list[Line]]] = []
    for bbox, lines in blocks:
        if merged:
            prev_box, prev_lines = merged[-1]
            last = prev_lines[-1]
            overlaps = bbox[0] < prev_box[2] and bbox[2] > prev_box[0]
            if overlaps and 0 <= lines[0].y0 - last.y1 < 0.75 * (last.y1 - last.y0):
                prev_lines.extend(lines)
                prev_box[:] = [min(prev_box[0], bbox[0]), prev_box[1], max(prev_box[2], bbox[2]), bbox[3]]
                continue
        merged.append((list(bbox), list(lines)))
    out = []
    for bbox, lines in merged:
        heights = sorted(round(line.y1 - line.y0, 1) for line in lines)
        for line in lines:
            line.size = float(heights[len(heights) // 2])
        out.append((tuple(bbox), lines))
    return out


def _layout_segments(raw, sizes) -> list[Segment]:
    """Reading order, then running headers/footers and page numbers out, then blocks cut into segments."""
    ordered = [_reading_order(blocks, width) for blocks, (width, _) in zip(raw, sizes)]
    repeated = _running_keys(ordered, sizes)
    segments: list[Segment] = []
    for number, (blocks, (_, height)) in enumerate(zip(ordered, sizes), start=1):
        for bbox, lines in blocks:
            if _in_margin(bbox, height):
                text = " ".join(line.text for line in lines).strip()
                if _PAGE_NUMBER.match(text) or _margin_key(text) in repeated:
                    continue
            segments.extend(_split_block(number, lines))
    return segments


def _reading_order(blocks, width: float):
    """Full-width blocks in place; between them, the left column (top to bottom), then the right column."""
    mid = width / 2
    out, left, right = [], [], []
    for block in sorted(blocks, key=lambda b: (round(b[0][1]), b[0][0])):
        x0, _, x1, _ = block[0]
        if x1 <= mid + 2:
            left.append(block)
        elif x0 >= mid - 2:
            right.append(block)
        else:
            out += left + right + [block]
            left, right = [], []
    return out + left + right


def _in_margin(bbox, height: float) -> bool:
    return bbox[3] <= height * MARGIN or bbox[1] >= height * (1 - MARGIN)


def _margin_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_keys(ordered, sizes) -> set[str]:
    """Margin texts (digits ignored) found on at least three pages (or on every page of a two-page file)."""
    counts: Counter[str] = Counter()
    for blocks, (_, height) in zip(ordered, sizes):
        keys = {_margin_key(" ".join(l.text for l in lines)) for bbox, lines in blocks if _in_margin(bbox, height)}
        counts.update(keys)
    pages = sum(1 for blocks in ordered if blocks)
    need = min(3, pages) if pages >= 2 else 10**9
    return {key for key, n in counts.items() if n >= need and key.strip("# ")}


def _split_block(page: int, lines: list[Line]) -> list[Segment]:
    """A PyMuPDF block may hold a heading and its paragraph, or two paragraphs: cut where font or spacing changes."""
    segments = [Segment(page, [lines[0]])]
    for prev, line in zip(lines, lines[1:]):
        height = max(prev.y1 - prev.y0, 1.0)
        gap = line.y0 - prev.y1
        if abs(line.size - prev.size) > 0.6 or line.bold != prev.bold or gap > 0.6 * height:
            segments.append(Segment(page, [line]))
        else:
            segments[-1].lines.append(line)
    return segments


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)
