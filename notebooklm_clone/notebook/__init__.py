"""Notebooks: several sources in one folder (NB/notebook.db), indexed once, asked questions with cited answers.

`open_notebook` gives a migrated connection (db.py); index.py adds, refreshes, removes and searches sources;
answer.py answers a question from them with numbered citations, or says the sources do not answer it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .answer import NOT_FOUND, Answer, Citation, Turn, ask
from .db import DB_NAME, connect, snapshot, transaction
from .index import Outcome, Source, add_file, files_to_add, list_sources, load_document, refresh, remove_source, \
    resolve_sources, search, search_terms


@contextmanager
def open_notebook(folder: str | Path, create: bool = False):
    """A connection to the notebook in `folder` for a `with` block (closed after, whatever happens)."""
    conn = connect(folder, create=create)
    try:
        yield conn
    finally:
        conn.close()


__all__ = ["DB_NAME", "NOT_FOUND", "Answer", "Citation", "Outcome", "Source", "Turn", "add_file", "ask", "connect",
           "files_to_add", "list_sources", "load_document", "open_notebook", "refresh", "remove_source",
           "resolve_sources", "search", "search_terms", "snapshot", "transaction"]
