"""`notebooklm-clone check OUTDIR` on a folder built by hand from samples/tardigrades.pdf: right items (copied or
compressed from the sample) pass, each planted fault is counted and shown with its reason, report.json gains the
figures and keeps the rest, and bad input is one line with its exit code."""

from __future__ import annotations

import json
import shutil

import pdfs
import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.errors import BadInput
from notebooklm_clone.models import (
    AuditReport,
    Card,
    Cited,
    NotesResult,
    QAPair,
    QuizQuestion,
    Script,
    SectionSummary,
    Speaker,
    Summary,
    Term,
    Turn,
)
from notebooklm_clone.outputs.report import write_document, write_report
from notebooklm_clone.outputs.script import write_script
from notebooklm_clone.pipeline import DocumentResult
from notebooklm_clone.sources import extract_document
from notebooklm_clone.store import atomic_write_json

SAMPLE = pdfs.ROOT / "samples" / "tardigrades.pdf"
OTHER = pdfs.ROOT / "samples" / "scanned-memo.pdf"

# Planted faults: key point number -> (what is wrong, the reason `check` must give).
WRONG_NUMBER = "Several tardigrade species survive doses of 500 grays when hydrated."
SWAPPED_ENTITY = "Dsup was found in Hypsibius exemplaris by Takekazu Hashimoto and colleagues in 2016."
NEGATION = "A tun placed back in water does not rehydrate and start walking within minutes to a few hours."
GENERIC = "Photosynthesis converts sunlight into chemical energy stored in sugars."
DUPLICATE = "More than 1,300 tardigrade species are known today."
WRONG_PAGE = "In September 2007 the FOTON-M3 mission carried dried tardigrades into low Earth orbit."  # on p. 3
SCRIPT_NUMBER = "In 2007 the FOTON-M3 mission exposed dried tardigrades to the vacuum of space for thirty days."  # ten


def notes_for(sha256: str, title: str) -> NotesResult:
    """Right items copied or compressed from the sample, with the planted faults among the key points."""
    return NotesResult(
        document=sha256, title=title,
        summary=Summary(
            abstract=[Cited(text="Tardigrades, known as water bears, survive conditions that kill almost every other "
                                 "animal.", pages=[1]),
                      Cited(text="In the tun state an animal loses up to 97 percent of its body water and its "
                                 "metabolism falls below 0.01 percent of normal.", pages=[2])],
            sections=[SectionSummary(title="2.2 Protective molecules", pages=[3], sentences=[
                Cited(text="Dsup binds to chromatin and appears to shield DNA from hydroxyl radicals.", pages=[3])])],
        ),
        key_points=[
            Cited(text="Today more than 1,300 species of tardigrades are known.", pages=[1]),
            Cited(text="Animals dried slowly over roughly a day survive far better than animals dried within minutes.",
                  pages=[2]),
            Cited(text=WRONG_NUMBER, pages=[3]),
            Cited(text=SWAPPED_ENTITY, pages=[3]),
            Cited(text=NEGATION, pages=[2]),
            Cited(text=GENERIC, pages=[2]),
            Cited(text=DUPLICATE, pages=[1]),
            Cited(text=WRONG_PAGE, pages=[5]),
        ],
        glossary=[
            Term(term="tun", definition="a compact, barrel-shaped form a drying tardigrade contracts into", pages=[2]),
            Term(term="Dsup", definition="short for damage suppressor, a protein that binds to chromatin", pages=[3]),
            Term(term="anhydrobiosis", definition="life without water", pages=[2]),
        ],
        qa=[
            QAPair(question="Why do dried animals tolerate organic solvents?",
                   answer="Because the chemicals cannot reach molecules that are locked in a glassy matrix.",
                   pages=[3]),
            QAPair(question="What pressure did tuns survive in a sealed container?", answer="7,500 atmospheres",
                   pages=[3]),
        ],
        quiz=[
            QuizQuestion(question="Who named the group Tardigrada?",
                         options=["Johann Goeze", "Lazzaro Spallanzani", "Thomas Boothby", "Mark Burchell"],
                         answer="B", pages=[1]),
            QuizQuestion(question="Up to what speed did tuns survive impacts?",
                         options=["about 90 metres per second", "about 900 metres per second",
                                  "about 9,000 metres per second", "no speed at all"], answer="B", pages=[4]),
        ],
        cards=[
            Card(front="tun", back="a compact, barrel-shaped form a drying tardigrade contracts into", pages=[2],
                 kind="term"),
            Card(front="What dose of gamma radiation is fatal to most humans?", back="About 5 grays", pages=[3],
                 kind="qa"),
        ],
    )  # fmt: skip


