"""Audio commands: `speak` (a script JSON -> podcast files), `voices` (engines and voices here), `podcast` (a document
-> notes + podcast through the whole pipeline)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import Settings, load_settings
from ..errors import UsageError
from ..progress import Display
from ..tts.engine import engine_status
from ..tts.registry import ENGINES
from .options import ocr_lang_option, source_argument, source_names, sources_option, tier_option

ENGINE_CHOICE = click.Choice(list(ENGINES))


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    return obj.get("settings") or load_settings()


def _voices(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """`--voice host=joe --voice 2=jf_alpha` -> {"host": "joe", "2": "jf_alpha"} (speaker id or 1-based position)."""
    voices = {}
    for pair in pairs:
        speaker, sep, voice = pair.partition("=")
        if not sep or not speaker.strip() or not voice.strip():
            raise UsageError(f"--voice wants SPEAKER=VOICE, got {pair!r}")
        voices[speaker.strip()] = voice.strip()
    return voices or None


def load_script(path: str | Path):
    """A script JSON as written by the script stage or edited by hand: validated and cleaned for speech by the
    script stage's own loader, so hand edits get the same checks (declared speakers, no markup read aloud)."""
    from ..stages.turns import load_script as load_and_validate

    return load_and_validate(path)


def _report(ctx: click.Context, data: dict, lines: list[str]) -> None:
    obj = ctx.ensure_object(dict)
    if obj.get("json"):
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif not obj.get("quiet"):
        click.echo("\n".join(lines))


def _podcast_lines(result) -> list[str]:
    lines = [f"{name}: {path}" for name, path in result.files.items()]
    lines.append(f"duration {result.duration_s:.1f} s, {result.clips_synthesized} clips synthesised, "
                 f"{result.clips_cached} from cache, {result.lufs:.1f} LUFS, peak {result.peak_dbtp:.1f} dBTP")
    return lines + [f"warning: {w}" for w in result.warnings]


@click.command("speak")
@click.argument("script_file", metavar="SCRIPT.json", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder (default: the script's folder).")
@click.option("--engine", type=ENGINE_CHOICE, default=None, help="TTS engine (default: embedded Piper + Kokoro).")
@click.option("--voice", "voices", multiple=True, metavar="SPEAKER=VOICE",
              help="Voice for a speaker (id or 1-based position); repeatable. See `voices`.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Synthesis processes (default: cores).")
@click.pass_context
def speak(ctx: click.Context, script_file: str, out_dir: str | None, engine: str | None, voices: tuple[str, ...],
          workers: int | None) -> None:
    """Render SCRIPT.json (e.g. an edited script.json) into podcast.mp3, podcast.srt, podcast.vtt and transcript.md.
    Clips are cached, so after an edit only the changed turns are synthesised again."""
    from ..outputs.page import PAGE_NAME, write_page
    from ..outputs.podcast import write_podcast
    from ..stages.podcast import render_podcast

    script = load_script(script_file)
    settings = _settings(ctx)
    overrides = {"tts.engine": engine, "tts.workers": workers}
    chosen = _voices(voices)
    if chosen:
        overrides["tts.voices"] = {**settings.tts.voices, **chosen}
    settings = settings.with_overrides(**overrides)
    out = Path(out_dir) if out_dir else Path(script_file).resolve().parent
    result, mixed = render_podcast(script, settings)
    audio = settings.audio
    result.files = write_podcast(mixed, out, audio.title or script.title, audio.artist, audio.album)
    if (out / PAGE_NAME).is_file() and any((out / name).is_file() for name in ("notes.json", "script.json")):
        # a document's folder (not a batch's): its study page follows the new timings
        result.files["page"] = str(write_page(out))
    _report(ctx, result.model_dump(), _podcast_lines(result))


@click.command("voices")
@click.pass_context
def voices(ctx: click.Context) -> None:
    """TTS engines, whether they work on this machine, and their voices."""
    settings = _settings(ctx)
    rows = engine_status(settings.tts)
    lines = []
    for row in rows:
        mark = "ok " if row["ok"] else "-- "
        default = " (default)" if row["name"] == settings.tts.engine else ""
        lines.append(f"{mark}{row['name']}{default}: {row['detail']}")
        if row["voices"]:
            lines.append(f"     voices: {', '.join(row['voices'])}")
    _report(ctx, {"engines": rows}, lines)


@click.command("podcast")
@source_argument()
@sources_option()
@click.option("-o", "--out", "out_root", type=click.Path(file_okay=False),
              help="Output root (default: settings.out_dir); files go to OUT/<document stem>/.")
@click.option("--minutes", type=click.FloatRange(min=0.5, max=120), default=None, help="Target length.")
@click.option("--speakers", type=click.IntRange(min=1, max=4), default=None, help="Number of hosts (1-4).")
@click.option("--style", type=click.Choice(["deep-dive", "brief", "debate", "critique", "lecture"]), default=None)
@click.option("--engine", type=ENGINE_CHOICE, default=None, help="TTS engine.")
@click.option("--voice", "voices", multiple=True, metavar="SPEAKER=VOICE", help="Voice for a speaker; repeatable.")
@tier_option()
@click.option("--language", default=None, help="Language of notes and podcast (e.g. English, German).")
@click.option("--instructions", default=None, help="Extra guidance for the hosts (focus, audience, tone).")
@click.option("--password", default=None, help="Password for an encrypted PDF.")
@ocr_lang_option
@click.pass_context
def podcast(ctx: click.Context, source: str, only_sources: str | None, out_root: str | None, minutes: float | None,
            speakers: int | None,
            style: str | None, engine: str | None, voices: tuple[str, ...], tier: str | None, language: str | None,
            instructions: str | None, password: str | None, ocr_lang: str | None) -> None:
    """Turn a document (or a notebook's sources) into study notes and a podcast (MP3 with chapters, SRT, VTT,
    transcript)."""
    from ..notebook.products import process_source
    from ..pipeline import doc_out_dir

    settings = _settings(ctx)
    overrides = {"script.minutes": minutes, "script.speakers": speakers, "script.style": style,
                 "script.language": language, "notes.language": language, "script.instructions": instructions,
                 "tts.engine": engine, "llm.tier": tier, "extract.ocr_lang": ocr_lang}
    chosen = _voices(voices)
    if chosen:
        overrides["tts.voices"] = {**settings.tts.voices, **chosen}
    settings = settings.with_overrides(**overrides)
    out = doc_out_dir(source, out_root or settings.out_dir)
    obj = ctx.ensure_object(dict)
    progress = Display(as_json=bool(obj.get("json")), quiet=bool(obj.get("quiet")))
    result = process_source(source, out, settings, ("notes", "podcast"), password=password, progress=progress,
                            only=source_names(only_sources))
    lines = [f"{name}: {path}" for name, path in result.files.items()]
    lines += [f"warning: {w}" for w in result.warnings]
    _report(ctx, result.model_dump(), lines)
    sys.stdout.flush()


commands = [speak, voices, podcast]
