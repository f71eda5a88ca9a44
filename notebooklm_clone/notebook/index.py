"""Adding, refreshing, removing and searching the sources of a notebook.

Adding a source extracts it (outside any transaction: extraction is the slow part and holds no lock), then stores
the source row and its sentences in ONE transaction: a notebook killed during `add` has the source whole or not at
all, and a rerun picks up what is missing. A file already indexed with the same size and modification time is not
read again; one whose bytes changed is indexed again (its old sentences go in the same transaction); a file that
cannot be read is recorded as "failed" with its one-line error and never breaks the notebook. Work is proportional
to the document added: nothing else in the notebook is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotebookError, UsageError, one_line_error
from ..models import Document
from ..store import portable_name
from ..text.split import CJK_CHARACTER
from .db import DB_NAME, fts_text, transaction

ADDED, UPDATED, UNCHANGED, FAILED, REMOVED = "added", "updated", "unchanged", "failed", "removed"


@dataclass
class Outcome:
    """What `add` or `refresh` did with one file."""

    path: str
    name: str
    action: str  # added | updated | unchanged | failed | removed
    sentences: int = 0
    error: str = ""


@dataclass
class Source:
    id: int
    path: str
    name: str
    state: str
    error: str | None
    title: str
    language: str
    page_count: int
    sentences: int


def files_to_add(paths: list[str | Path], notebook: Path) -> dict[Path, str]:
    """{path: name} of the documents named: a file as given (named by its file name), a folder searched (batch's
    discovery: hidden files, links and the notebook folder itself left out; each named by its path inside the
    folder). A path that does not exist is a usage error before anything is done."""
    from ..batch.discovery import discover

    out: dict[Path, str] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"no such file or folder: {given}")
        if path.is_dir():
            found, _skipped = discover(path, exclude=notebook)
            for name in found:
                out.setdefault((path / name).resolve(), portable_name(name))
        else:
            out.setdefault(path.resolve(), portable_name(path.name))
    return out


def add_file(conn: sqlite3.Connection, path: Path, name: str | None = None, ocr: bool = True,
             ocr_lang: str = "auto", retry: bool = False) -> Outcome:
    """Index one file under `name` (default: its file name; see the module doc); an unreadable file is recorded as
    failed, not raised. A file that failed and has not changed since is not read again (a corrupt file fails the
    same way, and a long scan that timed out would cost its time again on every add) unless `retry`."""
    from ..sources import extract_document  # PyMuPDF loads only when a source is read

    path = path.resolve()
    key, name = source_key(path), name or portable_name(path.name)
    try:
        stat = path.stat()
    except OSError as exc:
        return _record_failure(conn, key, name, "", 0, 0, f"cannot read {key}: {exc.strerror or exc}")
    row = conn.execute("SELECT id, name, sha256, size, mtime_ns, state, error FROM sources WHERE path = ?",
                       (key,)).fetchone()
    same_file = row is not None and (row["size"], row["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
    if same_file and row["state"] == "indexed":
        return Outcome(key, row["name"], UNCHANGED, _count(conn, row["id"]))
    if same_file and row["state"] == "failed" and not retry:
        return Outcome(key, row["name"], FAILED, error=f"{row['error']} (unchanged since; --retry reads it again)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _record_failure(conn, key, name, "", stat.st_size, stat.st_mtime_ns,
                               f"cannot read {key}: {exc.strerror or exc}")
    sha = hashlib.sha256(data).hexdigest()
    if row and row["state"] == "indexed" and row["sha256"] == sha:  # touched, not changed
        with transaction(conn):
            conn.execute("UPDATE sources SET size = ?, mtime_ns = ? WHERE id = ?", (stat.st_size, stat.st_mtime_ns,
                                                                                      row["id"]))
        return Outcome(key, row["name"], UNCHANGED, _count(conn, row["id"]))
    try:
        document = extract_document(path, ocr=ocr, ocr_lang=ocr_lang).model_copy(update={"source": key})
        sentences = _sentences(document)
        if not any(s.clean and s.block_kind != "heading" for s in sentences):
            raise NotebookError(f"{key}: no sentences of text to index")
    except Exception as exc:  # noqa: BLE001 - any failure of one source is recorded, the notebook goes on
        return _record_failure(conn, key, name, sha, stat.st_size, stat.st_mtime_ns, one_line_error(exc))
    with transaction(conn):
        conn.execute("DELETE FROM sources WHERE path = ?", (key,))  # its sentences go with it (foreign key)
        name = _free_name(conn, name, path)
        source_id = conn.execute(
            "INSERT INTO sources (path, name, sha256, size, mtime_ns, state, title, language, page_count, document) "
            "VALUES (?, ?, ?, ?, ?, 'indexed', ?, ?, ?, ?)",
            (key, name, sha, stat.st_size, stat.st_mtime_ns, document.title, document.language, document.page_count,
             document.model_dump_json())).lastrowid
        conn.executemany(
            "INSERT INTO sentences (source_id, sid, ordinal, page, text, section, clean) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(source_id, s.id, i, s.page, s.text, " / ".join(s.section), int(s.clean and s.block_kind != "heading"))
             for i, s in enumerate(sentences)])
    return Outcome(key, name, UPDATED if row else ADDED, _count(conn, source_id))


def refresh(conn: sqlite3.Connection, ocr: bool = True, retry: bool = False) -> list[Outcome]:
    """Every known source checked again: a changed file re-indexed, a vanished one removed (a failed one read again
    only when it changed, or with `retry`)."""
    out = []
    for row in conn.execute("SELECT path, name FROM sources ORDER BY id").fetchall():
        path = source_file(row["path"])
        if not path.exists():
            remove_source(conn, row["path"])
            out.append(Outcome(row["path"], row["name"], REMOVED))
        else:
            out.append(add_file(conn, path, row["name"], ocr=ocr, retry=retry))
    return out


def source_key(path: Path) -> str:
    """How a source's path is stored: as text, with the undecodable bytes of a file name that is not UTF-8 spelled
    %XX (SQLite holds UTF-8 only)."""
    return portable_name(str(path))


def source_file(key: str) -> Path:
    """The file a stored path names: the path itself, or, when no such file exists, the one whose name had the
    bytes its %XX spell (source_key)."""
    path = Path(key)
    if path.exists() or not re.search(r"%[89A-F][0-9A-F]", key):
        return path
    raw = re.sub(rb"%([89A-F][0-9A-F])", lambda m: bytes([int(m.group(1), 16)]), key.encode())
    return Path(os.fsdecode(raw))


def _free_name(conn: sqlite3.Connection, name: str, path: Path) -> str:
    """`name`, or when another source already goes by it, its folder and name ("2024/report.pdf"), numbered if
    need be: citations and --sources must tell two sources apart."""
    def taken(candidate: str) -> bool:
        return conn.execute("SELECT 1 FROM sources WHERE name = ?", (candidate,)).fetchone() is not None

    if not taken(name):
        return name
    candidate = portable_name(f"{path.parent.name}/{name}") if path.parent.name else name
    n = 2
    while taken(candidate):
        candidate, n = f"{Path(name).stem} ({n}){Path(name).suffix}", n + 1
    return candidate


def remove_source(conn: sqlite3.Connection, path: str) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM sources WHERE path = ?", (path,))


def resolve_sources(conn: sqlite3.Connection, names: list[str]) -> list[sqlite3.Row]:
    """The sources named by file name, path as added or path relative to here; a name that matches none, or
    several, is a usage error that lists what the notebook holds."""
    rows = conn.execute("SELECT id, path, name FROM sources ORDER BY id").fetchall()
    chosen = []
    for given in names:
        resolved = source_key(Path(given).resolve())
        hits = [r for r in rows if resolved == r["path"] or given == r["path"] or given == r["name"]]
        if len(hits) != 1:
            known = ", ".join(r["name"] for r in rows) or "none"
            why = "matches several sources" if hits else "is not in this notebook"
            raise UsageError(f"{given} {why} (sources: {known})")
        chosen.append(hits[0])
    return chosen


def list_sources(conn: sqlite3.Connection) -> list[Source]:
    rows = conn.execute(
        "SELECT s.id, s.path, s.name, s.state, s.error, s.title, s.language, s.page_count, "
        "(SELECT count(*) FROM sentences t WHERE t.source_id = s.id AND t.clean) AS sentences "
        "FROM sources s ORDER BY s.id").fetchall()
    return [Source(**dict(r)) for r in rows]


def load_document(conn: sqlite3.Connection, source_id: int) -> Document:
    """The Document stored when the source was indexed (no second extraction)."""
    row = conn.execute("SELECT document FROM sources WHERE id = ? AND state = 'indexed'", (source_id,)).fetchone()
    if row is None:
        raise UsageError(f"source {source_id} is not indexed")
    return Document.model_validate(json.loads(row["document"]))


# -- search


@dataclass
class Hit:
    """A sentence the index found, with where it is."""

    rowid: int
    source_id: int
    ordinal: int
    page: int
    text: str
    score: float  # BM25 as SQLite gives it: lower is better


_NUMBER = re.compile(r"\b\d[\d.,]*\d\b|\b\d\b")


def search_terms(text: str, language: str = "en") -> list[str]:
    """The words and numbers of `text` worth searching for (stopwords and question words left out). Chinese and
    Japanese have no spaces to find words by: each pair of neighbouring characters is a term (a two-character word
    is the commonest kind), a lone character one, pairs with a particle or question word left out."""
    from ..stages.verify import content_words

    words = [w for w in content_words(CJK_CHARACTER.sub(" ", text), language) if w not in QUESTION_WORDS]
    return list(dict.fromkeys([*_cjk_terms(text), *words, *_NUMBER.findall(text)]))


def _cjk_terms(text: str) -> list[str]:
    terms = []
    for run in re.findall(f"(?:{CJK_CHARACTER.pattern})+", text):
        pairs = [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
        terms += [p for p in pairs if p not in CJK_QUESTION_WORDS and not set(p) & CJK_FUNCTION_CHARACTERS]
    return terms


QUESTION_WORDS = frozenset("""what which who whom whose when where why how does did do is are was were tell explain
    describe according paper document source sources text say says said mention mentioned""".split())


# particles, copulas and question characters: a pair holding one says nothing about the topic
CJK_FUNCTION_CHARACTERS = frozenset("的了是在和与及或也都而之其这那为以于就吗呢么什哪谁怎何のはがをにでともへやかですま")
CJK_QUESTION_WORDS = frozenset("多少 如何 为何 是否 几个 几年 哪里 哪个 哪些 什么 为什么".split())


def match_query(terms: list[str]) -> str:
    """An FTS5 query that matches any of the terms (each quoted, so no term is read as FTS syntax; a CJK term a
    phrase of its characters, as db.fts_text indexed them)."""
    return " OR ".join('"' + fts_text(t).strip().replace('"', '""') + '"' for t in terms)


def search(conn: sqlite3.Connection, terms: list[str], limit: int = 20,
           source_ids: list[int] | None = None) -> list[Hit]:
    """The best `limit` clean sentences for `terms` by BM25 (text weighted over section), optionally within some
    sources only."""
    if not terms:
        return []
    where, params = "", [match_query(terms)]
    if source_ids:
        where = f" AND s.source_id IN ({','.join('?' * len(source_ids))})"
        params += source_ids
    rows = conn.execute(
        "SELECT s.id, s.source_id, s.ordinal, s.page, s.text, bm25(sentences_fts, 1.0, 0.25) AS score "
        "FROM sentences_fts JOIN sentences s ON s.id = sentences_fts.rowid "
        f"WHERE sentences_fts MATCH ?{where} ORDER BY score LIMIT ?", (*params, limit)).fetchall()
    return [Hit(r["id"], r["source_id"], r["ordinal"], r["page"], r["text"], r["score"]) for r in rows]


def neighbours(conn: sqlite3.Connection, hit: Hit, before: int = 1, after: int = 1) -> list[sqlite3.Row]:
    """The clean sentences around a hit on its page, in order (the hit included): the context a sentence needs."""
    return conn.execute(
        "SELECT id, source_id, ordinal, page, text FROM sentences WHERE source_id = ? AND page = ? AND clean "
        "AND ordinal BETWEEN ? AND ? ORDER BY ordinal",
        (hit.source_id, hit.page, hit.ordinal - before, hit.ordinal + after)).fetchall()


def _sentences(document: Document):
    from ..stages.evidence import sentence_index

    return sentence_index(document)


def _count(conn: sqlite3.Connection, source_id: int) -> int:
    return conn.execute("SELECT count(*) FROM sentences WHERE source_id = ? AND clean", (source_id,)).fetchone()[0]


def _record_failure(conn, key: str, name: str, sha: str, size: int, mtime_ns: int, error: str) -> Outcome:
    error = portable_name(error)  # a message may quote a file name that is not UTF-8
    with transaction(conn):
        conn.execute("DELETE FROM sources WHERE path = ?", (key,))
        name = _free_name(conn, name, Path(key))
        conn.execute("INSERT INTO sources (path, name, sha256, size, mtime_ns, state, error) "
                     "VALUES (?, ?, ?, ?, ?, 'failed', ?)", (key, name, sha, size, mtime_ns, error))
    return Outcome(key, name, FAILED, error=error)


__all__ = ["DB_NAME", "Hit", "Outcome", "Source", "add_file", "files_to_add", "list_sources", "load_document",
           "neighbours", "refresh", "remove_source", "resolve_sources", "search", "search_terms"]
