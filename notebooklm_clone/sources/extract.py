"""Extract: a source file in, a `models.Document` out (text blocks in reading order, each with its page and section).

PDF, EPUB and HTML are opened with PyMuPDF, which lays EPUB/HTML out into pages of its own (so their page numbers
are those of that layout). Markdown and plain text are parsed directly: headings from `#` lines (and `===`/`---`
underlines); pages come from form feeds when the file has them, else they are synthetic, about `TEXT_PAGE_CHARS`
characters each, cut at paragraph ends, so citations still point somewhere near (`metadata["pagination"]` says which).
Text, Markdown and HTML are read as UTF-8 (with or without BOM), UTF-16 with a BOM, or the charset an HTML page
declares; any other file is read in the most plausible legacy encoding with a warning naming it, and bytes no
encoding reads sensibly are BadInput.

What happens to a PDF page, in order:
1. text from PyMuPDF's dict output (OCR'd with Tesseract when the page has images but no text layer);
2. blocks put in reading order: full-width blocks keep their place, and between two of them the left column is read
   before the right one;
3. running headers/footers (the same text, digits ignored, in the top or bottom margin of several pages) and bare page
   numbers are dropped;
4. lines are joined; a word hyphenated across a line break is joined ("infor-/mation" -> "information") unless it
   looks like a real compound ("state-of-the-/art", or the hyphenated form occurs elsewhere in the document);
5. ligatures, soft hyphens, odd spaces and zero-width characters are normalised;
6. headings come from the outline (TOC) when the file has one, else from font size and weight;
7. the references/bibliography section is marked kind="references" so later stages can skip it.

Errors: a path that is missing or a directory is a usage error (exit 2); a file we cannot use (empty, damaged,
encrypted without the right password, not what its name says, no text even after OCR) is BadInput (exit 3).
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from ..errors import BadInput, UsageError
from ..models import Block, Document, PageInfo
from ..store import portable_name
from ..text.split import CJK_CHARACTER

TEXT_PAGE_CHARS = 3000  # synthetic page size for Markdown/plain text without form feeds
MARGIN = 0.12  # top/bottom fraction of the page where running headers, footers and page numbers live
KINDS = {".pdf": "pdf", ".epub": "epub", ".html": "html", ".htm": "html", ".xhtml": "html",
         ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text"}
_FLAGS = pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_PRESERVE_WHITESPACE  # ligatures expanded, no images

_CHAR_FIXES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
    "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ", "\t": " ",
    "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u2008": " ", "\u2009": " ",
    "\u200a": " ", "\u2010": "-", "\u2011": "-", "\u2028": " ", "\u2029": " ", "\r": "",
})
_SPACES = re.compile(r" {2,}")
_PAGE_NUMBER = re.compile(r"^[\s\-\u2013\u2014]*(page\s+)?([0-9]{1,5}|[ivxlcdm]{1,7})(\s*(/|of)\s*[0-9]{1,5})?[\s\-\u2013\u2014]*$", re.I)
_REFERENCES = re.compile(r"^(\d+(\.\d+)*\.?\s+|[ivx]+\.\s+)?(references|bibliography|works cited|literature cited|"
                         r"references and notes|cited literature|sources)$", re.I)
_NUMBERING = re.compile(r"^(\d+(\.\d+)*\.?|[ivxIVX]+\.|[A-Z]\.)\s+")
_BULLET = re.compile(r"^([\u2022\u25e6\u25aa\u2023\u2043\u00b7*\u2013-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_CAPTION = re.compile(r"^(figure|fig\.|table|chart)\s*\d+[.:]", re.I)
# Starts only where a run of letters starts: a match tried from inside a long run would rescan it (quadratic)
_HYPHENATED = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?:-[^\W\d_]+)+")
LONGEST_WORD = 100  # characters; the start of a longer "word" (a run without spaces) is not looked at
_KEEP_HYPHEN_PREFIXES = {"self", "well", "non", "ex", "all", "half", "cross", "co", "anti", "pre", "post", "semi"}


def clean_text(text: str) -> str:
    """Ligatures expanded, soft hyphens and zero-width characters dropped, odd spaces made plain, NFC composed.
    (Not NFKC: that would turn 10⁶ into 106.)"""
    text = unicodedata.normalize("NFC", text.translate(_CHAR_FIXES))
    return _SPACES.sub(" ", text)


# ---------------------------------------------------------------------------------------------------------- entry


def extract_document(path: str | Path, password: str | None = None, ocr: bool = True) -> Document:
    """Read one PDF/EPUB/HTML/Markdown/text file into a Document; see the module docstring for what is done."""
    source = Path(path)
    if not source.exists():
        raise UsageError(f"no such file: {path}")
    if source.is_dir():
        raise UsageError(f"{path} is a directory, not a file (use `batch` for folders)")
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise BadInput(f"{path} is empty (0 bytes)")
    kind = detect_kind(source, data)
    sha = hashlib.sha256(data).hexdigest()
    if kind in ("markdown", "text"):
        text, warning = _decode(data, source)
        parsed = _parse_plain(text, markdown=kind == "markdown")
    elif kind == "html":  # MuPDF reads HTML as UTF-8 whatever it declares: it gets UTF-8
        text, warning = _decode(data, source, declared=_declared_charset(data))
        parsed = _parse_layout(text.encode("utf-8"), kind, source, password, ocr)
    else:
        warning = None
        parsed = _parse_layout(data, kind, source, password, ocr)
    if warning:
        parsed.warnings.append(warning)
    return _finish(parsed, str(path), sha, source)


def detect_kind(path: Path, data: bytes) -> str:
    """pdf, epub, html, markdown or text, from the bytes first and the extension second."""
    ext = path.suffix.lower()
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if ext == ".pdf":
        raise BadInput(f"{path} is not a PDF (no %PDF header; {_looks_like(head)})")
    if ext == ".epub":
        if not head.startswith(b"PK"):
            raise BadInput(f"{path} is not an EPUB (not a ZIP archive; {_looks_like(head)})")
        return "epub"
    if ext in KINDS:
        return KINDS[ext]
    if head.startswith(b"PK") or b"\x00" in head:
        raise BadInput(f"{path}: unsupported file type ({_looks_like(head)}); give PDF, EPUB, HTML, Markdown or text")
    if re.search(rb"<(!doctype html|html)[\s>]", head[:512], re.I):
        return "html"
    return "text"


def _looks_like(head: bytes) -> str:
    for magic, what in ((b"PK", "a ZIP archive"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8", "a JPEG image"),
                        (b"GIF8", "a GIF image"), (b"{\\rtf", "an RTF file"), (b"\xd0\xcf\x11\xe0", "an old Office file")):
        if head.startswith(magic):
            return f"it looks like {what}"
    if re.search(rb"<(!doctype html|html)[\s>]", head[:512], re.I):
        return "it looks like HTML"
    try:
        head.decode("utf-8")
        return "it looks like text"
    except UnicodeDecodeError:
        return "unknown binary content"


# Legacy 8-bit and East Asian encodings tried when a text file is not UTF-8, Windows-1252 first: it wins ties.
LEGACY_ENCODINGS = ("cp1252", "cp1250", "cp1251", "koi8_r", "iso8859_7", "cp932", "euc_jp", "gb18030", "big5",
                    "euc_kr")
DETECTOR_BONUS = 0.1
_SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "CJK": "CJK", "HANGUL": "HANGUL"}


def _decode(data: bytes, path: Path, declared: str | None = None) -> tuple[str, str | None]:
    """(text, warning): UTF-8 (with or without BOM), UTF-16 with a BOM, or the encoding the file declares, as they
    are; anything else is decoded with the most plausible legacy encoding, and the warning names it (a wrong guess
    must never pass unnoticed)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace"), None
    if b"\x00" in data[:4096]:
        raise BadInput(f"{path} is not a text file (binary content)")
    for encoding in filter(None, ("utf-8-sig", declared)):
        try:
            return data.decode(encoding), None
        except UnicodeDecodeError:
            pass
    candidates, detected = list(LEGACY_ENCODINGS), None
    try:
        import charset_normalizer

        found = [match.encoding for match in charset_normalizer.from_bytes(data[:65536])
                 if not match.encoding.startswith("utf")]  # UTF-16/32 only with a BOM: a guess there is mojibake
        candidates, detected = candidates + found, (found or [None])[0]
    except ImportError:  # pragma: no cover - a dependency; the fixed list still works
        pass
    best: tuple[float, int, str, str] | None = None
    for order, encoding in enumerate(dict.fromkeys(candidates)):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        score = _plausibility(text[:20000])
        if encoding == detected and len(text) < len(data):
            # Japanese read as Chinese (or Korean as Japanese) looks as plausible to _plausibility as the right
            # reading; the detector knows which characters are frequent in each, so its multi-byte pick wins ties
            score += DETECTOR_BONUS
        if best is None or score > best[0]:
            best = (score, order, encoding, text)
    if best is None or best[0] < 0.5:
        raise BadInput(f"{path} is not UTF-8 and no known text encoding reads it; convert it to UTF-8 "
                       "(e.g. iconv -f ENCODING -t UTF-8)")
    _, _, encoding, text = best
    return text, (f"{path.name} is not UTF-8; read it as {encoding} (a guess: if the text looks wrong, convert the "
                  "file to UTF-8, e.g. iconv -f ENCODING -t UTF-8)")


