"""Settings: defaults < config file (TOML) < environment < command-line flags.

Each stage reads only its own section. Add a field to your section with a default; nothing else changes.
This is the one module that reads the environment: settings built anywhere (the CLI, library code, a batch worker)
see the same OPENAI_BASE_URL / OPENAI_API_KEY, and the stages read only their settings.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import UsageError
from .tts.registry import DEFAULT_ENGINE, ENGINES


class Section(BaseModel):
    """A settings section: an unknown key (a typo such as `basse_url`) is an error naming it, never ignored."""

    model_config = ConfigDict(extra="forbid")


def default_cache_dir() -> Path:
    return Path(os.environ.get("NOTEBOOKLM_CLONE_CACHE") or user_cache_dir("notebooklm_clone"))


OPENAI_ENVIRONMENT = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}  # setting -> variable


def with_openai_environment(data: Any) -> Any:
    """An OpenAI-style endpoint's base_url and api_key, where not set, from OPENAI_BASE_URL / OPENAI_API_KEY."""
    if not isinstance(data, dict):
        return data
    filled = dict(data)
    for field, variable in OPENAI_ENVIRONMENT.items():
        if not filled.get(field) and os.environ.get(variable):
            filled[field] = os.environ[variable]
    return filled


class LLMSettings(Section):
    base_url: str | None = None  # None and no OPENAI_BASE_URL/OPENAI_API_KEY -> embedded llama.cpp server
    api_key: str | None = None
    model: str = "embedded"  # "embedded" or a model name the endpoint knows
    tier: Literal["default", "small"] = "default"  # embedded model: 1.5B (default) or 0.5B (small)
    map_model: str | None = None  # a faster model for the map stage, if any
    thinking_model: str | None = None  # a stronger model for outline and script, if any
    concurrency: int = Field(default=1, ge=1, le=64)
    temperature: float = Field(default=0.2, ge=0, le=2)
    timeout: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    repair_retries: int = Field(default=2, ge=0, le=10)
    context_size: int | None = Field(default=None, ge=512)  # override the endpoint's advertised context
    max_output_tokens: int | None = Field(default=None, ge=16)
    threads: int | None = Field(default=None, ge=1)  # embedded server threads (default: the machine's cores)
    # embedded generation steps: on all cores, on one core (with drafts), or whichever is faster at the time
    generation: Literal["auto", "all-cores", "one-core"] = "auto"
    drafts: bool = True  # prompt-lookup drafts in one-core steps (llm/decoding.py)
    prices_file: str | None = None  # TOML price table overriding the built-in one
    use_cache: bool = True
    structured_output: Literal["json_schema", "json_object_schema", "none"] | None = None  # override the table
    tokenizer: str | None = None  # override the tokenizer spec: gguf:<path>, tiktoken:<model>, fallback
    writes_notes: bool | None = None  # override the table: the map model's written notes hold (True) or not (False)
    retry_base_delay: float = Field(default=1.0, ge=0)  # seconds before the first retry; doubles each time (with jitter)
    # embedded server keeps earlier prompt states in RAM (~0.3 GB each, capped at 1 GiB); off: the pipeline never
    # returns to an earlier prefix, and consecutive requests share theirs without it (bench-llm)
    prompt_cache: bool = False

    @model_validator(mode="before")
    @classmethod
    def _endpoint_from_environment(cls, data: Any) -> Any:
        return with_openai_environment(data)


class ChunkSettings(Section):
    budget_tokens: int = 700  # chunk_document rejects a budget too small to hold a sentence
    overlap_tokens: int = Field(default=50, ge=0)

    @model_validator(mode="after")
    def _overlap_below_budget(self) -> "ChunkSettings":
        if self.overlap_tokens >= self.budget_tokens:
            raise ValueError("overlap_tokens must be smaller than budget_tokens")
        return self


class NotesSettings(Section):
    language: str = "auto"  # "auto": the language detected in the document; else a name like "English"
    level: Literal["intro", "expert"] = "intro"
    instructions: str = ""
    only: list[str] = Field(default_factory=lambda: ["summary", "notes", "cards", "quiz"])
    abstract_sentences: int = Field(default=5, ge=1, le=12)
    section_sentences: int = Field(default=3, ge=1, le=8)
    qa_pairs: int = Field(default=8, ge=1, le=20)
    quiz_questions: int = Field(default=8, ge=1, le=20)


class ScriptSettings(Section):
    minutes: float | None = Field(default=None, ge=0.5, le=120)  # None: the length follows the material
    speakers: int = Field(default=2, ge=1, le=4)
    style: Literal["deep-dive", "brief", "debate", "critique", "lecture"] = "deep-dive"
    language: str = "auto"  # "auto": the language detected in the document; else a name like "English"
    instructions: str = ""
    words_per_minute: int = Field(default=150, ge=60, le=300)
    max_turn_chars: int = Field(default=500, ge=80)  # longer turns are split at sentence boundaries (TTS-friendly)
    speaker_names: list[str] = Field(default_factory=list)  # override the default host names, in order
    length_tolerance: float = Field(default=0.2, gt=0, lt=1)  # word count may miss the target by this share


