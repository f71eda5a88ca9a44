"""Which files under a batch's input folder are documents, and which are skipped and why."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..store import portable_name
from .manifest import INDEX_NAME, LOCK_NAME, MANIFEST_NAME

_LINKED_FILE = "symbolic link (not followed; --follow-symlinks reads what it points to)"
_LINKED_FOLDER = "symbolic link to a folder (not followed; --follow-symlinks scans it)"


@lru_cache(maxsize=1)
def supported_suffixes() -> tuple[str, ...]:
    """Every suffix the readers read (their own registry), so batch and extract never disagree."""
    from ..sources import (
        SUFFIXES,  # the readers load PyMuPDF: only when a batch runs, not on every CLI start
    )

    return SUFFIXES


def is_batch_output(folder: Path) -> bool:
    """A folder a batch wrote (its lock file, or its manifest and index): never input to another batch."""
    return (folder / LOCK_NAME).exists() or ((folder / MANIFEST_NAME).is_file() and (folder / INDEX_NAME).is_file())


def discover(input_dir: Path, pattern: str | None = None, exclude: Path | None = None,
             follow_symlinks: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """(supported documents, [(skipped file or folder, note)]) under `input_dir`, as sorted POSIX paths relative to
    it (a folder's with a trailing '/').

    Hidden files and folders (name starting with '.') are skipped silently; so is `exclude` (the output folder when
    it lies inside the input). Other batches' output folders are skipped with a note, and so are symbolic links
    unless `follow_symlinks` (a link to a secret must not be read and sent to an LLM without being asked for).
    `pattern` (a glob such as '*.pdf' or 'papers/**/*.pdf') narrows the documents.
    """
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    exclude = exclude.resolve() if exclude else None
    suffixes = supported_suffixes()
    scanned = {os.path.realpath(input_dir)}
    for root, dirs, files in os.walk(input_dir, followlinks=follow_symlinks):
        root_path = Path(root)
        keep = []
        for name in sorted(dirs):
            path = root_path / name
            if name.startswith(".") or (exclude and path.resolve() == exclude):
                continue
            rel = path.relative_to(input_dir).as_posix() + "/"
            if path.is_symlink() and not follow_symlinks:
                skipped.append((rel, _LINKED_FOLDER))
            elif os.path.realpath(path) in scanned:
                skipped.append((rel, "the same folder as one already scanned"))
            elif is_batch_output(path):
                skipped.append((rel, "output folder of a batch (not scanned)"))
            else:
                scanned.add(os.path.realpath(path))
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            rel = path.relative_to(input_dir).as_posix()
            if pattern and not (Path(rel).match(pattern) or Path(name).match(pattern)):
                continue
            if path.is_symlink() and not follow_symlinks:
                skipped.append((rel, _LINKED_FILE))
                continue
            if not path.is_file():
                continue
            if path.suffix.lower() in suffixes:
                found.append(rel)
            else:
                skipped.append((rel, f"unsupported file type '{portable_name(path.suffix or name)}'"))
    return sorted(found), sorted(skipped)
