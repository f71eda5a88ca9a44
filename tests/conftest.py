"""Shared fixtures: ONE real llama.cpp server (0.5B tier) for the whole test session.

Starting the server costs a few seconds and ~600 MB of RAM, and five people share this 2-core machine, so every
test that needs an LLM uses the same server:

    def test_map_stage(llm_settings):                 # Settings pointing at the shared server
        with open_llm(llm_settings) as llm:           # does not start another server
            out = llm.complete(messages, schema=ChunkNotes, stage="map")

    def test_raw_client(embedded_small):               # just the base URL, e.g. http://127.0.0.1:41234/v1
        client = openai.OpenAI(base_url=embedded_small, api_key="x")

- `embedded_small` (session): the server's OpenAI-compatible base URL. The model name it serves is
  `EMBEDDED_SMALL_MODEL` (also `embedded_small_server.alias`).
- `embedded_small_server` (session): the `EmbeddedServer` object itself (pid, log_path, model_path).
- `llm_settings` (function): `Settings` with llm.base_url at the shared server, llm.model its name, llm.tier small,
  the tokenizer and context of the served GGUF, retries that back off in milliseconds, and cache_dir under
  tmp_path (so each test starts with an empty response cache). Copy it with `.with_overrides(...)` to change more.

Tests using any of these fixtures get the `llm` marker automatically (`pytest -m "not llm"` skips them).
The server is stopped when the session ends (also on Ctrl-C; and it dies with the pytest process on Linux).
"""

from __future__ import annotations

import pytest

from notebooklm_clone.config import Settings
from notebooklm_clone.llm.embedded import EmbeddedServer
from notebooklm_clone.llm.model_files import MODELS

EMBEDDED_SMALL_MODEL = MODELS["small"].alias
EMBEDDED_TEST_CONTEXT = 4096  # enough for ~800-token chunks plus instructions and answer; half the KV-cache RAM


LLM_FIXTURES = {"embedded_small", "embedded_small_server", "llm_settings"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if LLM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.llm)


@pytest.fixture(scope="session")
def embedded_small_server():
    """The real llama.cpp server on the verified 0.5B GGUF, shared by the whole session."""
    with EmbeddedServer.for_tier("small", n_ctx=EMBEDDED_TEST_CONTEXT) as server:
        yield server


@pytest.fixture(scope="session")
def embedded_small(embedded_small_server) -> str:
    """Base URL (…/v1) of the shared embedded server."""
    return embedded_small_server.base_url


@pytest.fixture
def llm_settings(tmp_path, embedded_small_server) -> Settings:
    """Settings whose LLM is the shared embedded server; per-test cache dir under tmp_path."""
    return Settings(
        llm={
            "base_url": embedded_small_server.base_url,
            "api_key": "embedded",
            "model": embedded_small_server.alias,
            "tier": "small",
            "tokenizer": f"gguf:{embedded_small_server.model_path}",
            "context_size": embedded_small_server.n_ctx,
            "retry_base_delay": 0.05,
        },
        cache_dir=str(tmp_path / "cache"),
        out_dir=str(tmp_path / "out"),
    )
