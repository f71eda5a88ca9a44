"""Asking a notebook with the real embedded model (0.5B tier, the shared llama.cpp server): answers from the right
source and page, "not in the sources" when they are not, follow-ups in `chat`, and the CLI's one-line answers."""

from __future__ import annotations

import json

import corpus
import pdfs
import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.llm.endpoints import open_llm
from notebooklm_clone.notebook import NOT_FOUND, Turn, add_file, ask, load_document, open_notebook

SAMPLES = pdfs.ROOT / "samples"


@pytest.fixture
def notebook(tmp_path):
    """The two samples and a generated three-page report."""
    doc = corpus.fact_documents(1, seed=3)[0]
    report = corpus.write_pdf(doc, tmp_path)
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        for path in (SAMPLES / "tardigrades.pdf", SAMPLES / "scanned-memo.pdf", report):
            assert add_file(conn, path).action == "added"
    return nb, doc


def cited_where_said(conn, answer, source: str, words: list[str]) -> None:
    """The answer cites `source`, quotes a sentence holding `words`, and that sentence is on the page cited."""
    assert answer.found, answer
    assert all(c.source == source for c in answer.citations), answer.citations
    quotes = " ".join(c.quote for c in answer.citations)
    assert all(w in quotes for w in words), (words, answer.citations)
    source_id = conn.execute("SELECT id FROM sources WHERE name = ?", (source,)).fetchone()[0]
    document = load_document(conn, source_id)
    for citation in answer.citations:
        assert " ".join(citation.quote.split()) in " ".join(document.page_text(citation.page).split())


def test_five_questions_answered_from_three_sources_with_their_pages(notebook, llm_settings):
    nb, doc = notebook
    staff = doc.facts[1]  # "How many people work at X?" on page 2
    budget = doc.facts[3]  # "How much money does X spend each year?" on page 3
    questions = [
        ("Who led the 2022 team that studied CAHS proteins?", "tardigrades.pdf", ["Boothby"]),
        ("How many tardigrades were counted in sample A?", "scanned-memo.pdf", ["42"]),
        (staff.question, doc.file_name, [staff.answer]),
        (f"What is the yearly budget of the {doc.name} {doc.kind}?", doc.file_name, [budget.answer]),
        ("What dose of gamma radiation is fatal to most humans?", "tardigrades.pdf", ["5 grays"]),
    ]
    with open_notebook(nb) as conn, open_llm(llm_settings) as llm:
        answers = [ask(conn, llm, question) for question, _, _ in questions]
        for (question, source, words), answer in zip(questions, answers):
            cited_where_said(conn, answer, source, words)
            assert answer.retrieval_ms < 1000
        pages = {a.citations[0].page for a in answers[2:4]}
        assert pages == {staff.page, budget.page}

        for question in ("Who won the football World Cup in 1998?", "What is the capital of Australia?"):
            nothing = ask(conn, llm, question)
            assert not nothing.found and nothing.text == NOT_FOUND and nothing.citations == []


def test_a_follow_up_is_read_with_the_turn_before_it(notebook, llm_settings):
    nb, doc = notebook
    with open_notebook(nb) as conn, open_llm(llm_settings) as llm:
        first = ask(conn, llm, f"When was the {doc.name} {doc.kind} founded?")
        cited_where_said(conn, first, doc.file_name, [doc.facts[0].answer])
        follow_up = ask(conn, llm, "How many people does it employ?", history=[Turn(first.question, first.text)])
        cited_where_said(conn, follow_up, doc.file_name, [doc.facts[1].answer])
        alone = ask(conn, llm, "How many people does it employ?", source_ids=[1, 2])  # the report left out
        assert not alone.found or all(c.source != doc.file_name for c in alone.citations)


def _config(tmp_path, llm_settings) -> list[str]:
    llm = llm_settings.llm
    values = {"base_url": llm.base_url, "api_key": "embedded", "model": llm.model, "tier": "small",
              "tokenizer": llm.tokenizer, "context_size": llm.context_size}
    path = tmp_path / "nc.toml"
    path.write_text(f'cache_dir = "{tmp_path / "cache"}"\n[llm]\n'
                    + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return ["--config", str(path)]


def test_ask_and_chat_commands(notebook, llm_settings, tmp_path):
    nb, doc = notebook
    config = _config(tmp_path, llm_settings)
    result = CliRunner().invoke(main, [*config, "ask", str(nb), "How many tardigrades were counted in sample B?",
                                       "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["found"] and "17" in answer["text"]
    assert answer["citations"][0]["source"] == "scanned-memo.pdf" and answer["citations"][0]["page"] == 1

    only = CliRunner().invoke(main, [*config, "ask", str(nb), "How many tardigrades were counted in sample B?",
                                     "--sources", "tardigrades.pdf"])
    assert only.exit_code == 0 and "17" not in only.stdout

    session = "/sources\nHow many tardigrades were counted in sample A?\n/quit\nnever asked\n"
    chat = CliRunner().invoke(main, [*config, "chat", str(nb)], input=session)
    assert chat.exit_code == 0, chat.output
    assert "scanned-memo.pdf\tindexed\tMoss sample counts" in chat.stdout
    assert "42" in chat.stdout and "[1] scanned-memo.pdf, p. 1: \u201c" in chat.stdout
    assert "never asked" not in chat.stdout
