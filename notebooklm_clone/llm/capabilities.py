"""What one model on one endpoint can do (context, output cap, structured output, tokenizer), as table data, and
the identity answer caches name a model by. Named ModelCapabilities: a TTS engine has its own Capabilities."""

from __future__ import annotations

import fnmatch
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from ..errors import UsageError
from .model_files import MODELS

StructuredOutput = Literal["json_schema", "json_object_schema", "none"]


def model_identity(kind: str, base_url: str | None, model: str) -> str:
    """What answer caches key on: the embedded model by tier and GGUF sha256 (whichever port its server has), any
    other by endpoint host and model name."""
    for tier, spec in MODELS.items():
        if model == spec.alias and (kind == "embedded" or is_loopback(base_url)):
            return f"embedded:{tier}:{spec.sha256}"
    host = urlsplit(base_url).hostname if base_url else None
    return f"{host or 'api.openai.com'}/{model}"


def is_loopback(base_url: str | None) -> bool:
    return bool(base_url) and urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1")



class ModelCapabilities(BaseModel):
    """What one model on one endpoint can do; the stages size their prompts and answers from it."""

    context_size: int
    max_output_tokens: int
    structured_output: StructuredOutput  # json_schema: OpenAI style; json_object_schema: llama_cpp.server style
    tokenizer: str  # a notebooklm_clone.llm.tokens spec: gguf:<path>, tiktoken:<model>, fallback
    max_tokens_param: str = "max_tokens"  # newer OpenAI reasoning models take max_completion_tokens
    temperature: bool = True  # False: the model only accepts its default temperature
    # whether the model's written notes hold and condense their sentences: None probes the first chunks; False (the
    # embedded Qwen tiers: 1 of 8, 1 of 6 and 0 of 9 held on three documents) has the map choose sentences by id
    writes_notes: bool | None = None


# (endpoint kind, model name glob, capabilities); the first match wins, then llm.* settings override single fields.
# Endpoint kinds: "embedded" (our llama.cpp server), "openai" (api.openai.com), "compatible" (any other base_url).
# "{model}" and "{gguf}" in the tokenizer spec are filled in with the model name and the embedded GGUF path.
CAPABILITY_TABLE: list[tuple[str, str, dict[str, Any]]] = [
    ("embedded", "*", dict(context_size=8192, max_output_tokens=2048, structured_output="json_object_schema",
                           tokenizer="gguf:{gguf}", writes_notes=False)),
    ("*", "qwen2.5-coder-*-q4_k_m", dict(context_size=8192, max_output_tokens=2048,
                                         structured_output="json_object_schema", tokenizer="fallback",
                                         writes_notes=False)),
    ("*", "gpt-5*", dict(context_size=400_000, max_output_tokens=128_000, structured_output="json_schema",
                         tokenizer="tiktoken:gpt-4o", max_tokens_param="max_completion_tokens", temperature=False)),
    ("*", "o[134]*", dict(context_size=200_000, max_output_tokens=100_000, structured_output="json_schema",
                          tokenizer="tiktoken:gpt-4o", max_tokens_param="max_completion_tokens", temperature=False)),
    ("*", "gpt-4.1*", dict(context_size=1_047_576, max_output_tokens=32_768, structured_output="json_schema",
                           tokenizer="tiktoken:gpt-4o")),
    ("*", "gpt-4o*", dict(context_size=128_000, max_output_tokens=16_384, structured_output="json_schema",
                          tokenizer="tiktoken:gpt-4o")),
    ("*", "gpt-3.5-turbo*", dict(context_size=16_385, max_output_tokens=4_096, structured_output="none",
                                 tokenizer="tiktoken:gpt-3.5-turbo")),
    ("openai", "*", dict(context_size=128_000, max_output_tokens=16_384, structured_output="json_schema",
                         tokenizer="tiktoken:{model}")),
    ("compatible", "*", dict(context_size=8192, max_output_tokens=2048, structured_output="json_schema",
                             tokenizer="fallback")),
]  # fmt: skip


def lookup_capabilities(kind: str, model: str, overrides: dict[str, Any] | None = None, gguf: str = "") -> ModelCapabilities:
    """Capabilities of `model` on an endpoint of `kind`, from CAPABILITY_TABLE plus non-None `overrides`."""
    for table_kind, pattern, values in CAPABILITY_TABLE:
        if fnmatch.fnmatchcase(kind, table_kind) and fnmatch.fnmatchcase(model.lower(), pattern):
            merged = {**values, **{k: v for k, v in (overrides or {}).items() if v is not None}}
            merged["tokenizer"] = merged["tokenizer"].format(model=model, gguf=gguf)
            return ModelCapabilities(**merged)
    raise UsageError(f"no capabilities known for model {model!r} on a {kind} endpoint")  # pragma: no cover
