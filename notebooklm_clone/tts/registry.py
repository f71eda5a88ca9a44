"""The TTS engines by the name settings and the CLI use, and where each one lives.

Only names and import paths: it imports nothing of the package, so config.py can check `tts.engine` and the CLI can
offer `--engine` choices without loading an engine (or its voice models) or importing tts.engine, which needs config.
"""

from __future__ import annotations

ENGINES: dict[str, str] = {  # name -> "module:class", imported when the engine is first used
    "embedded": "notebooklm_clone.tts.piper_kokoro:PiperKokoroEngine",
    "openai": "notebooklm_clone.tts.openai_speech:OpenAIEngine",
    "coqui": "notebooklm_clone.tts.coqui:CoquiEngine",
    "espeak": "notebooklm_clone.tts.espeak:EspeakEngine",
}
DEFAULT_ENGINE = "embedded"
