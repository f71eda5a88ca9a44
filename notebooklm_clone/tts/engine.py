"""The protocol every TTS engine implements, and how engines are built from settings.

Engines are loaded lazily and once per process (`get_engine`), because loading a voice model costs more than a
sentence of speech. Callers only ever call the methods below: an engine that has nothing to do for one of them
inherits the base class's default instead of leaving the caller to ask whether it exists.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field

from ..config import TTSSettings
from ..errors import BackendUnavailable, UsageError
from ..procs import usable_cores
from .registry import ENGINES


class EngineCapabilities(BaseModel):
    """What an engine can do, as data the callers read instead of asking the engine's name."""

    languages: list[str]  # ISO 639-1 codes ("*" = whatever the model speaks)
    max_chars: int  # longest text one synthesize() call should get
    sample_rate: int  # native output rate (the mix resamples)
    voices: list[str]  # voice names accepted by synthesize()
    default_voices: list[str] = Field(default_factory=list)  # speaker 1, 2, 3, 4 ... when none is configured


class TTSEngine(ABC):
    """A text-to-speech engine. Subclasses set `name` and `capabilities` (on the class, or in __init__ when they
    depend on the loaded model) and implement synthesize, identity and check; the rest has defaults."""

    name: ClassVar[str]
    capabilities: EngineCapabilities
    accepts_any_voice: ClassVar[bool] = False  # True: voices outside capabilities.voices are passed on, not refused

    @abstractmethod
    def __init__(self, settings: TTSSettings, threads: int | None = None, cache_dir: Path | None = None):
        """Load the engine; raise BackendUnavailable (one clear line) when it cannot run here."""

    @abstractmethod
    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        """Speak `text` with `voice`: mono float32 samples in [-1, 1] and their sample rate."""

    @abstractmethod
    def identity(self) -> dict:
        """Everything besides text and voice that changes the audio (model, settings): part of the clip cache key."""

    @classmethod
    @abstractmethod
    def check(cls, settings: TTSSettings) -> tuple[bool, str]:
        """Whether the engine can run here and a one-line detail, without loading any model (`doctor`, `voices`)."""

    @classmethod
    def known_voices(cls, settings: TTSSettings) -> list[str]:
        """Voices to list in `voices` and `doctor`, without loading the engine."""
        return list(cls.capabilities.voices)

    def voice_identity(self, voice: str) -> str | dict:
        """What a voice means to the audio, for the clip cache key: its name, unless voices are files."""
        return voice

    def prepare(self, voices: set[str]) -> None:
        """Called once before worker processes start, so files they share are in place before they race for them."""


def engine_class(name: str) -> type[TTSEngine]:
    """The engine class registered under `name`, imported now (heavy engines load only when used)."""
    if name not in ENGINES:
        raise UsageError(f"unknown TTS engine {name!r}; choose one of {', '.join(ENGINES)}")
    module, _, cls = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


_loaded: dict[str, TTSEngine] = {}


def get_engine(settings: TTSSettings, threads: int | None = None, cache_dir: str | Path | None = None) -> TTSEngine:
    """The engine `settings` name, constructed once per process (and per distinct settings). `cache_dir` is where
    an engine may put files it derives from installed models (Settings.cache_dir)."""
    threads = threads or cpu_count()  # resolved here: a process's share of the cores can change between documents
    key = f"{settings.model_dump_json()}|{threads}|{cache_dir}"
    if key not in _loaded:
        _loaded[key] = engine_class(settings.engine)(settings, threads=threads,
                                                     cache_dir=Path(cache_dir) if cache_dir else None)
    return _loaded[key]


def voice_for(engine: TTSEngine, settings: TTSSettings, speaker_index: int, speaker_id: str,
              speaker_voice: str | None = None) -> str:
    """A speaker's voice: the settings (--voice SPEAKER=VOICE) win, then the script's own choice, then the engine's
    default for that position, so two to four hosts always sound different."""
    voice = settings.voices.get(speaker_id) or settings.voices.get(str(speaker_index + 1)) or speaker_voice
    caps = engine.capabilities
    if voice is None:
        defaults = caps.default_voices or caps.voices
        if not defaults:
            raise BackendUnavailable(f"TTS engine {engine.name} offers no voice")
        return defaults[speaker_index % len(defaults)]
    if caps.voices and voice not in caps.voices and not engine.accepts_any_voice:
        raise UsageError(f"voice {voice!r} is not one of engine {engine.name}'s: {', '.join(caps.voices)}")
    return voice


def engine_status(settings: TTSSettings | None = None) -> list[dict]:
    """Which engines work on this machine: name, ok, one-line detail, voices. Used by `doctor` and `voices`."""
    settings = settings or TTSSettings()
    rows = []
    for name in ENGINES:
        try:
            cls = engine_class(name)
            # validated again, not copied: settings that depend on the engine (openai's endpoint) are filled in
            engine_settings = TTSSettings.model_validate({**settings.model_dump(), "engine": name})
            ok, detail = cls.check(engine_settings)
            voices = list(cls.known_voices(engine_settings))
        except Exception as exc:  # noqa: BLE001 - a status report must list every engine, whatever breaks
            ok, detail, voices = False, f"{type(exc).__name__}: {exc}", []
        rows.append({"name": name, "ok": ok, "detail": detail, "voices": voices})
    return rows


def cpu_count() -> int:
    """Cores an engine may use: all of them, or this document's share when several documents run at once."""
    return usable_cores()


def as_mono_float32(samples, rate: int) -> tuple[np.ndarray, int]:
    """Engines hand back ints, lists, stereo... the protocol promises mono float32 in [-1, 1]."""
    audio = np.asarray(samples)
    if audio.dtype.kind in "iu":
        audio = audio.astype(np.float32) / float(np.iinfo(audio.dtype).max)
    audio = audio.astype(np.float32, copy=False)
    if audio.ndim == 2:
        audio = audio.mean(axis=1 if audio.shape[1] <= 8 else 0)
    return np.clip(audio.ravel(), -1.0, 1.0), int(rate)
