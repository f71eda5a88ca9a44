"""Study material and an episode across a notebook's sources, with the real embedded model (0.5B tier): every source
named, every point cited to the source and page it comes from, and each segment's facts from its own source."""

from __future__ import annotations

import json
from pathlib import Path

import corpus
import pdfs
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.models import NotesResult, Script
from notebooklm_clone.notebook import add_file, load_document, open_notebook
from notebooklm_clone.notebook.products import process_source
from notebooklm_clone.stages.evidence import find_evidence
from notebooklm_clone.text.sentences import split_sentences

SAMPLES = pdfs.ROOT / "samples"


SURVEY_TITLE = "Notes from the north wall survey"
SURVEY = [  # shares a subject with the memo (cushions soaked in water), in other words and other numbers
    ["The survey team collected moss cushions from the north wall every Monday in April.",
     "Every cushion was rinsed in spring water before the animals were counted.",
     "The team recorded 31 rotifers and 12 nematodes in the first cushion."],
    ["The water came from a well two kilometres from the library.",
     "Tap water was avoided because its chlorine harms the animals in a cushion.",
     "A second survey is planned for October, when the wall is wetter."],
]


def survey_pdf(folder) -> Path:
    """A two-page field survey that speaks of the memo's subject (moss cushions, the water they are soaked in)."""
    writer = pdfs.Writer()
    for number, (heading, sentences) in enumerate(zip(("Collection", "Water and plans"), SURVEY), start=1):
        writer.new_page()
        if number == 1:
            writer.text(SURVEY_TITLE, "sans-bold", 18, space_after=12)
        writer.heading(heading, 1)
        writer.text(" ".join(sentences))
    return writer.save(folder / "north-wall-survey.pdf", toc=False, metadata={"title": SURVEY_TITLE})


def test_notes_and_script_across_three_sources(tmp_path, llm_settings):
    reports = corpus.fact_documents(1, seed=5)
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        for path in (SAMPLES / "scanned-memo.pdf", corpus.write_pdf(reports[0], tmp_path), survey_pdf(tmp_path)):
            assert add_file(conn, path).action == "added"
        documents = {row["name"]: load_document(conn, row["id"])
                     for row in conn.execute("SELECT id, name FROM sources ORDER BY id")}
    names = list(documents)
    out = tmp_path / "out" / "nb"
    result = process_source(nb, out, llm_settings, ("notes", "script"))
    assert result.source == str(nb)

    notes = NotesResult.model_validate_json((out / "notes.json").read_text())
    assert {notes.page_sources[p][0] for p in notes.page_sources} == set(names)
    cited_sources = set()
    for point in notes.key_points:  # each point rests on sentences of the source and page its citation names
        for evidence in point.evidence:
            name, page = notes.page_sources[evidence.page]
            cited_sources.add(name)
            assert " ".join(evidence.quote.split()) in " ".join(documents[name].page_text(page).split())
    assert cited_sources == set(names)
    markdown = (out / "notes.md").read_text()
    assert "(scanned-memo.pdf, p. 1)" in markdown and f"({names[1]}, p. " in markdown
    assert all(f"`{name}`" in markdown.split("## Key points")[0] for name in names)

    script = Script.model_validate_json((out / "script.json").read_text())
    spoken = " ".join(t.text for t in script.turns)
    for document in documents.values():  # every source is named in the episode
        assert document.title in spoken, document.title
    by_title = {d.title: name for name, d in documents.items()}
    checked = 0
    for turn in script.turns:  # a fact said in a source's segment is found in that source
        segment = script.segments[turn.segment].title
        if segment not in by_title or turn.speaker != script.speakers[1].id:
            continue
        own = documents[by_title[segment]]
        for sentence in split_sentences(turn.text):
            if any(c.isdigit() for c in sentence):
                assert find_evidence(own, sentence) is not None, (segment, sentence)
                checked += 1
    assert checked >= 3

    # the memo and the survey share a subject: the notes show each theme first with both sources' points, and the
    # episode says each linked point under the name of the source it comes from
    assert notes.themes, "no theme shared by the memo and the survey"
    for theme in notes.themes:
        assert len({notes.page_sources[p.evidence[0].page][0] for p in theme.points}) >= 2
        assert f"### Across the sources > {theme.label[:1].upper()}{theme.label[1:]}" in markdown
    links = [k for k, s in enumerate(script.segments) if s.title == "what the sources share"]
    assert links, [s.title for s in script.segments]
    turns = [t for t in script.turns if t.segment == links[0]]
    attributed = 0
    for host, answer in zip(turns, turns[1:]):
        named = [title for title in by_title if f"does {title} say" in host.text]
        if host.speaker == script.speakers[0].id and named:
            assert all(find_evidence(documents[by_title[named[0]]], s) is not None
                       for s in split_sentences(answer.text)), (host.text, answer.text)
            attributed += 1
    assert attributed >= 2

    page = (out / "index.html").read_text()
    assert "scanned-memo.pdf, p. 1" in page


def test_notes_command_on_a_notebook_restricted_to_some_sources(tmp_path, llm_settings):
    report = corpus.fact_documents(1, seed=9)[0]
    nb = tmp_path / "nb"
    with open_notebook(nb, create=True) as conn:
        add_file(conn, SAMPLES / "scanned-memo.pdf")
        add_file(conn, corpus.write_pdf(report, tmp_path))
    llm = llm_settings.llm
    config = tmp_path / "nc.toml"
    config.write_text(f'cache_dir = "{tmp_path / "cache"}"\n[llm]\n' + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {"base_url": llm.base_url, "api_key": "embedded", "model": llm.model,
                                                 "tier": "small", "tokenizer": llm.tokenizer,
                                                 "context_size": llm.context_size}.items()))
    result = CliRunner().invoke(main, ["--config", str(config), "-q", "notes", str(nb), "--only", "notes",
                                       "--sources", report.file_name, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "out" / "nb" / "notes.md").read_text()
    assert report.file_name in markdown and "scanned-memo" not in markdown and "tardigrade" not in markdown.lower()

    wrong = CliRunner().invoke(main, ["notes", str(nb), "--sources", "nothing.pdf"])
    assert wrong.exit_code == 2 and "nothing.pdf is not in this notebook" in wrong.stderr
    folder = CliRunner().invoke(main, ["notes", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder but not a notebook" in folder.stderr
