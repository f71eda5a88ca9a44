"""The audio commands as a user runs them: `speak` an (edited) script, `voices`, and `podcast` on a document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from notebooklm_clone.cli import main
from notebooklm_clone.models import Script, Segment, Speaker, Turn

SCRIPT = Script(
    title="CLI Episode",
    speakers=[Speaker(id="host", name="Alex"), Speaker(id="expert", name="Sam")],
    segments=[Segment(title="Only", words=20)],
    turns=[Turn(speaker="host", text="Hello, and welcome."), Turn(speaker="expert", text="Glad to be here."),
           Turn(speaker="host", text="Let us start with the 2019 results.")],
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no notebooklm-clone.toml from elsewhere
    monkeypatch.setenv("NOTEBOOKLM_CLONE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "script.json").write_text(SCRIPT.model_dump_json(indent=2))
    return tmp_path


def speak(*args: str) -> dict:
    result = CliRunner().invoke(main, ["--json", "speak", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.tts
def test_speak_renders_then_rerenders_only_the_edited_turn(workdir):
    first = speak("script.json", "-o", "out")
    assert (first["clips_synthesized"], first["clips_cached"]) == (3, 0)
    assert {Path(p).name for p in first["files"].values()} == {"podcast.mp3", "podcast.srt", "podcast.vtt",
                                                               "podcast.json", "transcript.md"}
    assert first["voices"] == {"host": "joe", "expert": "jf_alpha"} and first["duration_s"] > 3

    edited = json.loads((workdir / "script.json").read_text())
    edited["turns"][2]["text"] = "Let us start with the 2020 results."
    (workdir / "script.json").write_text(json.dumps(edited))
    second = speak("script.json", "-o", "out")
    assert (second["clips_synthesized"], second["clips_cached"]) == (1, 2)
    assert "2020 results" in (workdir / "out" / "transcript.md").read_text()


def test_speak_with_engine_and_voice_overrides_default_out_dir(workdir):
    result = speak("script.json", "--engine", "espeak", "--voice", "expert=en-gb+f4@70", "--voice", "1=en-us+m7@20",
                   "--workers", "2")
    assert result["engine"] == "espeak"
    assert result["voices"] == {"host": "en-us+m7@20", "expert": "en-gb+f4@70"}
    assert (result["clips_synthesized"], result["clips_cached"]) == (3, 0)
    assert Path(result["files"]["podcast"]) == workdir / "podcast.mp3"  # beside the script


@pytest.mark.parametrize("content, message", [
    ('{"title": "x"}', "speakers: Field required"),
    ("not json", "is not valid JSON"),
    ('{"title": "x", "speakers": [{"id": "a", "name": "A"}], "turns": [{"speaker": "b", "text": "Hi."}]}',
     "undeclared speaker 'b'"),
])
def test_invalid_script_is_one_line_bad_input(workdir, content, message):
    (workdir / "bad.json").write_text(content)
    result = CliRunner().invoke(main, ["speak", "bad.json"])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1


def test_bad_voice_flags_are_usage_errors(workdir):
    result = CliRunner().invoke(main, ["speak", "script.json", "--voice", "host"])
    assert result.exit_code == 2 and "SPEAKER=VOICE" in result.stderr
    result = CliRunner().invoke(main, ["speak", "script.json", "--voice", "host=nobody"])
    assert result.exit_code == 2 and "voice 'nobody' is not one of engine embedded's" in result.stderr


def test_voices_lists_engines_and_what_works_here(workdir):
    result = CliRunner().invoke(main, ["voices"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok embedded (default): Piper joe")
    assert any(line.startswith("ok espeak") for line in lines)
    assert any(line.startswith("-- openai: not configured") for line in lines)
    rows = json.loads(CliRunner().invoke(main, ["--json", "voices"]).stdout)["engines"]
    assert [r["name"] for r in rows] == ["embedded", "openai", "coqui", "espeak"]


@pytest.mark.parametrize("flag", ["--tier", "--model"])
def test_podcast_tier_flag_and_its_hidden_former_name(workdir, monkeypatch, flag):
    """`--tier` sets llm.tier; `--model`, its misleading former name, still works but is not in the help."""
    from types import SimpleNamespace

    from notebooklm_clone import pipeline

    seen = {}

    def fake_process(source, out, settings, **kwargs):  # the command's part ends where the pipeline starts
        seen["tier"] = settings.llm.tier
        return SimpleNamespace(files={}, warnings=[], model_dump=dict)

    monkeypatch.setattr(pipeline, "process_document", fake_process)
    (workdir / "doc.txt").write_text("Trees cool streets.", encoding="utf-8")
    result = CliRunner().invoke(main, ["-q", "podcast", "doc.txt", flag, "small"])
    assert result.exit_code == 0, result.output
    assert seen == {"tier": "small"}
    help_text = CliRunner().invoke(main, ["podcast", "--help"]).stdout
    assert "--tier" in help_text and "--model" not in help_text


def test_podcast_command_rejects_a_missing_file(workdir):
    result = CliRunner().invoke(main, ["podcast", "missing.pdf"])
    assert result.exit_code == 2 and "does not exist" in result.stderr


@pytest.mark.llm
@pytest.mark.tts
@pytest.mark.slow
def test_podcast_command_end_to_end(workdir, llm_settings):
    import pymupdf

    pdf = workdir / "trees.pdf"
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "City trees", fontsize=20)
    page.insert_textbox(pymupdf.Rect(72, 100, 520, 700),
                        "Street trees cool cities. A survey of 1,200 streets found 3.5% more shade each year "
                        "where trees were planted, and lower summer temperatures at street level.", fontsize=11)
    doc.save(pdf)
    config = workdir / "notebooklm-clone.toml"
    config.write_text(f'cache_dir = "{workdir / "cache"}"\n[llm]\nbase_url = "{llm_settings.llm.base_url}"\n'
                      f'model = "{llm_settings.llm.model}"\ntier = "small"\n'
                      '[notes]\nonly = ["summary"]\n')  # the fewest LLM calls that still make notes
    result = CliRunner().invoke(main, ["--json", "podcast", str(pdf), "-o", "out", "--minutes", "0.5",
                                       "--model", "small"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    files = report["files"]
    print("podcast end to end, seconds per stage:", report["timings"])
    assert Path(files["podcast"]).name == "podcast.mp3" and Path(files["podcast"]).stat().st_size > 1000
    assert {"podcast_srt", "podcast_vtt", "transcript", "script"} <= set(files)
    # progress: JSON lines on stderr, every LLM batch counted to its end, the stages in order, podcast last
    events = [json.loads(line) for line in result.stderr.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    assert stages == ["extract", "chunk", "notes", "script", "speech", "podcast"]
    calls = [e for e in events if e["event"] == "calls"]
    assert calls and all(1 <= e["done"] <= e["total"] for e in calls)
    # every stage that called the model reported its calls (the host's questions may all come from the notes)
    made = {stage for stage, usage in report["usage_by_stage"].items() if usage["calls"]}
    assert "map" in made and {e["stage"] for e in calls} == made, (made, calls)
    # an ETA as soon as one call was made (its tokens are unknown when its answer never matched the schema)
    assert all(e["eta_s"] is not None and e["tokens_per_s"] is not None for e in calls if e["done"] < e["total"])
    # the two embedded voices, not the espeak fallback (a language name like "English" once sent it there)
    assert report["podcast"]["engine"] == "embedded", report["warnings"]
    voices = report["podcast"]["voices"]  # speakers who have turns: a 30-second script may give the expert none
    assert voices["host"] == "joe" and voices.items() <= {"host": "joe", "expert": "jf_alpha"}.items()
    assert not [w for w in report["warnings"] if "does not speak" in w]
