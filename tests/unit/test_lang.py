"""Language names reach engines as codes: a script written in "English" must be voiced by the embedded voices."""

from __future__ import annotations

import pytest

from notebooklm_clone.config import Settings
from notebooklm_clone.models import Script, Speaker, Turn
from notebooklm_clone.stages.podcast import speech_settings
from notebooklm_clone.text.lang import guess_language, language_code


@pytest.mark.parametrize("given, code", [
    ("English", "en"), ("english ", "en"), ("en-US", "en"), ("pt_BR", "pt"), ("Deutsch", "de"), ("ja", "ja"),
    ("", "en"), (None, "en"), ("Klingon", "klingon"),
])
def test_language_code(given, code):
    assert language_code(given) == code


def test_script_in_english_by_name_keeps_the_embedded_voices(tmp_path):
    script = Script(title="t", language="English", speakers=[Speaker(id="host", name="Alex")],
                    turns=[Turn(speaker="host", text="Hello there.")])
    settings, engine, warnings = speech_settings(script, Settings(cache_dir=str(tmp_path)))
    assert warnings == []
    assert settings.tts.engine == engine.name == "embedded" and settings.tts.language == "en"


def test_chinese_and_japanese_without_spaces_are_recognised():
    # A line of Chinese or Japanese has no spaces: it used to count as "fewer than 3 words" and be called English.
    assert guess_language("水熊虫是一种非常耐旱的动物。干燥时它们会缩成桶状，可以存活很多年。") == "zh"
    assert guess_language("クマムシは乾燥に強い動物です。乾燥すると樽のような形になり、何年も生き延びます。") == "ja"
    assert guess_language("Too short") == "en"
