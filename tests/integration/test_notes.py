"""The notes stage: real PDF -> real extractor and chunker -> the real 0.5B model on the shared llama.cpp server.

The model runs once per session (`shared_notes_run`, also used by test_script.py); the tests then check its outputs.
Counts are kept small (2 Q&A pairs, 2 quiz questions) so the module stays within a few minutes on a 2-core machine.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pdfs
import pytest
from pydantic import BaseModel

from notebooklm_clone.config import Settings
from notebooklm_clone.errors import UsageError
from notebooklm_clone.llm.client import LLM
from notebooklm_clone.llm.endpoints import open_llm
from notebooklm_clone.llm.prompts import render_messages
from notebooklm_clone.llm.tokens import get_tokenizer
from notebooklm_clone.models import ChunkNotes, GroundingCounts, NotesResult
from notebooklm_clone.outputs.study import write_study
from notebooklm_clone.sources import extract_document
from notebooklm_clone.stages.calls import Budget, Caller, output_schema
from notebooklm_clone.stages.verify import verify_answer
from notebooklm_clone.stages.chunk import chunk_document
from notebooklm_clone.stages.audit import audit_outputs
from notebooklm_clone.stages.condense import pack
from notebooklm_clone.stages.evidence import sentence_index
from notebooklm_clone.stages.definitions import defined_terms
from notebooklm_clone.stages.grounding import _QUOTE_ANAPHOR, Source, quote_text
from notebooklm_clone.stages.notes import (
    MAP_LIMITS,
    STUDY_PRODUCTS,
    MapOut,
    run_notes,
)

CITATION = re.compile(r"\(pp?\. \d+(?:[-, ]+\d+)*\)(?:\[\^\d+\])+$")  # pages, then the footnotes with the quotes


def small_settings(server, tmp_path) -> Settings:
    return Settings(
        llm={"base_url": server.base_url, "api_key": "embedded", "model": server.alias, "tier": "small",
             "tokenizer": f"gguf:{server.model_path}", "context_size": server.n_ctx, "retry_base_delay": 0.05},
        notes={"qa_pairs": 2, "quiz_questions": 2, "abstract_sentences": 2, "section_sentences": 1},
        cache_dir=str(tmp_path / "cache"), out_dir=str(tmp_path / "out"),
    )  # fmt: skip


_RUNS: dict = {}


def shared_notes_run(server, tmp_path_factory):
    """One real notes run over the 3-page test paper per session, shared with test_script.py (a fixture imported into
    another module would run again): (document, chunks, settings, out_dir, result, usage)."""
    if "run" not in _RUNS:
        tmp = tmp_path_factory.mktemp("notes")
        settings = small_settings(server, tmp)
        document = extract_document(pdfs.paper_pdf(tmp / "paper.pdf"))
        out = tmp / "out" / "paper"
        with open_llm(settings) as llm:
            chunks = chunk_document(document, settings.chunk, llm.tokenizer)
            result = run_notes(document, chunks, llm, settings, out / ".cache")
            usage = llm.usage.totals()
        result.files = write_study(result, document, out, STUDY_PRODUCTS)
        _RUNS["run"] = (document, chunks, settings, out, result, usage)
    return _RUNS["run"]


@pytest.fixture
def notes_run(embedded_small_server, tmp_path_factory):
    return shared_notes_run(embedded_small_server, tmp_path_factory)


@pytest.mark.llm
def test_every_body_chunk_is_mapped_references_are_skipped_and_every_section_noted(notes_run):
    document, chunks, _, _, result, usage = notes_run
    body = [c for c in chunks if not c.is_references and c.text.strip()]
    assert body and len(body) < len(chunks) or any(c.is_references for c in chunks) is False
    assert {n.chunk for n in result.chunk_notes} <= {c.index for c in body}
    assert result.calls["map"] == len(body)
    assert usage["calls"] >= sum(result.calls.values())  # repairs count as extra calls in the ledger
    source = Source(document)
    defined = {t.term.lower() for t in defined_terms(source, source.index)}  # found without the model, any number
    for notes in result.chunk_notes:
        assert len(notes.key_points) <= MAP_LIMITS["key_points"] + 1  # + the section's quote when the model had none
        assert len([t for t in notes.terms if t.term.lower() not in defined]) <= MAP_LIMITS["terms"]
    # every section and subsection with text to note has a point, listed under it (not under the chunk's first)
    from notebooklm_clone.stages.coverage import MIN_SECTION_WORDS
    from notebooklm_clone.stages.evidence import sentences_in

    words: dict[tuple, int] = {}
    for sentence in source.offered({s.id: s for c in body for s in sentences_in(c, source.index)}.values()):
        words[tuple(sentence.section)] = words.get(tuple(sentence.section), 0) + len(sentence.text.split())
    noted = {tuple(n.section) for n in result.chunk_notes if n.key_points or n.facts}
    assert {section for section, n in words.items() if n >= MIN_SECTION_WORDS} <= noted, (words, noted)
    for n in result.chunk_notes:
        assert all(tuple(source.by_id[p.evidence[0].sentence_id].section) == tuple(n.section) for p in n.points())


@pytest.mark.llm
def test_outputs_exist_and_every_bullet_cites_its_pages_and_quotes_its_source(notes_run):
    _, _, _, out, result, _ = notes_run
    assert set(result.files) == {"summary", "notes", "cards_csv", "cards_apkg", "quiz", "notes_data"}
    assert NotesResult.model_validate_json((out / "notes.json").read_text()).chunk_notes == result.chunk_notes
    notes_md = (out / "notes.md").read_text()
    data = NotesResult.model_validate_json((out / "notes.json").read_text())
    assert "## Key points" in notes_md  # a heading over an empty list is left out
    assert ("## Glossary" in notes_md) == bool(data.glossary)
    assert ("## Questions and answers" in notes_md) == bool(data.qa)
    assert "## Sources" in notes_md and "## Open questions" not in notes_md  # the paper calls nothing open
    bullets = [line for line in notes_md.split("## Sources")[0].splitlines()
               if line.startswith("- ") or line.startswith("  **A:**")]
    assert bullets
    for line in bullets:
        if line.startswith("- **Q:**"):
            continue  # the answer line below it carries the citation
        assert CITATION.search(line), line
    footnotes = re.findall(r"^\[\^(\d+)\]: p\. \d+: \"", notes_md, re.M)
    assert footnotes and sorted(set(re.findall(r"\[\^(\d+)\](?!:)", notes_md)), key=int) == footnotes
    summary_md = (out / "summary.md").read_text()
    assert summary_md.startswith("# A Test Paper on Water Bears")
    assert "## Abstract" in summary_md
    for line in summary_md.split("## Sources")[0].splitlines():
        if line.startswith("- "):
            assert CITATION.search(line), line
    assert "\ufffd" not in notes_md + summary_md


def items_with_evidence(result):
    items = [(p.text, p.pages, p.evidence) for n in result.chunk_notes for p in n.key_points + n.facts + n.questions]
    items += [(f"{t.term}: {t.definition}", t.pages, t.evidence) for t in result.glossary]
    items += [(p.answer, p.pages, p.evidence) for p in result.qa]
    items += [(q.correct, q.pages, q.evidence) for q in result.quiz]
    items += [(c.back, c.pages, c.evidence) for c in result.cards]
    items += [(s.text, s.pages, s.evidence) for s in result.summary.abstract]
    items += [(s.text, s.pages, s.evidence) for section in result.summary.sections for s in section.sentences]
    return items


@pytest.mark.llm
def test_every_item_carries_verbatim_evidence_from_the_pages_it_cites(notes_run):
    document, _, _, _, result, _ = notes_run
    clean = {s.id for s in sentence_index(document) if s.clean}
    items = items_with_evidence(result)
    assert items
    for text, pages, evidence in items:
        assert evidence, text
        assert pages == sorted({e.page for e in evidence}), (text, pages)
        for e in evidence:
            assert document.page_text(e.page)[e.start:e.end] == e.quote, text
            assert e.sentence_id in clean  # never a heading's debris or a running header
    for term in result.glossary:  # a term the document uses, defined from a sentence that uses it
        assert any(term.term.lower() in e.quote.lower() for e in term.evidence), term
    facts = [p for n in result.chunk_notes for p in n.facts]  # chosen by id, so quoted as written
    assert facts and all(p.grounding == "quoted" for p in facts), facts
    # so are the key points: the embedded model's written notes are known not to hold (writes_notes False)
    points = [p for n in result.chunk_notes for p in n.key_points]
    assert points and all(p.grounding == "quoted" for p in points) and "rewrite" not in result.calls, points
    # one sentence, or two when it points back ("This scheme ...") and the one before names what it points to
    assert all(len(p.evidence) == 1 or len(p.evidence) == 2 and _QUOTE_ANAPHOR.match(p.evidence[1].quote)
               for p in facts), facts
    assert all(p.text == quote_text(p.evidence) for p in facts), facts


@pytest.mark.llm
def test_every_item_is_supported_by_its_own_evidence_and_none_repeats(notes_run):
    document, _, _, _, result, _ = notes_run
    audit = audit_outputs(document, result)
    total = audit.total()
    assert total.checked > 0
    assert total.unsupported == 0, [(i.output, i.text, i.reasons) for i in audit.unsupported()]
    assert total.duplicate == 0, [(i.output, i.text, i.duplicate_of) for i in audit.items if i.duplicate_of]
    counts = result.grounding["key_points"]
    assert counts.kept == len(result.key_points) + counts.duplicates - sum(
        1 for n in result.chunk_notes for p in n.key_points + n.facts if p.grounding == "") > 0


@pytest.mark.llm
def test_cards_and_quiz(notes_run):
    _, _, _, out, result, _ = notes_run
    rows = list(csv.reader((out / "cards.csv").open()))
    assert rows[0] == ["front", "back", "pages", "kind"]
    assert len(rows) - 1 == len(result.cards) == len(result.glossary) + len(result.qa)
    with zipfile.ZipFile(out / "cards.apkg") as apkg:
        assert "collection.anki2" in apkg.namelist()
    quiz_md = (out / "quiz.md").read_text()
    # the schema asks for exactly 2 pairs and at most 2 questions: each is kept, or dropped as unsupported or a repeat;
    # short of 2 pairs, the map's questions answered by their own sentences follow ("quoted"). A model that copies
    # what it condenses (Caller.quoting) is not asked for pairs.
    qa, quiz = result.grounding.get("qa", GroundingCounts()), result.grounding["quiz"]
    assert qa.verified + qa.dropped == 2 * result.calls.get("qa", 0)
    assert len(result.qa) == qa.verified + qa.quoted - qa.duplicates <= 2
    for pair in result.qa:
        assert verify_answer(pair.question, pair.answer, [e.quote for e in pair.evidence]).supported
    # the quiz asks the model for 2, or (its rewrites rescued nothing: Caller.quoting) for those the blanks leave open
    assert quiz.verified + quiz.dropped <= 2 and len(result.quiz) == quiz.verified + quiz.quoted - quiz.duplicates
    for i, q in enumerate(result.quiz, 1):
        assert len(q.options) == 4 and len({o.lower() for o in q.options}) == 4 and q.answer in "ABCD"
        assert f"{i}. {q.answer}) " in quiz_md.split("## Answers")[1]
        assert "read p" in quiz_md
        quotes = " ".join(e.quote for e in q.evidence).lower()
        assert q.correct.lower() in quotes or q.correct.lower() in q.question.lower() or "_____" in q.question
        assert not any(o.lower() in quotes for o in q.options if o != q.correct)  # no wrong option is true here


@pytest.mark.llm
def test_rerun_makes_no_llm_calls_and_writes_the_same_files(notes_run, tmp_path):
    document, chunks, settings, out, first, _ = notes_run
    before = {name: (out / name).read_text() for name in ("notes.md", "summary.md", "quiz.md", "cards.csv")}
    with open_llm(settings.with_overrides(cache_dir=str(tmp_path / "empty"))) as llm:  # only out/.cache can answer
        again = run_notes(document, chunks, llm, settings, out / ".cache")
        assert llm.usage.totals().get("calls", 0) == 0
    assert again.calls == {} and again.cached_calls == sum(first.calls.values())
    write_study(again, document, out, STUDY_PRODUCTS)
    assert {name: (out / name).read_text() for name in before} == before


@pytest.mark.llm
def test_products_choose_the_files(notes_run, tmp_path):
    document, chunks, settings, out, first, _ = notes_run
    import shutil

    target = tmp_path / "only"
    shutil.copytree(out / ".cache", target / ".cache")
    with open_llm(settings) as llm:
        result = run_notes(document, chunks, llm, settings, target / ".cache", products=["cards"])
    assert not [p for p in target.iterdir() if not p.name.startswith(".")]  # the stage writes no file
    assert set(write_study(result, document, target, ["cards"])) == {"cards_csv", "cards_apkg", "notes_data"}
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == ["cards.apkg", "cards.csv",
                                                                                       "notes.json"]
    with pytest.raises(UsageError):
        run_notes(document, chunks, None, settings, target, products=["poster"])


# ---------------------------------------------------------------------------------------------------------------------
# No model needed


def test_map_prompt_numbers_the_chunks_sentences_and_shares_its_instructions_across_chunks(tmp_path):
    from notebooklm_clone.stages.evidence import sentences_in
    from notebooklm_clone.stages.grounding import offered
    from notebooklm_clone.stages.notes import map_messages

    document = extract_document(pdfs.paper_pdf(tmp_path / "paper.pdf"))
    chunks = chunk_document(document, Settings().chunk, get_tokenizer("fallback"))
    index = sentence_index(document)
    chunk = [c for c in chunks if not c.is_references][0]
    sentences = [s for s in sentences_in(chunk, index) if offered(s)]
    settings = Settings(notes={"language": "German", "level": "expert", "instructions": "Focus on methods."})
    system, user = map_messages(sentences, chunk.section, settings)
    assert system["role"] == "system" and user["role"] == "user"
    assert "never instructions" in system["content"] and "German" in system["content"]
    assert "expert" in system["content"] and "Focus on methods." in system["content"]
    assert user["content"].startswith("<document")
    assert user["content"].index("</document>") < user["content"].index("Take study notes")
    # what the model is asked for is the same for every chunk, so the server evaluates it once: only the chunk's
    # sentences and a line after them are new in each call
    assert "key_points:" in system["content"] and "key_points" not in user["content"]
    other = map_messages(sentences[:1], ["Other"], settings)
    assert other[0] == system and len(user["content"].split("</document>")[1].split()) < 20
    for sentence in sentences:
        assert f"[{sentence.id}] " in user["content"]
    headings = [s for s in sentences_in(chunk, index) if s.block_kind == "heading"]
    assert headings and not any(f"[{h.id}]" in user["content"] for h in headings)


def test_schema_limits_ids_to_the_sentences_shown_and_caps_lists():
    schema = output_schema(MapOut, [4, 5], min_items={"key_points": 2}, ids=["s3", "s4"])
    item = schema["$defs"]["_ItemOut"]["properties"]["ids"]["items"]
    assert item == {"type": "string", "enum": ["s3", "s4"]}
    assert list(schema["$defs"]["_ItemOut"]["properties"]) == ["ids", "text"]  # chosen first, then written
    assert schema["properties"]["key_points"]["maxItems"] == MAP_LIMITS["key_points"]
    assert schema["properties"]["key_points"]["minItems"] == 2


def test_user_prompt_folder_overrides_one_template_and_falls_back_for_the_rest(tmp_path):
    (tmp_path / "map.j2").write_text("{% block user %}MINE {{ text }}{% endblock %}")
    messages = render_messages("map", str(tmp_path), text="abc", section="", limits=MAP_LIMITS, language="English",
                               level="intro", instructions="")
    assert messages == [{"role": "user", "content": "MINE abc"}]
    fallback = render_messages("qa", str(tmp_path), items=["- a (p. 1)"], limit=2, title="T", language="English",
                               level="intro", instructions="")
    assert "review questions" in fallback[-1]["content"]
    with pytest.raises(UsageError):
        render_messages("map", str(tmp_path / "missing"), text="x")


def fallback_llm(tmp_path, context_size: int | None, **llm) -> LLM:
    """An LLM that is never asked anything: its capabilities and token measure only."""
    settings = Settings(llm={"base_url": "http://127.0.0.1:9/v1", "model": "m", "tokenizer": "fallback",
                             "context_size": context_size, **llm}, cache_dir=str(tmp_path))
    return LLM(settings, base_url="http://127.0.0.1:9/v1", api_key="x", kind="compatible", model="m")


def test_pack_keeps_every_item_and_each_batch_fits(tmp_path):
    budget = Budget(fallback_llm(tmp_path, 1200))
    items = [f"- Point number {i} about a measured value of {i * 7} units (p. {i})" for i in range(200)]
    render = lambda batch: [{"role": "user", "content": "\n".join(batch)}]  # noqa: E731
    batches = pack(items, render, budget, "section")
    assert [i for b in batches for i in b] == items
    assert len(batches) > 1
    assert all(budget.count(render(b)) <= budget.prompt_limit("section") for b in batches)


def test_the_map_budget_is_the_map_models(tmp_path):
    """The map role's prompt room is measured for the map model, not the default one."""
    llm = fallback_llm(tmp_path, None, map_model="gpt-4o-mini")
    assert Budget(llm, "map").context_size == 128_000 and Budget(llm).context_size == 8192
    assert Budget(llm, "map").model == "gpt-4o-mini"


