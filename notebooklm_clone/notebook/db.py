"""NB/notebook.db: the sources of a notebook, their sentences and a full-text index, in one SQLite file.

Python's own sqlite3 with WAL (a reader never waits for a writer), foreign keys (removing a source removes its
pages and sentences) and a busy timeout (two `notebook add` at once take turns instead of failing). The schema
version is SQLite's `user_version`; `MIGRATIONS[n]` takes a database from version n to n+1, each in its own
transaction, so an old notebook is brought up to date when it is opened and a half-applied migration never stays.

Tables:
- `sources`: one row per file (path as added, content hash, state "indexed" or "failed" with its one-line error,
  title, language, page count, the Document as JSON so later stages need not extract again);
- `sentences`: the body sentences of a source (`stages.evidence.sentence_index`: id, page, verbatim text, section),
  the unit a citation points at; `clean` is 0 for debris and headings (a heading names a topic, it answers nothing:
  its words are searched through the `section` of the sentences under it);
- `sentences_fts`: an FTS5 index over the clean sentences' text and section (porter stemming, diacritics folded),
  external-content (the text is stored once, in `sentences`, seen through the view `indexed_sentences`), kept in
  step by triggers, ranked with BM25. Chinese and Japanese write no spaces, so unicode61 would make a whole clause
  one token that no question matches: the index sees the text through `fts_text` (an SQL function every connection
  registers), which makes each CJK character a token of its own; a CJK word is then searched as a phrase of its
  characters (index.match_query). Writing the sentences therefore needs this package's connection, not a bare
  sqlite3 shell.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..errors import BadInput, UsageError
from ..text.split import CJK_CHARACTER

DB_NAME = "notebook.db"
BUSY_TIMEOUT_MS = 60_000  # another `add` may hold the write lock while it stores a large source

MIGRATIONS = [
    # 0 -> 1: sources, sentences, the full-text index and the triggers that keep it in step
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('indexed', 'failed')),
        error TEXT,
        title TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'en',
        page_count INTEGER NOT NULL DEFAULT 0,
        document TEXT,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE sentences (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        sid TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        page INTEGER NOT NULL,
        text TEXT NOT NULL,
        section TEXT NOT NULL DEFAULT '',
        clean INTEGER NOT NULL DEFAULT 1,
        UNIQUE (source_id, ordinal)
    );
    CREATE INDEX sentences_by_source ON sentences(source_id, ordinal);
    CREATE VIEW indexed_sentences AS SELECT id, text, section FROM sentences WHERE clean;
    CREATE VIRTUAL TABLE sentences_fts USING fts5(
        text, section, content='indexed_sentences', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2');
    CREATE TRIGGER sentences_indexed AFTER INSERT ON sentences WHEN new.clean BEGIN
        INSERT INTO sentences_fts(rowid, text, section) VALUES (new.id, new.text, new.section);
    END;
    CREATE TRIGGER sentences_unindexed AFTER DELETE ON sentences WHEN old.clean BEGIN
        INSERT INTO sentences_fts(sentences_fts, rowid, text, section) VALUES ('delete', old.id, old.text, old.section);
    END;
    """,
    # 1 -> 2: Chinese and Japanese characters indexed one by one (fts_text), everything indexed again
    """
    DROP TRIGGER sentences_indexed;
    DROP TRIGGER sentences_unindexed;
    DROP VIEW indexed_sentences;
    CREATE VIEW indexed_sentences AS
        SELECT id, fts_text(text) AS text, fts_text(section) AS section FROM sentences WHERE clean;
    CREATE TRIGGER sentences_indexed AFTER INSERT ON sentences WHEN new.clean BEGIN
        INSERT INTO sentences_fts(rowid, text, section) VALUES (new.id, fts_text(new.text), fts_text(new.section));
    END;
    CREATE TRIGGER sentences_unindexed AFTER DELETE ON sentences WHEN old.clean BEGIN
        INSERT INTO sentences_fts(sentences_fts, rowid, text, section)
            VALUES ('delete', old.id, fts_text(old.text), fts_text(old.section));
    END;
    INSERT INTO sentences_fts(sentences_fts) VALUES ('rebuild');
    """,
]
VERSION = len(MIGRATIONS)


def db_path(notebook: str | Path) -> Path:
    return Path(notebook) / DB_NAME


def connect(notebook: str | Path, create: bool = False) -> sqlite3.Connection:
    """An open, migrated connection to NB/notebook.db; `create` makes the folder and database when missing."""
    folder = Path(notebook)
    path = db_path(folder)
    if not path.exists():
        if not create:
            raise UsageError(f"{folder} is not a notebook (no {DB_NAME}); create it with `notebook add {folder} FILE`")
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder} is a file, not a notebook folder")
        folder.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: a crash loses no committed transaction's consistency
        conn.create_function("fts_text", 1, fts_text, deterministic=True)
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"{path}: not a usable notebook database ({exc})") from None
    return conn


def fts_text(text: str | None) -> str | None:
    """`text` as the full-text index sees it: each Chinese or Japanese character a word of its own."""
    return CJK_CHARACTER.sub(lambda m: f" {m.group()} ", text) if text else text


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks, each atomically; returns the version it is at. An up-to-date
    notebook is only read: a reader (`ask`, `list`) never queues behind a writer's lock."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == VERSION:
        return VERSION
    while True:
        with transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > VERSION:
                raise UsageError(f"this notebook was written by a newer notebooklm-clone (schema {version} > "
                                 f"{VERSION}); upgrade to open it")
            if version == VERSION:
                return version
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")


@contextmanager
def transaction(conn: sqlite3.Connection):
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: the write lock is taken up front, so two writers queue
    on the busy timeout instead of one failing halfway with 'database is locked'."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def snapshot(conn: sqlite3.Connection):
    """A read transaction: every read inside sees the notebook at one moment, so a source another process indexes
    again meanwhile (deleted and stored under a new id) cannot vanish between a search and the reads that follow
    it. With WAL the writer does not wait for it."""
    conn.execute("BEGIN DEFERRED")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """A migration script split into complete statements (triggers hold semicolons of their own)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