SCRIPT = Script(
    title="Water bears", speakers=[Speaker(id="host", name="Maya Chen"), Speaker(id="expert", name="Leo Park")],
    turns=[
        Turn(speaker="host", text="Welcome back to the show! I'm Maya. Today: water bears. Leo, what is a tun?"),
        Turn(speaker="expert", text="Thanks, Maya. When its water film evaporates, a tardigrade pulls in its legs and "
                                    "head and contracts into a barrel-shaped form called a tun. That's wild, right?"),
        Turn(speaker="host", text="Wow. And they went to space?"),
        Turn(speaker="expert", text=f"Yes. {SCRIPT_NUMBER}"),
    ],
)  # fmt: skip


@pytest.fixture(scope="module")
def document():
    return extract_document(SAMPLE)


@pytest.fixture
def outdir(tmp_path, document):
    """A document output folder as the pipeline lays it out (extract + notes + script)."""
    out = tmp_path / "tardigrades"
    write_document(document, out)
    atomic_write_json(out / "notes.json", notes_for(document.sha256, document.title))
    write_script(SCRIPT, out)
    write_report(DocumentResult(source=str(SAMPLE), out_dir=str(out), products=["extract", "notes", "script"],
                                citations={"checked": 17, "ok": 17}, warnings=["kept as it was"]), out)
    return out