_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)


def _declared_charset(data: bytes) -> str | None:
    """The encoding an HTML file names in a <meta> tag near its top, if Python knows it. Latin-1 and ASCII mean
    Windows-1252, as browsers read them (its quotes and dashes are where Latin-1 has control codes)."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _plausibility(text: str) -> float:
    """How much `text` looks like real writing: its letters in one script, mostly lower case where the script has
    case, and few control, private-use, half-width or rare CJK-extension characters (the marks of a wrong
    decoding)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    groups: dict[str, int] = {}
    for c in letters:
        first = unicodedata.name(c, "UNKNOWN").split()[0]
        group = _SCRIPT_GROUPS.get(first, first)
        groups[group] = groups.get(group, 0) + 1
    script, count = max(groups.items(), key=lambda item: item[1])
    purity = count / len(letters)
    if script == "LATIN":  # Latin-script languages write mostly unaccented letters; mojibake of others does not
        purity *= min(1.0, sum(c.isascii() for c in letters) / len(letters) / 0.6)
    cased = [c for c in letters if c.islower() or c.isupper()]
    lower = sum(c.islower() for c in cased) / len(cased) if len(cased) >= len(letters) / 2 else 1.0
    rare = sum(1 for c in text if (unicodedata.category(c) in ("Cc", "Co", "Cn") and c not in "\n\r\t\f")
               or "\uff61" <= c <= "\uff9f" or "\u2500" <= c <= "\u259f" or "\u3400" <= c <= "\u4dbf"
               or c >= "\U00020000") / len(text)
    return purity * (0.6 + 0.4 * min(1.0, lower / 0.7)) - 3 * rare


