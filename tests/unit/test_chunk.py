"""chunk_document and the tokenizers: budgets, overlap, page marks, references last, and no text lost."""

from __future__ import annotations

import subprocess
import sys

import pdfs
import pytest

from notebooklm_clone.config import ChunkSettings
from notebooklm_clone.errors import UsageError
from notebooklm_clone.llm.tokens import EstimateTokenizer, get_tokenizer
from notebooklm_clone.models import Block, Document
from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.chunk import chunk_document
from notebooklm_clone.text.sentences import split_sentences

SAMPLE = pdfs.ROOT / "samples" / "tardigrades.pdf"


@pytest.fixture(scope="module")
def qwen():
    """The small embedded model's own vocabulary (llama.cpp, vocab only)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by scripts/setup.sh")
    from notebooklm_clone.llm.model_files import ensure_model

    return get_tokenizer(f"gguf:{ensure_model('small')}")


@pytest.fixture(scope="module")
def sample():
    return extract_document(SAMPLE)


def words(text: str) -> list[str]:
    return text.split()


def strip_overlap(previous: list[str], current: list[str]) -> list[str]:
    """Drop the longest prefix of `current` that is a suffix of `previous` (the overlap)."""
    for k in range(min(len(previous), len(current)), 0, -1):
        if previous[-k:] == current[:k]:
            return current[k:]
    return current


def rebuilt_words(chunks) -> list[str]:
    out, previous = [], []
    for chunk in chunks:
        current = words(chunk.text)
        out += strip_overlap(previous, current) if previous else current
        previous = current
    return out


def doc_words(document: Document) -> list[str]:
    blocks = document.body_blocks() + [b for b in document.blocks if b.kind == "references"]
    return words(" ".join(b.text for b in blocks))


@pytest.mark.parametrize("budget, overlap", [(60, 0), (60, 20), (150, 40), (700, 50), (5000, 50)])
def test_no_chunk_over_budget_and_no_text_lost_or_duplicated(sample, budget, overlap):
    tokenizer = EstimateTokenizer()
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=budget, overlap_tokens=overlap), tokenizer)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.tokens == tokenizer.count(chunk.text) <= budget
    assert rebuilt_words(chunks) == doc_words(sample)
    if overlap == 0:  # without overlap the chunks are a plain partition of the words
        assert [w for c in chunks for w in words(c.text)] == doc_words(sample)


def test_budget_holds_with_the_models_own_tokenizer(sample, qwen):
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=120, overlap_tokens=30), qwen)
    assert len(chunks) > 20
    for chunk in chunks:
        assert chunk.tokens == qwen.count(chunk.text) <= 120
    assert rebuilt_words(chunks) == doc_words(sample)


def test_overlap_is_whole_sentences_from_the_same_section(sample):
    tokenizer = EstimateTokenizer()
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=150, overlap_tokens=40), tokenizer)
    overlaps = 0
    for previous, current in zip(chunks, chunks[1:]):
        shared = len(words(current.text)) - len(strip_overlap(words(previous.text), words(current.text)))
        if not shared:
            continue
        overlaps += 1
        assert previous.section == current.section and not current.is_references
        carried = " ".join(words(current.text)[:shared])
        assert tokenizer.count(carried) <= 40
        before = " ".join(words(previous.text))
        assert before.endswith(carried)
        # it starts where a sentence or a block starts (a paragraph cut by a column or page break is two blocks)
        assert (before == carried or before[: -len(carried)].rstrip()[-1] in ".!?"
                or f"\n\n{carried[:30]}" in previous.text)
    assert overlaps >= 5


def test_sections_start_new_chunks_and_references_come_last(sample):
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=400, overlap_tokens=0), EstimateTokenizer())
    flags = [c.is_references for c in chunks]
    assert flags == sorted(flags) and flags[-1] is True and flags[0] is False
    refs = [c for c in chunks if c.is_references]
    assert refs[0].text.startswith("References\n\n[1] Boothby TC") and refs[0].section == ["References"]
    assert all(c.section == ["References"] for c in refs)
    # a heading is never the last thing in a chunk: its section starts the next one
    headings = {b.text for b in sample.blocks if b.kind == "heading"}
    assert not any(c.text.split("\n\n")[-1] in headings for c in chunks)
    lunar = next(c for c in chunks if "3.2 The lunar crash" in c.text)
    assert lunar.text.startswith("3.2 The lunar crash") and lunar.section[-1] == "3.2 The lunar crash"


def test_page_spans_and_marks():
    document = Document(source="x", sha256="0", title="t", page_count=3, blocks=[
        Block(text="Alpha sentence on page one.", page=1, section=["S"]),
        Block(text="Beta sentence on page two.", page=2, section=["S"]),
        Block(text="Gamma on page two.", page=2, section=["S"]),
        Block(text="Delta on page three.", page=3, section=["S"]),
    ])
    [chunk] = chunk_document(document, ChunkSettings(budget_tokens=500, overlap_tokens=0), EstimateTokenizer())
    assert chunk.text == ("Alpha sentence on page one.\n\nBeta sentence on page two.\n\nGamma on page two.\n\n"
                          "Delta on page three.")
    assert (chunk.page_start, chunk.page_end, chunk.pages) == (1, 3, [1, 2, 3])
    assert chunk.page_marks == [(0, 1), (29, 2), (77, 3)]
    for offset, page in chunk.page_marks:
        assert chunk.text[offset:].startswith({1: "Alpha", 2: "Beta", 3: "Delta"}[page])


def test_sample_chunks_cite_the_pages_their_text_is_on(sample):
    chunks = chunk_document(sample, ChunkSettings(budget_tokens=200, overlap_tokens=0), EstimateTokenizer())
    for chunk in chunks:
        bounds = [offset for offset, _ in chunk.page_marks] + [len(chunk.text)]
        for (offset, page), end in zip(chunk.page_marks, bounds[1:]):
            part = chunk.text[offset:end].strip()
            assert part.split("\n\n")[0][:40] in sample.page_text(page)


def test_long_sentence_falls_back_to_words_and_giant_tokens_to_characters():
    sentence = " ".join(f"word{i}" for i in range(400))  # one "sentence", no punctuation
    url = "https://example.org/" + "x" * 900
    document = Document(source="x", sha256="0", title="t", page_count=1,
                        blocks=[Block(text=sentence, page=1), Block(text=url, page=1)])
    tokenizer = EstimateTokenizer()
    chunks = chunk_document(document, ChunkSettings(budget_tokens=50, overlap_tokens=0), tokenizer)
    assert all(c.tokens <= 50 for c in chunks) and len(chunks) > 40
    all_words = [w for c in chunks for w in words(c.text)]
    assert all_words[:400] == words(sentence)
    assert "".join(all_words[400:]) == url and len(all_words) > 401  # cut by characters


def test_budget_too_small_is_a_usage_error(sample):
    with pytest.raises(UsageError, match="too small"):
        chunk_document(sample, ChunkSettings(budget_tokens=5, overlap_tokens=0), EstimateTokenizer())


def test_split_sentences_keeps_abbreviations_together():
    assert split_sentences("Boothby et al. showed it in 2017. Fig. 2 shows e.g. tuns. Done!") == [
        "Boothby et al. showed it in 2017.", "Fig. 2 shows e.g. tuns.", "Done!"]


def test_split_sentences_keeps_closing_quotes_and_ends_at_ellipses():
    # one splitter for chunks, script turns, speech pieces and subtitle cues: closers stay with their sentence
    assert split_sentences('He said "Go." Then (as told.) It ended… Then Dr. Smith left.') == [
        'He said "Go."', "Then (as told.)", "It ended…", "Then Dr. Smith left."]


def test_fallback_over_counts_the_qwen_tokenizer(sample, qwen):
    """The calibration in tokens.py: every body paragraph of the sample over-counted, the body by about a third."""
    fallback = EstimateTokenizer()
    body = [b.text for b in sample.body_blocks() if len(b.text) > 40]
    assert all(fallback.count(t) > qwen.count(t) for t in body)
    whole = "\n\n".join(body)
    assert 1.2 < fallback.count(whole) / qwen.count(whole) < 1.5


def test_tokenizer_specs(tmp_path):
    assert get_tokenizer("fallback").count("abc 123 Jönsson") == 8  # 3 digits + 1 non-ASCII + ceil(11 / 3.6)
    assert get_tokenizer(None).name == "fallback"
    with pytest.raises(UsageError, match="unknown tokenizer spec"):
        get_tokenizer("bpe:whatever")
    with pytest.raises(UsageError, match="tokenizer model not found"):
        get_tokenizer(f"gguf:{tmp_path / 'missing.gguf'}")
    unknown = get_tokenizer("tiktoken:not-a-model-or-encoding")
    assert unknown.name == "fallback" and "knows no model" in unknown.note


def test_tiktoken_without_its_bpe_table_falls_back_and_says_why(tmp_path, monkeypatch):
    """tiktoken downloads BPE tables on first use; with an empty cache and no network it must fall back, not fail."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens on the discard port: no network
    tokenizer = get_tokenizer("tiktoken:gpt-4o")
    assert tokenizer.name == "fallback"
    assert "could not load the BPE table for gpt-4o" in tokenizer.note


def test_gguf_tokenizer_counts_the_models_tokens(qwen):
    assert qwen.name.startswith("gguf:") and qwen.name.endswith(".gguf")
    assert qwen.count("") == 0
    assert qwen.count("Hello world") == 2
    assert qwen.count("2017") == 4  # Qwen spends one token per digit


def _run_with_limit(code: str, limit_s: float) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter; a quadratic or worse regex blows through the generous limit."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=limit_s)


def test_sentence_splitting_stays_linear_on_abbreviation_runs():
    # 24 KB of "See Fig. A. " took 7.5 s (every boundary follows an abbreviation, and each was re-checked against the
    # whole growing sentence); 192 KB would take minutes. The result is one sentence: nothing may split it.
    code = (
        "from notebooklm_clone.text.sentences import split_sentences\n"
        "for n in (2000, 16000):\n"
        "    text = 'See Fig. A. ' * n\n"
        "    parts = split_sentences(text)\n"
        "    assert parts == [text.strip()], len(parts)\n"
        "print('ok')\n"
    )
    done = _run_with_limit(code, 30)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-500:]
    assert split_sentences("See Fig. A. It grows. Then e.g. B. Done.") == ["See Fig. A. It grows.", "Then e.g. B. Done."]
