"""PDF, EPUB and HTML, read with PyMuPDF (which lays EPUB and HTML out into pages of its own, so their page numbers
are those of that layout). What happens to a page, in order:
0. the reader's annotations are recorded and removed first (annotations.py), so their appearance is not read as text;
1. text from PyMuPDF's dict output; a page with images but no text layer is OCR'd (ocr.py), and so is one whose
   invisible text layer from an earlier OCR does not read as words (fewer than GOOD_LAYER of them word-like);
2. blocks put in reading order: full-width blocks keep their place, and between two of them the left column is read
   before the right one (OCR'd pages come in ocr.py's column order);
3. running headers/footers (the same text, digits ignored, in the top or bottom margin of several pages) and bare page
   numbers are dropped;
4. each block is cut into segments where font or spacing changes (a heading and its paragraph share a block).
Joining lines, headings and references are structure.py's, as for every kind of file.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pymupdf

from ..errors import BadInput
from ..models import PageInfo
from .annotations import take_annotations
from .encoding import declared_charset, decode_text
from .ocr import ISO, OcrFailed, PageReader, find_tessdata, tesseract_languages, word_share
from .structure import Line, Parsed, Reader, Segment, fix_characters

GOOD_LAYER = 0.7  # share of word-like words (ocr.word_share) an earlier OCR's text layer needs to be kept
MARGIN = 0.12  # top/bottom fraction of the page where running headers, footers and page numbers live
_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_PRESERVE_WHITESPACE  # ligatures expanded, no images
_PAGE_NUMBER = re.compile(r"^[\s\-\u2013\u2014]*(page\s+)?([0-9]{1,5}|[ivxlcdm]{1,7})(\s*(/|of)\s*[0-9]{1,5})?[\s\-\u2013\u2014]*$", re.I)


def read_pdf(data: bytes, path: Path, password: str | None, ocr: bool | str) -> Parsed:
    return _parse_layout(data, "pdf", path, password, ocr)


def read_epub(data: bytes, path: Path, password: str | None, ocr: bool | str) -> Parsed:
    return _parse_layout(data, "epub", path, password, ocr)


def read_html(data: bytes, path: Path, password: str | None, ocr: bool | str) -> Parsed:
    """MuPDF reads HTML as UTF-8 whatever it declares: it gets UTF-8, decoded as encoding.py says."""
    text, warning = decode_text(data, path, declared=declared_charset(data))
    parsed = _parse_layout(text.encode("utf-8"), "html", path, password, ocr)
    if warning:
        parsed.warnings.append(warning)
    return parsed


PDF, EPUB, HTML = Reader("pdf", read_pdf), Reader("epub", read_epub), Reader("html", read_html)


def _parse_layout(data: bytes, kind: str, path: Path, password: str | None, ocr: bool | str) -> Parsed:
    """`ocr`: False (off), True or "auto" (each scanned page in the language it is written in), or --ocr-lang."""
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
        reader = PageReader(tessdata, tesseract_languages(ocr if isinstance(ocr, str) else "auto", tessdata)) \
            if tessdata else None
        annotations = take_annotations(doc) if kind == "pdf" else []
        pages: list[PageInfo] = []
        raw: list[list[tuple[tuple[float, float, float, float], list[Line]]]] = []
        sizes: list[tuple[float, float]] = []
        scanned: list[bool] = []
        trouble: dict[str, list[int]] = {"unreadable": [], "needs-ocr": [], "ocr-layer-redone": []}
        failed: dict[str, list[int]] = {}  # reason -> pages
        for index in range(page_count):
            try:
                page = doc[index]
                size = (page.rect.width, page.rect.height)
                blocks, how, size = _read_page(page, reader, size)
            except OcrFailed as exc:
                blocks, how = [], "ocr-failed"
                failed.setdefault(str(exc), []).append(index + 1)
            except Exception:  # noqa: BLE001 - one broken page must not lose the rest
                blocks, how, size = [], "unreadable", (612.0, 792.0)
            trouble.get(how, []).append(index + 1)
            sizes.append(size)
            scanned.append(how in ("ocr", "ocr-layer-redone"))
            pages.append(PageInfo(number=index + 1, ocr=how.startswith("ocr") and how != "ocr-failed",
                                  empty=not blocks))
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
    if trouble["ocr-layer-redone"]:
        warnings.append(f"pages {_ranges(trouble['ocr-layer-redone'])} had an unreadable OCR text layer; OCR'd again")
    for reason, numbers in failed.items():
        warnings.append(f"OCR failed on page{'s' if len(numbers) > 1 else ''} {_ranges(numbers)} ({reason}); "
                        f"{'they' if len(numbers) > 1 else 'it'} stayed empty")
    if reader and reader.missing:
        warnings.append(f"pages in {', '.join(sorted(reader.missing))} script were read without their language data "
                        f"(install the tesseract-ocr package for that language)")
    segments = _layout_segments(raw, sizes, scanned)
    language = ""
    if reader and reader.used and all(s for s, blocks in zip(scanned, raw) if blocks) and any(raw):
        language = ISO.get(max(reader.used, key=reader.used.get).split("+")[0], "")
    return Parsed(segments=segments, page_count=page_count, pages=pages, metadata=metadata, toc=toc,
                  warnings=warnings, annotations=annotations, language=language)


def _read_page(page: pymupdf.Page, reader: PageReader | None, size: tuple[float, float]):
    """(blocks, how, size): how is "text", "ocr-layer" (a good earlier OCR's invisible text), "ocr", "ocr-layer-redone",
    "blank" or "needs-ocr" (pictures but no OCR); OcrFailed when Tesseract fails. An OCR'd page's size is its upright
    one."""
    blocks = _page_blocks(page.get_text("dict", flags=_FLAGS))
    how = "text"
    if blocks and _invisible_share(page) >= 0.5:  # an earlier OCR's text: kept only when it reads as words
        text = " ".join(line.text for _, lines in blocks for line in lines)
        if reader is None or word_share(text) >= GOOD_LAYER:
            return blocks, "ocr-layer", size
        blocks, how = [], "ocr-layer-redone"
    if blocks:
        return blocks, how, size
    if not page.get_images(full=False):
        return [], "blank", size
    if reader is None:
        return [], "needs-ocr", size
    blocks, size = reader.read(page)
    return blocks, "ocr" if how == "text" else how, size


def _invisible_share(page: pymupdf.Page) -> float:
    """The share of the page's characters drawn invisibly (render mode 3): the text layer OCR tools lay over a scan."""
    try:
        spans = page.get_texttrace()
    except Exception:  # noqa: BLE001 - an older MuPDF: treat the text as visible
        return 0.0
    total = sum(len(s["chars"]) for s in spans)
    return sum(len(s["chars"]) for s in spans if s.get("type") == 3 or s.get("opacity", 1) == 0) / total if total else 0.0


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


def _layout_segments(raw, sizes, scanned) -> list[Segment]:
    """Reading order (OCR'd pages come in theirs), then running headers/footers and page numbers out, then blocks cut
    into segments."""
    ordered = [blocks if ocr else _reading_order(blocks, width) for blocks, (width, _), ocr in zip(raw, sizes, scanned)]
    repeated = _running_keys(ordered, sizes)
    segments: list[Segment] = []
    for number, (blocks, (_, height), ocr) in enumerate(zip(ordered, sizes, scanned), start=1):
        for bbox, lines in blocks:
            if _in_margin(bbox, height):
                text = " ".join(line.text for line in lines).strip()
                if _PAGE_NUMBER.match(text) or _margin_key(text) in repeated:
                    continue
            segments.extend([Segment(number, lines)] if ocr else _split_block(number, lines))  # OCR: ocr.py's paragraphs
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
