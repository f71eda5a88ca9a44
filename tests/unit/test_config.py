"""Settings: unknown keys and nonsense values are usage errors (exit 2) naming the key, from a config file or a flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from notebooklm_clone.config import Settings, load_settings
from notebooklm_clone.errors import UsageError


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "notebooklm_clone", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("toml,key", [
    ('[llm]\nbasse_url = "http://127.0.0.1:1/v1"\n', "llm.basse_url"),
    ("[script]\nminutes = 0\n", "script.minutes"),
    ("[script]\nspeakers = 9\n", "script.speakers"),
    ("[chunk]\nbudget_tokens = 100\noverlap_tokens = 100\n", "chunk"),
    ("[lmm]\nmodel = \"x\"\n", "lmm"),
    ('[audio]\nbitrate = "loud"\n', "audio.bitrate"),
    ("[llm]\nconcurrency = 0\n", "llm.concurrency"),
    ("[llm]\ntemperature = 5\n", "llm.temperature"),
    ("[script]\nwords_per_minute = 0\n", "script.words_per_minute"),
    ('out_dri = "elsewhere"\n', "out_dri"),
])
def test_a_bad_config_file_is_a_usage_error_naming_the_key(tmp_path, toml, key):
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(UsageError, match=rf"^bad setting {key}\b"):
        load_settings(config)
    source = tmp_path / "doc.txt"
    source.write_text("Tardigrades survive drying.", encoding="utf-8")
    done = cli("--config", str(config), "notes", str(source), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, (done.returncode, done.stderr[-800:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and key in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_nonsense_flags_are_one_line_usage_errors(tmp_path):
    # click printed three lines (usage, a hint, the error) for a bad flag; every other error is one line
    source = tmp_path / "doc.txt"
    source.write_text("Tardigrades survive drying.", encoding="utf-8")
    for command, flag, value in (("script", "--minutes", "0"), ("script", "--speakers", "9"),
                                 ("podcast", "--minutes", "-1"), ("extract", "--budget", "3")):
        done = cli(command, str(source), flag, value, "-o", str(tmp_path / "out"))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-800:]
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and flag in done.stderr, done.stderr
    done = cli("--no-such-flag", "script", str(source))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--no-such-flag" in done.stderr, done.stderr
    assert cli().returncode in (0, 2) and "Usage:" in cli().stdout + cli().stderr  # no command: the help, as before


def test_overrides_are_validated_like_the_file():
    with pytest.raises(UsageError, match="bad setting script.minutes"):
        Settings().with_overrides(**{"script.minutes": 0})
    assert Settings().with_overrides(**{"script.minutes": 2.5}).script.minutes == 2.5


def test_settings_built_anywhere_see_the_openai_environment(monkeypatch):
    """config.py is the one reader of OPENAI_BASE_URL / OPENAI_API_KEY: Settings() built by library code fills the
    LLM endpoint and the openai TTS engine's from them (never another engine's), and a value that is set wins."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    settings = Settings()
    assert (settings.llm.base_url, settings.llm.api_key) == ("http://127.0.0.1:9/v1", "sk-env")
    assert (settings.tts.base_url, settings.tts.api_key) == (None, None)
    openai = settings.with_overrides(**{"tts.engine": "openai"}).tts
    assert (openai.base_url, openai.api_key) == ("http://127.0.0.1:9/v1", "sk-env")
    assert Settings(llm={"api_key": "sk-mine"}).llm.api_key == "sk-mine"
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert Settings().llm.base_url is None and Settings().llm.api_key is None


def test_an_unknown_tts_engine_is_a_usage_error_listing_the_engines():
    with pytest.raises(UsageError, match="^bad setting tts.engine: Input should be 'embedded', 'openai', 'coqui' or "
                                         "'espeak'$"):
        Settings().with_overrides(**{"tts.engine": "festival"})


def test_ocr_lang_is_a_setting_checked_once_and_a_changed_one_redoes_batch_documents():
    from notebooklm_clone.batch import settings_fingerprint

    settings = Settings()
    assert settings.extract.ocr_lang == "auto"
    french = settings.with_overrides(**{"extract.ocr_lang": "French"})
    assert french.extract.ocr_lang == "French"
    with pytest.raises(UsageError, match=r"^bad setting extract.ocr_lang: "):
        settings.with_overrides(**{"extract.ocr_lang": "fra; rm -rf /"})
    for products in (["extract"], ["notes"]):
        assert settings_fingerprint(french, products) != settings_fingerprint(settings, products)
        assert settings_fingerprint(settings.with_overrides(**{"extract.ocr_lang": "auto"}), products) == \
            settings_fingerprint(settings, products)