# --------------------------------------------------------------------------------------------- shared structures


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    y0: float = 0.0
    y1: float = 0.0


@dataclass
class _Segment:
    """A run of lines with one font size/weight: a paragraph or a heading candidate."""

    page: int
    lines: list[_Line]
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
class _Parsed:
    segments: list[_Segment]
    page_count: int
    pages: list[PageInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    toc: list[tuple[int, str, int]] = field(default_factory=list)
    headings_done: bool = False  # Markdown/text: headings already known
    title_hint: str = ""
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ PDF / EPUB / HTML


def _parse_layout(data: bytes, kind: str, path: Path, password: str | None, ocr: bool) -> _Parsed:
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
        raw: list[list[tuple[tuple[float, float, float, float], list[_Line]]]] = []
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
            toc = [(lvl, clean_text(title).strip(), pg) for lvl, title, pg, *_ in doc.get_toc(simple=True)]
        except Exception:  # noqa: BLE001
            toc = []
        metadata = {k: clean_text(v).strip() for k, v in (doc.metadata or {}).items() if isinstance(v, str) and v.strip()}
    if trouble["unreadable"]:
        warnings.append(f"pages {_ranges(trouble['unreadable'])} could not be read and were skipped")
    if trouble["needs-ocr"]:
        why = "OCR is off (--no-ocr)" if not ocr else (
            "Tesseract language data not found (install tesseract-ocr and tesseract-ocr-eng, or set TESSDATA_PREFIX)")
        warnings.append(f"pages {_ranges(trouble['needs-ocr'])} have no text layer and stayed empty: {why}")
    if trouble["ocr-failed"]:
        warnings.append(f"OCR failed on pages {_ranges(trouble['ocr-failed'])}; they stayed empty")
    segments = _layout_segments(raw, sizes)
    return _Parsed(segments=segments, page_count=page_count, pages=pages, metadata=metadata, toc=toc,
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


def _page_blocks(page_dict: dict) -> list[tuple[tuple[float, float, float, float], list[_Line]]]:
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
            lines.append(_Line(text, round(main["size"], 1), bold, bbox[1], bbox[3]))
        if lines:
            blocks.append((tuple(block["bbox"]), lines))
    return blocks


def _merge_ocr_lines(blocks):
    """Tesseract gives one block per line and a size per word: rebuild paragraphs from line spacing, and give each
    paragraph one size (its median line height) so font-based heading detection is not fooled by OCR noise."""
    merged: list[tuple[list[float], list[_Line]]] = []
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


def _layout_segments(raw, sizes) -> list[_Segment]:
    """Reading order, then running headers/footers and page numbers out, then blocks cut into segments."""
    ordered = [_reading_order(blocks, width) for blocks, (width, _) in zip(raw, sizes)]
    repeated = _running_keys(ordered, sizes)
    segments: list[_Segment] = []
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


def _split_block(page: int, lines: list[_Line]) -> list[_Segment]:
    """A PyMuPDF block may hold a heading and its paragraph, or two paragraphs: cut where font or spacing changes."""
    segments = [_Segment(page, [lines[0]])]
    for prev, line in zip(lines, lines[1:]):
        height = max(prev.y1 - prev.y0, 1.0)
        gap = line.y0 - prev.y1
        if abs(line.size - prev.size) > 0.6 or line.bold != prev.bold or gap > 0.6 * height:
            segments.append(_Segment(page, [line]))
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


# ------------------------------------------------------------------------------------------- Markdown / text


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


def _parse_plain(text: str, markdown: bool) -> _Parsed:
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
    segments: list[_Segment] = []
    page, page_chars = 1, 0
    for page_text in text.split("\f"):
        if segments and has_form_feeds:
            page += 1
        for para in _plain_paragraphs(page_text, markdown):
            if not has_form_feeds and page_chars >= TEXT_PAGE_CHARS:
                page, page_chars = page + 1, 0
            kind, level, body = para
            lines = [_Line(clean_text(line), 0.0, False) for line in body]
            seg = _Segment(page, lines, kind=kind, level=level)
            if kind == "list":
                seg.text = "\n".join(l.text.strip() for l in lines)
            segments.append(seg)
            page_chars += sum(len(l) for l in body)
    pages = max(page, 1)
    metadata["pagination"] = "form feeds" if has_form_feeds else f"synthetic (~{TEXT_PAGE_CHARS} characters a page)"
    return _Parsed(segments=segments, page_count=pages, pages=[PageInfo(number=n) for n in range(1, pages + 1)],
                   metadata=metadata, headings_done=True, title_hint=metadata.get("title", ""))


def _plain_paragraphs(text: str, markdown: bool):
    """(kind, level, lines) per paragraph."""
    in_fence, fence_lines = False, []
    para: list[str] = []

    def flush():
        if para:
            lines = [_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", l)) if markdown else l for l in para]
            kind = "list" if markdown and all(_BULLET.match(l.strip()) or l.startswith((" ", "\t")) for l in lines) \
                and _BULLET.match(lines[0].strip()) else "paragraph"
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


# ------------------------------------------------------------------------------------------------- assembly


def _finish(parsed: _Parsed, source: str, sha: str, path: Path) -> Document:
    segments = parsed.segments
    hyphenated = {w.lower() for seg in segments for line in seg.lines if "-" in line.text
                  for w in _HYPHENATED.findall(line.text)}
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
    blocks = _blocks_with_sections(segments)
    if not any(b.text.strip() for b in blocks):
        why = "; ".join(parsed.warnings)
        raise BadInput(f"no extractable text in {source}" + (f" ({why})" if why else ""))
    _mark_references(blocks)
    metadata = parsed.metadata
    title = _good_title(metadata.get("title", "")) or parsed.title_hint or (title_segment.text if title_segment else "")
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading"), "") or portable_name(path.stem)
    authors = [a.strip() for a in re.split(r";|,|&|\band\b", metadata.get("author", "")) if a.strip()]
    body = " ".join(b.text for b in blocks if b.kind != "references")
    return Document(source=source, sha256=sha, title=" ".join(title.split())[:300], authors=authors,
                    language=guess_language(body), page_count=parsed.page_count, pages=parsed.pages, blocks=blocks,
                    metadata=metadata, warnings=parsed.warnings)


def _join_lines(lines: list[_Line], hyphenated: set[str]) -> str:
    """Lines of one paragraph joined by spaces, list items by newlines, words broken at a line end made whole."""
    out, soft_break = "", False
    for line in lines:
        text = clean_text(line.text).strip()
        if not out:
            out = text
        elif soft_break:  # the line ended in a soft hyphen: a word broken where the typesetter was allowed to
            out += text
        elif _BULLET.match(text) and _BULLET.match(out.partition("\n")[0]):
            out += "\n" + text
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and text[:1].isalpha():
            out = _dehyphenate(out, text, hyphenated)
        else:
            out += " " + text
        soft_break = line.text.rstrip().endswith("\u00ad")
    return out


def _dehyphenate(left: str, right: str, hyphenated: set[str]) -> str:
    """Join `left` (ending in '-') and `right`: drop the hyphen for a word split by a line break, keep it for a compound."""
    # Only the end of `left` is read: it is the paragraph so far, and rescanning it for every line is quadratic
    prefix = re.search(r"[\w-]*-$", left[-LONGEST_WORD:]).group(0)[:-1]
    suffix = re.match(r"[\w-]*", right).group(0)
    compound = f"{prefix}-{suffix}".lower()
    keep = ("-" in prefix or not right[0].islower() or compound in hyphenated
            or prefix.lower() in _KEEP_HYPHEN_PREFIXES)
    return left + right if keep else left[:-1] + right


def _join_hyphen_across_blocks(segments: list[_Segment], hyphenated: set[str]) -> None:
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


def _body_size(segments: list[_Segment]) -> float:
    weights: Counter[float] = Counter()
    for seg in segments:
        weights[seg.size] += len(seg.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _is_heading_like(seg: _Segment) -> bool:
    """Short, has letters, does not end like a sentence, is not a caption or list item."""
    text = seg.text
    return (len(text) <= 160 and len(text.split()) <= 18 and not text.endswith((".", ",", ";", ":"))
            and any(ch.isalpha() for ch in text) and not _CAPTION.match(text)
            and (not _BULLET.match(text) or bool(_NUMBERING.match(text))))


def _headings_from_fonts(segments: list[_Segment]) -> _Segment | None:
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
    sizes = sorted({round(s.size * 2) / 2 for s in candidates if s is not title and s.size >= body * 1.12}, reverse=True)
    for seg in candidates:
        if seg is title or not seg.text:
            continue
        seg.kind = "heading"
        seg.level = min(4, sizes.index(round(seg.size * 2) / 2) + 1) if seg.size >= body * 1.12 else min(4, len(sizes) + 1)
    return title


def _norm_title(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", _NUMBERING.sub("", text.strip()).lower())


def _headings_from_toc(segments: list[_Segment], toc: list[tuple[int, str, int]]) -> None:
    """Each outline entry marks the first matching text on its page as a heading of the entry's level."""
    by_page: dict[int, list[_Segment]] = {}
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


def _headings_beside_toc(segments: list[_Segment]) -> None:
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


def _title_by_size(segments: list[_Segment]) -> _Segment | None:
    page_one = [s for s in segments[:15] if s.page == 1]
    if not page_one:
        return None
    biggest = max(page_one, key=lambda s: s.size)
    return biggest if biggest.size > _body_size(segments) * 1.2 else None


def _blocks_with_sections(segments: list[_Segment]) -> list[Block]:
    stack: list[tuple[int, str]] = []
    blocks = []
    for seg in segments:
        kind = seg.kind
        if kind == "heading":
            while stack and stack[-1][0] >= seg.level:
                stack.pop()
            stack.append((seg.level, seg.text))
        elif kind == "paragraph":
            if _CAPTION.match(seg.text):
                kind = "caption"
            elif "\n" in seg.text and _BULLET.match(seg.text):
                kind = "list"
        blocks.append(Block(text=seg.text, page=seg.page, kind=kind, level=seg.level if kind == "heading" else 0,
                            section=[title for _, title in stack]))
    return blocks


def _mark_references(blocks: list[Block]) -> None:
    """From a "References"/"Bibliography" heading (or a lone line saying so) to the next heading of the same or a
    higher level (or, for a lone line, any heading)."""
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
        if block.kind == "heading" and block.level <= level:
            break
        block.kind = "references"


def _good_title(title: str) -> str:
    title = title.strip()
    if not title or re.search(r"\.(docx?|pdf|tex|dvi|indd|rtf|odt)$|^untitled|^microsoft word|^slide \d", title, re.I):
        return ""
    return title


_LANGDETECT_READY = False


def guess_language(text: str) -> str:
    """ISO 639-1 code by langdetect (seeded, so the same text always gives the same answer); "en" if unsure."""
    global _LANGDETECT_READY
    sample = text[:4000]
    if len(sample.split()) < 3 and len(CJK_CHARACTER.findall(sample)) < 6:  # Chinese and Japanese use no spaces
        return "en"
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        return "en"
    if not _LANGDETECT_READY:
        DetectorFactory.seed = 0
        _LANGDETECT_READY = True
    try:
        return detect(sample).split("-")[0]
    except LangDetectException:
        return "en"
