"""Atomic writes and content hashes: every artifact is written to a temp file and renamed, so an
interrupted run never leaves a half-written output and a rerun can trust whatever exists.

File names need not be valid UTF-8 on Linux: Python hands such a name over with each undecodable byte as a lone
surrogate (b'caf\\xe9' is 'caf\\udce9'). Those can be neither UTF-8 encoded nor printed, so everything written here
spells them safely: JSON as a `\\udce9` escape (which reads back to the same name), text as `%E9`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, BaseModel):  # python mode: pydantic's JSON mode mangles a dict key holding a surrogate
        return _jsonable(obj.model_dump())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    return to_jsonable_python(obj)  # dates, enums, bytes, ... as pydantic writes them


_SURROGATE = re.compile("[\ud800-\udfff]")


def portable_name(text: str) -> str:
    """`text` with each undecodable byte of a file name (a surrogate escape) spelled `%XX`: valid UTF-8 that can be
    printed, written and used as a folder name anywhere. Any other lone surrogate becomes U+FFFD."""
    def spell(match: re.Match) -> str:
        code = ord(match.group())
        return f"%{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"

    return _SURROGATE.sub(spell, text)


def json_text(obj: Any, indent: int | None = 2) -> str:
    """JSON text that is always valid UTF-8 and keeps non-ASCII readable; a surrogate (from a file name that is not
    UTF-8) is written as a `\\uXXXX` escape, so the name reads back exactly."""
    text = json.dumps(_jsonable(obj), indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def canonical_json(obj: Any) -> str:
    return json.dumps(_jsonable(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def hash_obj(*parts: Any) -> str:
    """A stable sha256 over plain data (pydantic models included): the key of every cache."""
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8", "surrogatepass")).hexdigest()


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should be ordinary files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """UTF-8 text; a name from the file system that is not UTF-8 is written in its portable spelling."""
    return atomic_write_bytes(path, portable_name(text).encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_bytes(path, (json_text(obj) + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return default


class JsonCache:
    """A directory of JSON blobs keyed by content hash (sharded by the first two hex digits)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        return read_json(self.path(key))

    def put(self, key: str, value: Any) -> None:
        atomic_write_json(self.path(key), value)

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()
