"""Language names reach engines as codes: a script written in "English" must be voiced by the embedded voices."""

from __future__ import annotations

import pytest

from notebooklm_clone.config import Settings
from notebooklm_clone.lang import language_code
from notebooklm_clone.models import Script, Speaker, Turn
from notebooklm_clone.podcast import speech_settings


@pytest.mark.parametrize("given, code", [
    ("English", "en"), ("english ", "en"), ("en-US", "en"), ("pt_BR", "pt"), ("Deutsch", "de"), ("ja", "ja"),
    ("", "en"), (None, "en"), ("Klingon", "klingon"),
])
def test_language_code(given, code):
    assert language_code(given) == code


def test_script_in_english_by_name_keeps_the_embedded_voices(tmp_path):
    script = Script(title="t", language="English", speakers=[Speaker(id="host", name="Alex")],
                    turns=[Turn(speaker="host", text="Hello there.")])
    settings, warnings = speech_settings(script, Settings(cache_dir=str(tmp_path)))
    assert warnings == []
    assert settings.tts.engine == "embedded" and settings.tts.language == "en"
