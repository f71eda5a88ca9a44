"""Script -> podcast: speech (cached, parallel clips) then mix (the encoded MP3, chapters, timings, loudness).

Nothing is written here; outputs/podcast.py writes the MP3, subtitles and transcript from what this returns."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from ..config import Settings
from ..models import Mixed, Script
from ..progress import Progress
from ..text.lang import language_code
from ..tts.engine import TTSEngine, get_engine
from .mix import mix_podcast
from .speech import synthesize_script
from .turns import validate_script

FALLBACK_ENGINE = "espeak"  # speaks almost every language, always installed


class PodcastResult(BaseModel):
    # podcast, podcast_srt, podcast_vtt, transcript -> path: filled in when written (outputs/podcast.py)
    files: dict[str, str] = Field(default_factory=dict)
    duration_s: float
    clips_synthesized: int
    clips_cached: int
    lufs: float  # measured on the decoded MP3
    peak_dbtp: float  # true peak (4x oversampled) of the decoded MP3
    engine: str
    voices: dict[str, str] = Field(default_factory=dict)  # speaker id -> voice used
    chapters: list[dict] = Field(default_factory=list)  # title, start_s, end_s
    timings: dict[str, float] = Field(default_factory=dict)  # speech, mix -> seconds
    warnings: list[str] = Field(default_factory=list)


def speech_settings(script: Script, settings: Settings) -> tuple[Settings, TTSEngine, list[str]]:
    """The script's language goes to the engine; an engine that cannot speak it is swapped for espeak-ng, with a
    warning, rather than reading the text with the wrong phonetics. Returns the settings, the engine they name
    (built here, once, and used for the whole podcast) and the warnings."""
    warnings: list[str] = []
    language = language_code(settings.tts.language or script.language)
    settings = settings.with_overrides(**{"tts.language": language})
    engine = get_engine(settings.tts, cache_dir=settings.cache_dir)
    spoken = engine.capabilities.languages
    if "*" not in spoken and language.split("-")[0] not in spoken:
        warnings.append(f"TTS engine {engine.name} does not speak {language!r}; using {FALLBACK_ENGINE} instead")
        settings = settings.with_overrides(**{"tts.engine": FALLBACK_ENGINE})
        engine = get_engine(settings.tts, cache_dir=settings.cache_dir)
    return settings, engine, warnings


def render_podcast(script: Script, settings: Settings,
                   progress: Progress | None = None) -> tuple[PodcastResult, Mixed]:
    """Speak and mix `script`: the result for the report (its `files` empty) and the mixed programme to write.
    Clips already in the cache are reused, so rerunning after an edit (or an interruption) synthesises only what
    is new."""
    validate_script(script, settings.script.max_turn_chars)
    settings, engine, warnings = speech_settings(script, settings)
    started = time.perf_counter()
    clips = synthesize_script(script, settings, engine)
    speech_s = time.perf_counter() - started
    if progress:  # like the pipeline's stages: called when a step is done
        progress({"event": "stage", "stage": "speech", "seconds": round(speech_s, 3)})
    mixed = mix_podcast(script, clips, settings.audio)
    result = PodcastResult(
        duration_s=round(mixed.duration_s, 3),
        clips_synthesized=sum(not c.cached for c in clips),
        clips_cached=sum(c.cached for c in clips),
        lufs=mixed.lufs,
        peak_dbtp=mixed.peak_dbtp,
        engine=engine.name,
        voices={c.speaker: c.voice for c in clips},
        chapters=[c.model_dump() for c in mixed.chapters],
        timings={"speech": round(speech_s, 3), "mix": round(time.perf_counter() - started - speech_s, 3)},
        warnings=warnings,
    )
    return result, mixed