def run(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def audit_of(out, *extra) -> AuditReport:
    result = run("check", out, "--json", *extra)
    assert result.exit_code == 0, result.output
    return AuditReport.model_validate_json(result.stdout)


def counts(audit: AuditReport) -> dict[str, tuple[int, int, int, int, int]]:
    return {o.output: (o.checked, o.supported, o.unsupported, o.duplicate, o.wrong_pages) for o in audit.outputs}


EXPECTED = {  # checked, supported, unsupported, duplicate, wrong pages
    "summary": (3, 3, 0, 0, 0),
    "key_points": (8, 4, 4, 1, 1),
    "glossary": (3, 3, 0, 0, 0),
    "qa": (2, 2, 0, 0, 0),
    "quiz": (2, 2, 0, 0, 0),
    "cards": (2, 2, 0, 0, 0),
    "script": (2, 1, 1, 0, 0),
}


def test_counts_per_output(outdir):
    audit = audit_of(outdir)
    assert counts(audit) == EXPECTED
    assert [o.output for o in audit.outputs] == list(EXPECTED)
    key_points = audit.outputs[1]
    assert key_points.faithful == 0.5
    script = audit.outputs[-1]
    assert script.skipped == 9  # greetings, names, questions and reactions are not claims
    assert audit.total().checked == 22 and audit.total().supported == 17


def test_each_planted_item_is_reported_with_its_reason(outdir):
    flagged = {item.text: item for item in audit_of(outdir).items}
    assert set(flagged) == {WRONG_NUMBER, SWAPPED_ENTITY, NEGATION, GENERIC, DUPLICATE, WRONG_PAGE, SCRIPT_NUMBER}

    def unsupported(text: str, reason: str, page: int, quote: str) -> None:
        item = flagged[text]
        assert not item.supported and not item.wrong_pages and not item.duplicate_of
        assert any(r.startswith(reason) for r in item.reasons), item.reasons
        assert item.evidence_page == page and quote in item.evidence

    unsupported(WRONG_NUMBER, "number 500 not in evidence", 3, "doses of 5,000 grays")
    unsupported(SWAPPED_ENTITY, "entity 'Hypsibius' not in evidence", 3, "found in Ramazzottius varieornatus")
    unsupported(NEGATION, "negation differs", 2, "usually rehydrates and starts walking")
    unsupported(GENERIC, "generic", 2, "")
    assert flagged[GENERIC].score < 0.3
    script = flagged[SCRIPT_NUMBER]
    assert script.output == "script" and script.reasons == ["number thirty not in evidence"]
    assert "For ten days" in script.evidence

    duplicate = flagged[DUPLICATE]
    assert duplicate.supported and duplicate.duplicate_of == "key_points #1" and duplicate.number == 7
    wrong_page = flagged[WRONG_PAGE]
    assert wrong_page.supported and wrong_page.wrong_pages and wrong_page.pages == [5]
    assert wrong_page.evidence_page == 3 and "FOTON-M3" in wrong_page.evidence


def test_table_then_one_line_per_flagged_item(outdir):
    result = run("check", outdir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("output"))
    assert lines[header].split() == ["output", "checked", "supported", "unsupported", "duplicate", "wrong", "pages",
                                     "faithful"]
    assert lines[header + 2].split() == ["key_points", "8", "4", "4", "1", "1", "50%"]
    assert lines[header + 8].split() == ["total", "22", "17", "5", "1", "1", "77%"]
    items = lines[lines.index("Flagged items:") + 1:]
    assert len(items) == 7
    assert items[0].startswith('key_points #3 unsupported: number 500 not in evidence: "Several tardigrade')
    assert '| p. 3: "Several tardigrade species survive doses of 5,000 grays' in items[0]
    assert items[4] == f'key_points #7 duplicate of key_points #1: "{DUPLICATE}"'
    assert items[5] == f'key_points #8 wrong pages: cites p. 5, source on p. 3: "{WRONG_PAGE}"'


def test_figures_are_merged_into_report_json(outdir):
    before = json.loads((outdir / "report.json").read_text())
    assert run("check", outdir).exit_code == 0
    after = json.loads((outdir / "report.json").read_text())
    faithfulness = after.pop("faithfulness")
    assert after == before  # everything else kept as it was
    assert faithfulness["checked"] == 22 and faithfulness["unsupported"] == 5 and faithfulness["faithful"] == 0.773
    assert faithfulness["outputs"]["key_points"]["wrong_pages"] == 1
    assert {i["text"] for i in faithfulness["unsupported_items"]} >= {WRONG_NUMBER, GENERIC}
    assert not list(outdir.glob("*.part")) and not list(outdir.glob(".*.part"))
    assert run("check", outdir).exit_code == 0  # a second check replaces the figures
    assert json.loads((outdir / "report.json").read_text())["faithfulness"] == faithfulness


def test_source_is_extracted_again_without_document_json(outdir):
    (outdir / "document.json").unlink()
    (outdir / "script.json").unlink()
    audit = audit_of(outdir)
    assert counts(audit) == {k: v for k, v in EXPECTED.items() if k != "script"}


# ---------------------------------------------------------------------------------------------------------------------
# Bad input: one line on stderr and the bad-input exit code


def assert_bad_input(result, *words: str) -> None:
    assert result.exit_code == BadInput.exit_code, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    for word in words:
        assert word in result.stderr


def test_no_notes_json(outdir):
    (outdir / "notes.json").unlink()
    assert_bad_input(run("check", outdir), "notes.json is missing")


def test_notes_json_that_does_not_validate(outdir):
    data = json.loads((outdir / "notes.json").read_text())
    data["key_points"][0]["pages"] = "one"
    (outdir / "notes.json").write_text(json.dumps(data))
    assert_bad_input(run("check", outdir), "not valid NotesResult", "key_points.0.pages")


def test_missing_source_then_given_with_source_flag(outdir, tmp_path):
    moved = tmp_path / "moved.pdf"
    shutil.copy(SAMPLE, moved)
    (outdir / "document.json").unlink()
    report = json.loads((outdir / "report.json").read_text())
    report["source"] = str(tmp_path / "gone.pdf")
    (outdir / "report.json").write_text(json.dumps(report))
    assert_bad_input(run("check", outdir), "gone.pdf", "is missing", "--source")
    assert counts(audit_of(outdir, "--source", moved)) == EXPECTED


def test_a_different_source_is_refused(outdir):
    assert_bad_input(run("check", outdir, "--source", OTHER), "is not the document")


def test_outdir_that_is_not_a_folder(tmp_path):
    result = run("check", tmp_path / "nowhere")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_the_hosts_frame_lines_are_no_claims_but_an_experts_sentence_of_that_form_is():
    from notebooklm_clone.stages.audit import statements_of

    claim = "Now, tardigrades survive 9,000 grays in orbit for ten days."
    script = Script(title="Water bears", speakers=SCRIPT.speakers, turns=[
        Turn(speaker="host", text="Welcome to the show. Today we are reading Procès-verbal du 20 juin 2023."),
        Turn(speaker="host", text="Now, Résolution DM-2023-001 and protective molecules."),
        Turn(speaker="expert", text=claim),
        Turn(speaker="host", text="That was Water bears, from Résolution DM-2023-001 to 2.2 Protective molecules."),
    ])  # fmt: skip
    statements, skipped = statements_of(NotesResult(document="x", title="Water bears"), script)
    assert [s.text for s in statements["script"]] == [claim]
    assert skipped["script"] == 4  # the welcome is two sentences
