"""Sources: a file in, a `models.Document` out (text blocks in reading order, each with its page and section).

`READERS` maps each suffix to the reader of that kind of file (pdf.py: PDF, EPUB, HTML through PyMuPDF; plain.py:
Markdown and text); structure.py turns what any reader found into the Document. The bytes decide before the suffix:
a PDF is read as one whatever its name, a `.pdf` or `.epub` that is not one is refused, and a file with a suffix no
reader claims is read as HTML or text when it looks like one. Text, Markdown and HTML bytes are decoded as
encoding.py says.

Errors: a path that is missing or a directory is a usage error (exit 2); a file we cannot use (empty, damaged,
encrypted without the right password, not what its name says, no text even after OCR) is BadInput (exit 3).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import BadInput, UsageError
from ..models import Document
from .pdf import EPUB, HTML, PDF
from .plain import MARKDOWN, TEXT
from .structure import Reader, build_document

READERS: dict[str, Reader] = {
    ".pdf": PDF, ".epub": EPUB, ".html": HTML, ".htm": HTML, ".xhtml": HTML,
    ".md": MARKDOWN, ".markdown": MARKDOWN, ".txt": TEXT, ".text": TEXT,
}
KINDS = {suffix: reader.kind for suffix, reader in READERS.items()}  # suffix -> "pdf", "markdown", ...
SUFFIXES = tuple(sorted(READERS))


def extract_document(path: str | Path, password: str | None = None, ocr: bool = True, ocr_lang: str = "auto") -> Document:
    """Read one PDF/EPUB/HTML/Markdown/text file into a Document; see the module docstring for what is done.
    `ocr_lang` ("auto", or a language such as "French", "fr", "fra+eng") is the language scanned pages are OCR'd in."""
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
    reader = reader_for(source, data)
    sha = hashlib.sha256(data).hexdigest()
    return build_document(reader.read(data, source, password, (ocr_lang or "auto") if ocr else False), str(path), sha,
                          source)


def reader_for(path: Path, data: bytes) -> Reader:
    """The reader for this file, from the bytes first and the suffix second."""
    ext = path.suffix.lower()
    head = data[:1024]
    if b"%PDF-" in head:
        return PDF
    if ext == ".pdf":
        raise BadInput(f"{path} is not a PDF (no %PDF header; {_looks_like(head)})")
    if ext == ".epub" and not head.startswith(b"PK"):
        raise BadInput(f"{path} is not an EPUB (not a ZIP archive; {_looks_like(head)})")
    if ext in READERS:
        return READERS[ext]
    if head.startswith(b"PK") or b"\x00" in head:
        raise BadInput(f"{path}: unsupported file type ({_looks_like(head)}); give PDF, EPUB, HTML, Markdown or text")
    if _HTML_START.search(head[:512]):
        return HTML
    return TEXT


_HTML_START = re.compile(rb"<(!doctype html|html)[\s>]", re.I)


def _looks_like(head: bytes) -> str:
    for magic, what in ((b"PK", "a ZIP archive"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8", "a JPEG image"),
                        (b"GIF8", "a GIF image"), (b"{\\rtf", "an RTF file"), (b"\xd0\xcf\x11\xe0", "an old Office file")):
        if head.startswith(magic):
            return f"it looks like {what}"
    if _HTML_START.search(head[:512]):
        return "it looks like HTML"
    try:
        head.decode("utf-8")
        return "it looks like text"
    except UnicodeDecodeError:
        return "unknown binary content"


__all__ = ["KINDS", "READERS", "SUFFIXES", "Reader", "extract_document", "reader_for"]
