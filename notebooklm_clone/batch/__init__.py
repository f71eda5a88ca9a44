"""Whole folders: discover documents, run `pipeline.process_document` on each (in local processes or on Ray), and
keep a manifest (`OUT/batch.json`) that makes the batch resumable, with an index (`OUT/index.html`) of the outputs.

    manifest.py   Entry, Manifest, the append-only journal, load_manifest, settings_fingerprint
    discovery.py  which files under the input folder are documents
    task.py       the unit of work for one document (plain data in and out)
    executors.py  where the tasks run: local worker processes or Ray
    runner.py     Batch / run_batch: plan, resume, execute, record
    index.py      index.html
    progress.py   progress on stderr and the final table
"""

from .discovery import discover, is_batch_output
from .executors import make_executor, shared_llm
from .index import current_outputs, render_index
from .manifest import (
    INDEX_NAME,
    MANIFEST_NAME,
    Entry,
    Manifest,
    load_manifest,
    normalize_products,
    settings_fingerprint,
)
from .progress import Reporter, summary_table
from .runner import DEFAULT_TIME_LIMIT, Batch, run_batch, worker_settings_for
from .task import run_document_task

__all__ = [
    "DEFAULT_TIME_LIMIT", "INDEX_NAME", "MANIFEST_NAME", "Batch", "Entry", "Manifest", "Reporter", "current_outputs",
    "discover", "is_batch_output", "load_manifest", "make_executor", "normalize_products", "render_index",
    "run_batch", "run_document_task", "settings_fingerprint", "shared_llm", "summary_table", "worker_settings_for",
]
