"""`notebooklm-clone extract` through click's CliRunner (and once as a real subprocess): outputs and exit codes."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pdfs
import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main

SAMPLES = pdfs.ROOT / "samples"


def run(*args: str):
    return CliRunner().invoke(main, ["extract", *map(str, args)])


def test_markdown_output_has_headings_and_page_markers(tmp_path):
    result = run(pdfs.paper_pdf(tmp_path / "paper.pdf"))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("# A Test Paper on Water Bears\n\nAda Lovelace, Alan Turing\n\n<!-- page 1 -->\n")
    assert "\n## 1 Introduction\n\n" + pdfs.INTRO + "\n\n### 1.1 Background\n" in out
    assert out.index("<!-- page 2 -->") < out.index("## 2 Methods") < out.index("<!-- page 3 -->")
    assert "\n## References\n\n" + pdfs.REFERENCES[0] in out
    assert result.stderr == ""


def test_json_output_to_a_file(tmp_path):
    out = tmp_path / "out" / "doc.json"
    result = run(pdfs.paper_pdf(tmp_path / "paper.pdf"), "--format", "json", "-o", out)
    assert result.exit_code == 0 and result.stdout == ""
    data = json.loads(out.read_text())
    assert data["title"] == "A Test Paper on Water Bears" and data["page_count"] == 3
    assert [b["text"] for b in data["blocks"] if b["kind"] == "references"] == ["References", *pdfs.REFERENCES]
    assert not list(out.parent.glob("*.part"))  # written atomically, no temp file left


def test_txt_output(tmp_path):
    result = run(pdfs.two_column_pdf(tmp_path / "two.pdf"), "--format", "txt")
    assert result.stdout.split("\n\n")[1:5] == [*pdfs.LEFT, *pdfs.RIGHT]


def test_chunks_as_json_respect_budget_and_overlap_flags(tmp_path):
    result = run(SAMPLES / "tardigrades.pdf", "--chunks", "--format", "json", "--budget", "120", "--overlap", "0",
                 "--tokenizer", "fallback")
    assert result.exit_code == 0, result.stderr
    chunks = json.loads(result.stdout)
    assert len(chunks) > 20 and all(c["tokens"] <= 120 for c in chunks)
    assert chunks[-1]["is_references"] is True and chunks[0]["page_start"] == 1 and chunks[-1]["page_end"] == 7
    assert [c["index"] for c in chunks] == list(range(len(chunks)))


def test_chunks_as_markdown_show_tokens_and_page_spans(tmp_path):
    result = run(SAMPLES / "tardigrades.pdf", "--chunks", "--budget", "400", "--tokenizer", "fallback")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("## Chunk 1 · ") and first.endswith(" tokens (fallback) · p. 1")
    assert "· references" in result.stdout.splitlines()[[i for i, l in enumerate(result.stdout.splitlines())
                                                          if l.startswith("## Chunk")][-1]]


def test_tokenizer_fallback_note_goes_to_stderr(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    result = run(SAMPLES / "scanned-memo.pdf", "--chunks", "--tokenizer", "tiktoken:gpt-4o")
    assert result.exit_code == 0
    assert "warning: tiktoken could not load the BPE table for gpt-4o" in result.stderr


def test_warnings_for_pages_left_empty_go_to_stderr(tmp_path):
    source = pdfs.text_and_scan_pdf(tmp_path / "mixed.pdf", ["Scanned words appear here on page two."])
    result = run(source, "--no-ocr", "--format", "txt")
    assert result.exit_code == 0
    assert result.stdout == "This first page has a real text layer.\n"
    assert result.stderr == "warning: pages 2 have no text layer and stayed empty: OCR is off (--no-ocr)\n"


def test_encrypted_pdf_with_password_flag(tmp_path):
    source = pdfs.encrypted_pdf(tmp_path / "locked.pdf", "s3cret")
    assert run(source, "--password", "s3cret", "--format", "txt").stdout.startswith("A Test Paper on Water Bears")


@pytest.mark.parametrize("make, code, message", [
    (lambda p: p, 2, "error: no such file: "),
    (lambda p: (p.mkdir(), p)[1], 2, "is a directory, not a file"),
    (lambda p: (p.write_bytes(b""), p)[1], 3, "is empty (0 bytes)"),
    (lambda p: (p.write_bytes(b"%PDF-1.4\n%trunc"), p)[1], 3, "damaged or not a readable PDF"),
    (lambda p: (p.write_text("<html><body>hi</body></html>"), p)[1], 3, "is not a PDF (no %PDF header; it looks like HTML)"),
    (lambda p: pdfs.encrypted_pdf(p), 3, "is encrypted: give its password with --password"),
    (lambda p: pdfs.blank_pdf(p), 3, "no extractable text in"),
    (lambda p: pdfs.scanned_pdf(p, ["Only a picture."]), 3, "OCR is off (--no-ocr)"),
], ids=["missing", "directory", "zero-bytes", "truncated", "html-named-pdf", "encrypted", "no-text", "scan-no-ocr"])
def test_bad_input_exit_codes_and_one_line_errors(tmp_path, make, code, message):
    source = make(tmp_path / "input.pdf")
    result = run(source, "--no-ocr")
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_password_exit_code(tmp_path):
    result = run(pdfs.encrypted_pdf(tmp_path / "locked.pdf", "s3cret"), "--password", "nope")
    assert (result.exit_code, result.stderr) == (3, f"error: wrong password for {tmp_path / 'locked.pdf'}\n")


def test_real_process_exit_code_for_a_renamed_png(tmp_path):
    fake = tmp_path / "photo.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    proc = subprocess.run([sys.executable, "-m", "notebooklm_clone", "extract", str(fake)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr == f"error: {fake} is not a PDF (no %PDF header; it looks like a PNG image)\n"


def test_global_json_flag_selects_json(tmp_path):
    result = CliRunner().invoke(main, ["--json", "extract", str(pdfs.hyphen_pdf(tmp_path / "h.pdf"))])
    assert result.exit_code == 0
    assert [b["text"] for b in json.loads(result.stdout)["blocks"]] == [pdfs.HYPHEN_TEXT]


def test_default_tokenizer_spec_follows_the_llm_settings(tmp_path):
    from notebooklm_clone.cli.extract import default_tokenizer_spec
    from notebooklm_clone.config import Settings

    assert default_tokenizer_spec(Settings(llm={"tokenizer": "tiktoken:gpt-4o"})) == ("tiktoken:gpt-4o", "")
    assert default_tokenizer_spec(Settings(llm={"base_url": "http://127.0.0.1:9/v1", "model": "llama3"})) == (
        "fallback", "")
    from notebooklm_clone.llm.model_files import ensure_model

    # an assembled model counts with its own vocabulary; one not assembled is never assembled just to count tokens
    assert default_tokenizer_spec(Settings(llm={"tier": "small"})) == (f"gguf:{ensure_model('small')}", "")
    spec, why = default_tokenizer_spec(Settings(llm={"tier": "small"}, cache_dir=str(tmp_path)))
    assert spec == "fallback" and "not assembled" in why and not list(tmp_path.rglob("*.gguf"))


def test_overlap_not_below_the_budget_is_a_usage_error(tmp_path):
    # the flags were applied unchecked, though the same values in a config file are refused
    result = run(SAMPLES / "tardigrades.pdf", "--chunks", "--budget", "100", "--overlap", "100", "--tokenizer", "fallback")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and "--overlap" in result.stderr


def test_text_in_no_known_encoding_is_a_one_line_error(tmp_path):
    # bytes that no text encoding reads sensibly were decoded as Windows-1252 and went on as "text"
    source = tmp_path / "noise.txt"
    rng = random.Random(7)
    source.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    result = run(source)
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr == (f"error: {source} is not UTF-8 and no known text encoding reads it; convert it to UTF-8 "
                             "(e.g. iconv -f ENCODING -t UTF-8)\n")


def test_legacy_encoding_is_named_on_stderr(tmp_path):
    source = tmp_path / "russian.txt"
    text = "Тихоходки переносят высыхание. Они сворачиваются в бочонок и живут годами."
    source.write_bytes(text.encode("koi8-r"))
    result = run(source, "--format", "txt")
    assert result.exit_code == 0 and result.stdout == text + "\n"
    assert result.stderr.count("\n") == 1 and "russian.txt is not UTF-8; read it as koi8_r" in result.stderr
