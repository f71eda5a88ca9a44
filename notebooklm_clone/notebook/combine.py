"""A notebook's sources joined into one Document, so notes, script and podcast run on a notebook as on a file.

Each source's blocks keep their order and go under a top-level section named by the source's title: the notes
group key points by source, the episode gives each source its own segment and names it, and no point can be
attributed to the wrong source because every point rests on sentences of one section. Pages are numbered on from
one source to the next, and `Document.page_sources` maps each page back to (source, page in it), which is how the
outputs cite: "(memo.pdf, p. 1)". The reader's annotations move with their pages. A source whose file was deleted
after it was added is still studied from what was stored, with a warning naming it until `notebook refresh` drops it.

The Documents stored at `add` are used (no second extraction). Sources keep the order they were added in, so adding
a source leaves every earlier one's text, sentence ids and chunks as they were: their map calls are answered from
the cache.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from pathlib import Path

from ..errors import UsageError
from ..models import Annotation, Block, Document, PageInfo
from ..stages.material import short_title
from ..store import portable_name
from .index import load_document, source_file

MAX_TITLES = 3  # a notebook of more sources is titled by its folder


def combined_document(conn: sqlite3.Connection, folder: str | Path, source_ids: list[int] | None = None) -> Document:
    """The notebook's indexed sources (or `source_ids` of them), in the order they were added, as one Document."""
    folder = portable_name(str(folder))  # a folder name that is not UTF-8 must still print and serialise
    rows = conn.execute("SELECT id, path, name, title, state, error, sha256 FROM sources ORDER BY id").fetchall()
    if source_ids is not None:
        rows = [r for r in rows if r["id"] in set(source_ids)]
        for row in rows:
            if row["state"] == "failed":
                raise UsageError(f"{row['name']} failed when it was added ({row['error']}); choose others")
    rows = [r for r in rows if r["state"] == "indexed"]
    if not rows:
        raise UsageError(f"{folder} has no indexed sources: add some with `notebook add {folder} FILE`")
    blocks: list[Block] = []
    pages: list[PageInfo] = []
    annotations: list[Annotation] = []
    page_sources: dict[int, tuple[str, int]] = {}
    titles, languages, warnings, offset = [], Counter(), [], 0
    used_titles: set[str] = set()
    for row in rows:
        document = load_document(conn, row["id"])
        title = _unique(document.title or Path(row["name"]).stem, used_titles)
        titles.append(title)
        languages[document.language] += sum(len(b.text) for b in document.blocks)
        for block in document.blocks:
            if _is_masthead(block, document):
                continue  # the title and author line: the outputs name each source with its title already
            section = block.section if block.section[:1] == [title] else [title, *block.section]  # no "X > X"
            blocks.append(block.model_copy(update={"page": block.page + offset, "section": section,
                                                   "level": block.level + 1 if block.level else 0}))
        for page in document.pages or [PageInfo(number=n) for n in range(1, document.page_count + 1)]:
            pages.append(page.model_copy(update={"number": page.number + offset}))
            page_sources[page.number + offset] = (row["name"], page.number)
        annotations += [a.model_copy(update={"page": a.page + offset}) for a in document.annotations]
        warnings += [f"{row['name']}: {w}" for w in document.warnings]
        if not source_file(row["path"]).exists():
            warnings.append(f"{row['name']}: its file is gone; studied as it was added (`notebook refresh "
                            f"{folder}` removes it)")
        offset += document.page_count
    name = Path(folder).resolve().name
    title = _joined(titles) if len(titles) <= MAX_TITLES else f"{name}: {len(titles)} sources"
    key = hashlib.sha256("\n".join(r["sha256"] for r in rows).encode()).hexdigest()
    return Document(source=str(folder), sha256=key, title=title, language=languages.most_common(1)[0][0],
                    page_count=offset, pages=pages, blocks=blocks, warnings=warnings, page_sources=page_sources,
                    annotations=annotations)


def _is_masthead(block: Block, document: Document) -> bool:
    """The source's title, or a short line naming only its authors, before its first section."""
    if block.section or not block.text.strip():
        return False
    text = " ".join(block.text.split())
    if text == " ".join(document.title.split()):
        return True
    names = [a for a in document.authors if a and a in text]
    rest = text
    for name in names:
        rest = rest.replace(name, "")
    return bool(names) and len(rest.strip(" ,;&*0123456789").replace(" and ", "").strip()) <= 3


def _unique(title: str, used: set[str]) -> str:
    """Two sources with one title would become one section: the second gets a number."""
    candidate, n = title, 2
    while candidate in used:
        candidate, n = f"{title} ({n})", n + 1
    used.add(candidate)
    return candidate


def _joined(titles: list[str]) -> str:
    """The notebook's title from its sources' (long ones by their heads, as the episode names them)."""
    titles = [short_title(t) for t in titles] if len(titles) > 1 else titles
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