class TTSSettings(Section):
    engine: str = DEFAULT_ENGINE  # one of tts.registry.ENGINES
    voices: dict[str, str] = Field(default_factory=dict)  # speaker id -> voice name
    workers: int | None = Field(default=None, ge=1)  # synthesis processes (default: cores)
    base_url: str | None = None  # openai engine
    api_key: str | None = None
    model: str | None = None  # openai: tts model; coqui: model name or path
    instructions: str = ""  # openai: how to speak (gpt-4o-mini-tts)
    timeout: float = Field(default=120.0, gt=0)  # openai: seconds per request
    max_retries: int = Field(default=3, ge=0, le=20)  # openai: retries on 429/5xx/timeouts
    coqui_config: str | None = None  # coqui: config.json when `model` is a checkpoint file without one beside it
    language: str | None = None  # language spoken (espeak voice, coqui multilingual id); default: the script's
    espeak_wpm: int = Field(default=165, ge=80, le=450)  # espeak: speaking rate

    @model_validator(mode="before")
    @classmethod
    def _openai_endpoint_from_environment(cls, data: Any) -> Any:
        """Only the openai engine talks to an endpoint: other engines' settings (and clip keys) ignore the variables."""
        if isinstance(data, dict) and data.get("engine") == "openai":
            return with_openai_environment(data)
        return data

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, engine: str) -> str:
        if engine not in ENGINES:
            expected = ", ".join(repr(name) for name in list(ENGINES)[:-1]) + f" or {list(ENGINES)[-1]!r}"
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return engine


class AudioSettings(Section):
    target_lufs: float = Field(default=-16.0, ge=-40, le=-5)
    peak_dbtp: float = Field(default=-1.0, ge=-20, le=0)
    pause_ms: int = Field(default=450, ge=0, le=5000)
    quick_pause_ms: int = Field(default=200, ge=0, le=5000)
    intro_music: str | None = None
    outro_music: str | None = None
    bitrate: str = Field(default="128k", pattern=r"^(32|40|48|56|64|80|96|112|128|160|192|224|256|320)k?$")
    sample_rate: int = Field(default=24000, ge=8000, le=48000)
    clip_lufs: float = Field(default=-20.0, ge=-40, le=-5)  # every clip is levelled to this before mixing, so the hosts sound equally loud
    music_lufs: float = Field(default=-24.0, ge=-60, le=-5)  # intro/outro music sits below the speech
    music_fade_ms: int = Field(default=1500, ge=0)
    title: str | None = None  # ID3 title (default: the script's title)
    artist: str = "notebooklm-clone"
    album: str = "notebooklm-clone podcasts"


class ExtractSettings(Section):
    # the language scanned pages are OCR'd in: "auto" (found page by page) or e.g. "French", "fr", "fra+eng"
    ocr_lang: str = Field(default="auto", pattern=r"^[A-Za-z_][A-Za-z_+, -]*$")


class Settings(Section):
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    notes: NotesSettings = Field(default_factory=NotesSettings)
    script: ScriptSettings = Field(default_factory=ScriptSettings)
    tts: TTSSettings = Field(default_factory=TTSSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    out_dir: str = "out"
    cache_dir: str = Field(default_factory=lambda: str(default_cache_dir()))
    prompts_dir: str | None = None  # user overrides; missing templates fall back to prompts/

    def with_overrides(self, **dotted: Any) -> "Settings":
        """Return a copy with `section.field=value` overrides applied; None values are skipped."""
        data = self.model_dump()
        for key, value in dotted.items():
            if value is None:
                continue
            target = data
            *parents, leaf = key.split(".")
            for part in parents:
                target = target[part]
            target[leaf] = value
        return validate_settings(data)


def validate_settings(data: dict[str, Any], where: str = "") -> "Settings":
    """Settings from plain data; the first problem becomes a one-line usage error naming the key."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        message = "unknown setting" if first["type"] == "extra_forbidden" else first["msg"]
        raise UsageError(f"bad setting {key}{where}: {message}") from None


def load_settings(config_file: str | os.PathLike | None = None) -> Settings:
    """Defaults, then the config file (explicit, or ./notebooklm-clone.toml), then the environment (filled in by
    the sections' validators)."""
    data: dict[str, Any] = {}
    path = Path(config_file) if config_file else Path("notebooklm-clone.toml")
    if config_file and not path.is_file():
        raise UsageError(f"config file not found: {path}")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    return validate_settings(data, f" in {path}" if path.is_file() else "")
