"""Which LLM to talk to: the embedded llama.cpp server when no endpoint is configured, else OpenAI or any
OpenAI-compatible server (Ollama, vLLM, llama.cpp) named by llm.base_url. Every kind goes through the same `LLM`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import openai

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from .client import LLM, status_text
from .embedded import embedded_settings
from .model_files import MODELS


def endpoint_of(settings: Settings) -> tuple[str, str | None, str | None]:
    """("embedded"|"openai"|"compatible", base_url, api_key) from llm.base_url and llm.api_key (config.load_settings
    fills them from OPENAI_BASE_URL / OPENAI_API_KEY)."""
    base_url = settings.llm.base_url or None
    api_key = settings.llm.api_key or None
    if base_url is None and api_key is None:
        return "embedded", None, None
    if base_url is None or "api.openai.com" in base_url:
        return "openai", base_url, api_key
    return "compatible", base_url, api_key


def resolve_model(llm: LLM) -> str:
    """`model = "embedded"` on a remote endpoint: use the endpoint's only model, else ask for a name."""
    try:
        names = [m.id for m in llm.client.models.list()]
    except openai.AuthenticationError:
        raise BackendUnavailable(f"{llm.endpoint} refused the API key (HTTP 401); check OPENAI_API_KEY") from None
    except openai.APIError as exc:
        raise BackendUnavailable(f"cannot list the models of {llm.endpoint}: {status_text(exc)}") from None
    if len(names) == 1:
        return names[0]
    raise UsageError(
        f"set llm.model to one of the models {llm.endpoint} serves ({', '.join(sorted(names)[:8]) or 'none listed'})"
    )


@contextmanager
def open_llm(settings: Settings) -> Iterator[LLM]:
    """The configured LLM for a `with` block: the embedded llama.cpp server (started now, stopped at exit) when no
    endpoint is configured, else the endpoint in llm.base_url / OPENAI_BASE_URL (OpenAI itself with just a key)."""
    kind, base_url, api_key = endpoint_of(settings)
    if kind == "embedded":
        if settings.llm.model not in ("embedded", MODELS[settings.llm.tier].alias):
            raise UsageError(
                f"llm.model is {settings.llm.model!r} but no endpoint is configured: set OPENAI_API_KEY or "
                'llm.base_url (OPENAI_BASE_URL) for it, or use model = "embedded" for the offline model'
            )
        with embedded_settings(settings) as served:
            llm = LLM(served, base_url=served.llm.base_url, api_key="embedded", kind="embedded",
                      model=served.llm.model)
            try:
                yield llm
            finally:
                llm.close()
        return
    llm = LLM(settings, base_url=base_url, api_key=api_key or "not-needed", kind=kind, model=settings.llm.model)
    try:
        if llm.model == "embedded":
            llm.model = resolve_model(llm)
        yield llm
    finally:
        llm.close()
