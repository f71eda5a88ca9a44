"""The OpenAI speech endpoint (`audio.speech`), or any server that speaks the same API (e.g. a local Kokoro/Piper
server). settings.tts.base_url / api_key / model pick the server (config.py fills base_url and api_key from
OPENAI_BASE_URL / OPENAI_API_KEY when they are not set)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from ..config import TTSSettings
from ..errors import BackendUnavailable
from .engine import EngineCapabilities, TTSEngine, as_mono_float32

OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"]
DEFAULT_VOICES = ["onyx", "nova", "echo", "shimmer"]


class OpenAIEngine(TTSEngine):
    name = "openai"
    accepts_any_voice = True  # compatible servers have voices of their own
    capabilities = EngineCapabilities(languages=["*"], max_chars=4096, sample_rate=24000, voices=OPENAI_VOICES,
                                      default_voices=DEFAULT_VOICES)

    def __init__(self, settings: TTSSettings, threads: int | None = None, cache_dir: Path | None = None):
        try:
            from openai import OpenAI
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise BackendUnavailable(f"the openai package is missing: {exc}") from None
        self.base_url = settings.base_url
        self.model = settings.model or "gpt-4o-mini-tts"
        if not settings.api_key and not self.base_url:
            raise BackendUnavailable("openai TTS needs an API key (OPENAI_API_KEY or tts.api_key) or a tts.base_url")
        self.client = OpenAI(base_url=self.base_url, api_key=settings.api_key or "not-needed", timeout=settings.timeout,
                             max_retries=settings.max_retries)
        self.instructions = settings.instructions

    def identity(self) -> dict:
        return {"base_url": self.base_url or "api.openai.com", "model": self.model, "instructions": self.instructions}

    @classmethod
    def check(cls, settings: TTSSettings) -> tuple[bool, str]:
        if not (settings.api_key or settings.base_url):
            return False, "not configured: set OPENAI_API_KEY or tts.base_url (reachability is checked when used)"
        return True, f"configured for {settings.base_url or 'api.openai.com'} (model {settings.model or 'gpt-4o-mini-tts'})"

    def synthesize(self, text: str, voice: str) -> tuple[np.ndarray, int]:
        import openai

        extra = {"instructions": self.instructions} if self.instructions else {}
        try:
            response = self.client.audio.speech.create(model=self.model, voice=voice, input=text,
                                                       response_format="wav", **extra)
        except openai.APIError as exc:
            raise BackendUnavailable(f"speech endpoint {self.base_url or 'api.openai.com'} failed: {exc}") from None
        try:
            audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise BackendUnavailable(f"speech endpoint returned audio we cannot read: {exc}") from None
        return as_mono_float32(audio, rate)
