"""Notes, script and podcast for a file or a notebook: the one entry the CLI's `notes`, `script` and `podcast` use."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import UsageError
from .. import pipeline  # called through the module: one place to stand in for the whole pipeline
from ..pipeline import DocumentResult
from ..progress import Progress
from .combine import combined_document
from .db import DB_NAME, connect, snapshot
from .index import resolve_sources


def is_notebook(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / DB_NAME).is_file()


def process_source(source: str | Path, out_dir: str | Path, settings: Settings, products: tuple[str, ...],
                   password: str | None = None, progress: Progress | None = None,
                   only: list[str] | None = None) -> DocumentResult:
    """`process_document` for a file; for a notebook folder, the same stages over its sources joined into one
    Document (`only`: some of them, by name)."""
    path = Path(source)
    if not path.is_dir():
        if only:
            raise UsageError("--sources chooses sources of a notebook; give a notebook folder, not a file")
        return pipeline.process_document(source, out_dir, settings, products=products, password=password,
                                         progress=progress)
    if not is_notebook(path):
        raise UsageError(f"{source} is a folder but not a notebook: use `batch {source}` for a folder of documents, "
                         f"or `notebook add {source} FILE...` to make it a notebook")
    conn = connect(path)
    try:
        with snapshot(conn):  # the sources as they are at one moment, even while another process adds
            ids = [row["id"] for row in resolve_sources(conn, only)] if only else None
            document = combined_document(conn, path, ids)
    finally:
        conn.close()
    return pipeline.process_extracted(document, out_dir, settings, products, progress)
