"""Token counting for chunk budgets: the configured model's own tokenizer when we can load it offline, else a
calibrated estimate that errs on the side of too many tokens (a chunk that is a little short costs nothing; one
that overflows the model's context fails the call).

Specs understood by `get_tokenizer`:
- ``tiktoken:<model or encoding>`` (``tiktoken:gpt-4o``, ``tiktoken:cl100k_base``): OpenAI's BPE. The tiktoken wheel
  ships no BPE tables; it downloads them on first use into ``TIKTOKEN_CACHE_DIR`` (or its temp-dir cache). We use it
  when that works (or the table is already cached) and otherwise fall back to the estimate, saying why in ``note``.
- ``gguf:<path>``: the vocabulary embedded in a GGUF model file, through llama.cpp itself
  (``llama_cpp.Llama(path, vocab_only=True)``). It loads only the vocabulary (~0.4 s, no weights in memory), so
  counts are exactly what the embedded server will see, for any model family, with no second tokenizer library.
- ``fallback``: the estimate below.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

from ..errors import UsageError

# Calibrated against the Qwen2.5 vocabulary (llama.cpp tokenize, 0.5B GGUF) on the samples (see samples/README.md):
# English prose runs at 4.9 characters per token once digits are set aside (Qwen, like most recent BPEs, spends one
# token per digit). We count every digit and every non-ASCII character as a token and divide the rest by 3.6: that
# over-counts the samples' body text by 35% overall and by at least 14% on every paragraph, and Markdown and Python
# source by 3-10%. Reference lists full of initials and rare surnames come out about even (98%; the worst entry 85%):
# they are chunked last, flagged, and skipped by the map stage. tests/test_chunk.py checks the body margin.
FALLBACK_CHARS_PER_TOKEN = 3.6
_ONE_TOKEN_CHARS = re.compile(r"[0-9\u0080-\U0010ffff]")


@runtime_checkable
class Tokenizer(Protocol):
    name: str

    def count(self, text: str) -> int: ...


@dataclass
class EstimateTokenizer:
    """One token per digit and per non-ASCII character (CJK and accents tokenize far worse than English), plus the
    remaining characters / 3.6, rounded up."""

    name: str = "fallback"
    chars_per_token: float = FALLBACK_CHARS_PER_TOKEN
    note: str = ""  # why we are estimating instead of using the requested tokenizer, if we are

    def count(self, text: str) -> int:
        if not text:
            return 0
        single = len(_ONE_TOKEN_CHARS.findall(text))
        return math.ceil((len(text) - single) / self.chars_per_token) + single


class TiktokenTokenizer:
    def __init__(self, encoding, name: str):
        self._encoding = encoding
        self.name = name
        self.note = ""

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))


class GGUFTokenizer:
    """The model's own vocabulary, loaded by llama.cpp without weights.

    Counts through llama_cpp.llama_tokenize with a buffer as large as the text's bytes (a token is at least one
    byte): Llama.tokenize sizes its first buffer by the training context, which is 0 for a vocab-only load, so it
    would tokenize every text twice.
    """

    def __init__(self, model, llama_cpp):
        self._model = model
        self._lib = llama_cpp
        self._vocab = getattr(getattr(model, "_model", None), "vocab", None)
        self.name = f"gguf:{model.model_path}"
        self.note = ""

    def count(self, text: str) -> int:
        if not text:
            return 0
        data = text.encode("utf-8")
        if self._vocab is None:
            return len(self._model.tokenize(data, add_bos=False, special=False))
        size = len(data) + 8
        buffer = (self._lib.llama_token * size)()
        n = self._lib.llama_tokenize(self._vocab, data, len(data), buffer, size, False, False)
        return n if n >= 0 else len(self._model.tokenize(data, add_bos=False, special=False))


def get_tokenizer(spec: str | None) -> Tokenizer:
    """A tokenizer from a spec (see the module docstring); None or "" means the fallback estimate."""
    kind, _, arg = (spec or "fallback").partition(":")
    if kind == "fallback":
        return EstimateTokenizer()
    if kind == "tiktoken" and arg:
        return _tiktoken(arg)
    if kind == "gguf" and arg:
        if not os.path.isfile(arg):
            raise UsageError(f"tokenizer model not found: {arg}")
        return _gguf(os.path.abspath(arg))
    raise UsageError(f"unknown tokenizer spec {spec!r}: use tiktoken:<model>, gguf:<path> or fallback")


def _tiktoken(name: str, timeout: float = 20.0) -> Tokenizer:
    try:
        import tiktoken
    except ImportError:
        return EstimateTokenizer(note=f"tiktoken is not installed; estimating tokens for {name}")
    box: dict = {}

    def load() -> None:  # in a thread: the first use downloads the BPE table and requests has no timeout
        try:
            try:
                box["enc"] = tiktoken.encoding_for_model(name)
            except KeyError:
                box["enc"] = tiktoken.get_encoding(name)
        except Exception as exc:  # noqa: BLE001 - unknown name, no network, bad cache: all mean "estimate"
            box["err"] = exc

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout)
    if "enc" in box:
        return TiktokenTokenizer(box["enc"], f"tiktoken:{name}")
    if isinstance(box.get("err"), ValueError) and "nknown encoding" in str(box["err"]):
        return EstimateTokenizer(note=f"tiktoken knows no model or encoding {name!r}: token counts are estimated")
    reason = f"{type(box['err']).__name__}" if "err" in box else f"no answer in {timeout:.0f}s"
    return EstimateTokenizer(
        note=f"tiktoken could not load the BPE table for {name} ({reason}; it is downloaded on first use and this "
        "machine is offline): token counts are estimated and err on the high side"
    )


@lru_cache(maxsize=4)
def _gguf(path: str) -> Tokenizer:
    try:
        import llama_cpp
    except ImportError:
        return EstimateTokenizer(note="llama-cpp-python is not installed: token counts are estimated")
    _silence_llama_log(llama_cpp)
    try:
        model = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError for a bad file
        raise UsageError(f"cannot read the vocabulary of {path}: {exc}") from None
    return GGUFTokenizer(model, llama_cpp)


_NO_LOG = None


def _silence_llama_log(llama_cpp) -> None:
    """llama.cpp prints context notes on stderr even with verbose=False; the vocabulary needs none of them."""
    global _NO_LOG
    if _NO_LOG is None:
        _NO_LOG = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_NO_LOG, None)
