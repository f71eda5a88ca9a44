"""A reader's marks on a PDF (highlights, notes, drawings, stamps), taken out before the text is read.

MuPDF draws annotation appearances into the page text, so a FreeText note would read as if the authors wrote it.
Each page's annotations are recorded (`models.Annotation`) and then deleted from the document in memory (the file is
never written): the text read afterwards is the authors' alone. A highlight (or underline, strike-out, squiggle)
keeps the words under it as its `quote`; build_document finds that quote in the page's text, so the notes stage can
tell which sentence the reader marked.
"""

from __future__ import annotations

import pymupdf

from ..models import Annotation
from .structure import fix_characters

MARKUP = {"Highlight", "Underline", "StrikeOut", "Squiggly"}
SKIP = {"Popup", "Link", "Widget"}  # a popup is the window of another note; links and form fields are no one's mark


def take_annotations(doc: pymupdf.Document) -> list[Annotation]:
    """Every page's annotations as data, then removed from `doc` so that get_text no longer sees them."""
    found: list[Annotation] = []
    for page in doc:
        annots = [a for a in (page.annots() or []) if a.type[1] not in SKIP]
        if not annots:
            continue
        words = page.get_text("words", flags=pymupdf.TEXT_MEDIABOX_CLIP) if any(a.type[1] in MARKUP for a in annots) \
            else []
        for annot in annots:
            kind, info = annot.type[1], annot.info or {}
            quote = _words_under(words, annot.vertices or []) if kind in MARKUP else ""
            found.append(Annotation(kind=kind, page=page.number + 1, rect=tuple(round(v, 1) for v in annot.rect),
                                    text=fix_characters(info.get("content") or "").strip(), quote=quote,
                                    author=(info.get("title") or "").strip()))
        for xref in [a.xref for a in annots]:
            annot = page.load_annot(xref)
            if annot is not None:
                page.delete_annot(annot)
    return found


def _words_under(words: list[tuple], vertices: list) -> str:
    """The page's words whose middle lies in one of the marked quads (four points each), in reading order; a glyph
    the font maps to no character (U+FFFD, "q · k = \ufffddk") left out, as it is of every note."""
    rects = [pymupdf.Quad(vertices[i:i + 4]).rect for i in range(0, len(vertices) - 3, 4)]
    chosen = [w[4] for w in words
              if any(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2) in r for r in rects)]
    return " ".join(fix_characters(" ".join(chosen)).replace("\ufffd", " ").split())  # a glyph with no character