def test_chunk_notes_model_round_trips():
    notes = ChunkNotes(chunk=0, pages=[1], key_points=[{"text": "A point", "pages": [1], "grounding": "quoted",
                                                        "evidence": [{"sentence_id": "s1", "page": 1, "start": 0,
                                                                      "end": 7, "quote": "A point"}]}],
                       questions=[{"text": "Why?", "pages": [1], "open": True}])
    assert ChunkNotes.model_validate_json(notes.model_dump_json()) == notes


def test_cli_rejects_unknown_products_and_bad_flags_with_usage_exit_code(tmp_path):
    from click.testing import CliRunner

    from notebooklm_clone.cli import main

    pdf = pdfs.paper_pdf(tmp_path / "paper.pdf")
    runner = CliRunner()
    result = runner.invoke(main, ["notes", str(pdf), "-o", str(tmp_path / "out"), "--only", "summary,poster"])
    assert result.exit_code == 2 and "--only takes" in result.output
    result = runner.invoke(main, ["script", str(pdf), "--speakers", "9"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["notes", str(pdf), "--prompts", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------------
# An endpoint that fails or answers nothing usable: the document fails, nothing is written as if it were done


def _fake_config(workdir, fake, **llm) -> list[str]:
    values = {"base_url": fake.base_url, "api_key": "sk-test", "model": "fake-model", "tokenizer": "fallback",
              "structured_output": "json_schema", "retry_base_delay": 0.01, "max_retries": 1, "repair_retries": 1,
              **llm}
    lines = [f'cache_dir = "{workdir / "cache"}"', "[llm]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    config = workdir / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return ["--config", str(config)]


@pytest.mark.parametrize("command", ["notes", "script", "podcast"])
def test_an_endpoint_outage_fails_the_document_with_exit_4_fake_server(tmp_path, command):
    from click.testing import CliRunner
    from fakes import FakeLLMServer, status

    from notebooklm_clone.cli import main

    pdf = pdfs.paper_pdf(tmp_path / "paper.pdf")
    with FakeLLMServer([status(500, "Internal Server Error")]) as fake:
        result = CliRunner().invoke(main, [*_fake_config(tmp_path, fake), command, str(pdf), "-o",
                                           str(tmp_path / "out")])
        sent = len(fake.requests)
    assert result.exit_code == 4, result.output
    assert "kept failing after 2 tries (HTTP 500" in result.stderr
    assert sent == 2  # the first call's two tries; nothing after the outage is sent
    written = sorted(p.name for p in (tmp_path / "out").rglob("*") if ".cache" not in p.parts and p.is_file())
    assert written == []  # no report.json, notes or script: the document is not done


def test_answers_that_never_make_notes_fail_the_document_fake_server(tmp_path):
    from fakes import FakeLLMServer, ok

    from notebooklm_clone.errors import BackendUnavailable
    from notebooklm_clone.pipeline import process_document

    pdf = pdfs.paper_pdf(tmp_path / "paper.pdf")
    empty = json.dumps({"key_points": [], "terms": [], "facts": [], "questions": []})
    with FakeLLMServer([ok(empty)]) as fake:
        from fakes import fake_settings

        settings = fake_settings(fake, tmp_path, structured_output="json_schema", repair_retries=0)
        with pytest.raises(BackendUnavailable, match=r"no usable notes from any of the \d+ chunks"):
            process_document(pdf, tmp_path / "out", settings, products=("notes", "podcast"))
        assert 0 < len(fake.requests) <= 3  # only the map calls: no reduce, no script from nothing
    assert not (tmp_path / "out").exists() or not [p for p in (tmp_path / "out").iterdir() if p.name != ".cache"]


# ---------------------------------------------------------------------------------------------------------------------
# The language of the notes follows the document unless one is set

ZH_TEXT = ("水熊虫是一种微小的动物。它们在干燥时进入休眠状态，失去体内大部分水分，新陈代谢几乎停止。研究人员在湿度为百分之八十五的"
           "条件下干燥了一百二十只动物，其中九十七只恢复了活力。")
JA_TEXT = ("クマムシはとても小さな動物です。乾燥すると樽のような休眠状態になり、体内の水分のほとんどを失います。研究者は百二十匹を"
           "乾燥させ、そのうち九十七匹が回復しました。")


def cjk_pdf(path, title: str, text: str, font: str):
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), title, fontname=font, fontsize=18)
    page.insert_textbox(pymupdf.Rect(72, 100, 520, 700), text, fontname=font, fontsize=11)
    doc.save(path)
    return path


@pytest.mark.parametrize("title, text, font, language", [("水熊虫研究", ZH_TEXT, "china-s", "Chinese"),
                                                        ("クマムシの研究", JA_TEXT, "japan", "Japanese")],
                         ids=["zh", "ja"])
def test_notes_are_asked_in_the_documents_language_unless_set_fake_server(tmp_path, title, text, font, language):
    from fakes import FakeLLMServer, fake_settings, status

    from notebooklm_clone.errors import BackendUnavailable
    from notebooklm_clone.pipeline import process_document

    pdf = cjk_pdf(tmp_path / "doc.pdf", title, text, font)
    asked = {}
    with FakeLLMServer([status(500)]) as fake:  # only the first prompt matters here
        for setting in (None, "German"):
            settings = fake_settings(fake, tmp_path, max_retries=0).with_overrides(**{"notes.language": setting})
            with pytest.raises(BackendUnavailable):
                process_document(pdf, tmp_path / "out", settings, products=("notes",))
            asked[setting] = fake.requests[-1]["messages"][0]["content"]
    assert f"Write in {language}." in asked[None]
    assert "Write in German." in asked["German"]


def test_languages_resolve_per_document_and_explicit_settings_win():
    from notebooklm_clone.models import Document
    from notebooklm_clone.stages.calls import resolve_languages

    assert Settings().notes.language == Settings().script.language == "auto"
    doc = Document(source="x.pdf", sha256="0" * 64, title="t", page_count=1, language="zh")
    resolved = resolve_languages(Settings(), doc)
    assert (resolved.notes.language, resolved.script.language) == ("Chinese", "Chinese")
    mixed = resolve_languages(Settings(script={"language": "German"}), doc.model_copy(update={"language": "ja"}))
    assert (mixed.notes.language, mixed.script.language) == ("Japanese", "German")
    unknown = resolve_languages(Settings(), doc.model_copy(update={"language": "sw"}))
    assert unknown.notes.language == "sw"  # no English name known: the code itself


# ---------------------------------------------------------------------------------------------------------------------
# The answer cache in out/.cache: keyed by the model, never the port; off with llm.use_cache = false


class Word(BaseModel):
    word: str


WORD_SCHEMA = {"type": "object", "properties": {"word": {"type": "string", "enum": ["hi"]}}, "required": ["word"],
               "additionalProperties": False}
SAY_HI = [{"role": "user", "content": "Answer with the word hi."}]


def _key(tmp_path, base_url: str | None, model: str, kind: str = "compatible") -> tuple[str, str]:
    settings = Settings(llm={"base_url": base_url, "model": model, "tokenizer": "fallback"}, cache_dir=str(tmp_path))
    llm = LLM(settings, base_url=base_url, api_key="x", kind=kind, model=model)
    return llm.model_identity(), llm.request(SAY_HI, schema=WORD_SCHEMA, max_tokens=64, role="map").key


def test_answer_cache_key_names_the_model_not_the_port(tmp_path):
    from notebooklm_clone.llm.model_files import MODELS

    small, default = MODELS["small"], MODELS["default"]
    first = _key(tmp_path, "http://127.0.0.1:41234/v1", small.alias)
    assert first[0] == f"embedded:small:{small.sha256}"
    assert _key(tmp_path, "http://127.0.0.1:50321/v1", small.alias) == first  # the batch's server, another port
    assert _key(tmp_path, None, small.alias, kind="embedded") == first
    assert _key(tmp_path, "http://127.0.0.1:41234/v1", default.alias)[1] != first[1]
    remote = _key(tmp_path, "https://llm.example.com/v1", "gpt-4o-mini")
    assert remote[0] == "llm.example.com/gpt-4o-mini"
    assert _key(tmp_path, "https://other.example.org/v1", "gpt-4o-mini")[1] != remote[1]
    assert _key(tmp_path, "https://llm.example.com/v1", "gpt-4o")[1] != remote[1]


def test_a_rerun_against_another_port_answers_from_the_document_cache(llm_settings, tmp_path):
    from notebooklm_clone.llm.embedded import free_port

    out = tmp_path / "out" / ".cache"
    with open_llm(llm_settings) as llm:
        caller = Caller(llm, llm_settings, out)
        first = caller.one("map", SAY_HI, WORD_SCHEMA, Word, label="hi")
        assert first == Word(word="hi") and caller.calls == {"map": 1} and llm.requests_sent == 1
    # the same model behind another port (nothing listens there: any request would fail) and an empty LLM cache
    moved = llm_settings.with_overrides(**{"llm.base_url": f"http://127.0.0.1:{free_port()}/v1",
                                           "llm.max_retries": 0, "cache_dir": str(tmp_path / "other")})
    with open_llm(moved) as llm:
        caller = Caller(llm, moved, out)
        assert caller.one("map", SAY_HI, WORD_SCHEMA, Word, label="hi") == first
        assert (caller.calls, caller.cached, llm.requests_sent) == ({}, 1, 0)


def test_use_cache_false_asks_the_model_again(llm_settings, tmp_path):
    settings = llm_settings.with_overrides(**{"llm.use_cache": False})
    out = tmp_path / "out" / ".cache"
    for _ in range(2):
        with open_llm(settings) as llm:
            caller = Caller(llm, settings, out)
            assert caller.one("map", SAY_HI, WORD_SCHEMA, Word, label="hi") == Word(word="hi")
            assert (caller.calls, caller.cached, llm.requests_sent) == ({"map": 1}, 0, 1)
    assert not list(tmp_path.rglob("*.json"))  # no answer cache was written anywhere


def test_a_readers_highlight_is_a_key_point_and_their_notes_are_not(embedded_small_server, tmp_path):
    """An annotated page through the real notes stage: the highlighted sentence is among the key points, quoted
    verbatim, and in the summary; the words of the reader's own notes appear only under "Your highlights and notes"."""
    from notebooklm_clone.pipeline import process_document

    settings = small_settings(embedded_small_server, tmp_path).with_overrides(**{"notes.only": ["notes", "summary"]})
    result = process_document(pdfs.annotated_pdf(tmp_path / "annotated.pdf"), tmp_path / "out", settings,
                              products=("notes", "summary"))
    text = Path(result.files["notes"]).read_text(encoding="utf-8")
    summary = Path(result.files["summary"]).read_text(encoding="utf-8")
    assert pdfs.HIGHLIGHTED.lower()[:40] in summary.lower()  # what the reader stressed leads the summary too
    key_points, _, rest = text.partition("## Your highlights and notes")
    mine = rest.partition("## Glossary")[0]
    assert pdfs.HIGHLIGHTED.lower() in key_points.lower()  # said by a point (a small model may lower its first letter)
    assert pdfs.READER_NOTE in mine and pdfs.STICKY_NOTE in mine
    for word in ("exaggerated", "professor", "permafrost"):
        assert word not in key_points and word not in rest.partition("## Glossary")[2]
