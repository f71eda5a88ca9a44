"""The LLM layer: one implementation over the `openai` client for every endpoint (the embedded llama.cpp server,
OpenAI, Ollama, vLLM, ...).

What it adds over a bare client call, so the stages stay simple:
- structured output: the endpoint's constrained decoding when it has one, then validation against the schema and a
  bounded number of repair rounds that send the validation error back;
- retries with exponential backoff and jitter on 429, 5xx, timeouts and dropped connections (the client's own
  retries are off, so ours are the only ones), and one clear line for everything that retrying cannot fix;
- a refusal before sending a prompt that cannot fit the model's context;
- a response cache keyed by everything that shapes the answer, so a rerun on the same input makes no calls (the
  model is named by `model_identity`, never by the port a server happens to listen on; llm.use_cache = false
  turns it off);
- a usage ledger (tokens per stage, cache hits, cost from a price table).

    with open_llm(settings) as llm:
        notes = llm.complete(messages, schema=ChunkNotes, stage="map", label="chunk 3").data
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import re
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Literal
from urllib.parse import urlsplit

import openai
from pydantic import BaseModel, ValidationError

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..store import JsonCache, hash_obj

Role = Literal["default", "map", "thinking"]
StructuredOutput = Literal["json_schema", "json_object_schema", "none"]
CACHE_VERSION = "llm-2"  # bump when the cached shape or the request building changes


class SchemaMismatch(BackendUnavailable):
    """The model kept answering with something that does not match the schema (after the repair rounds).

    A stage may skip that one item with a warning instead of failing the document; the endpoint itself works. Every
    other BackendUnavailable (an outage, a refused key, an unknown model) must fail the document: catch this class,
    never match on an error's text."""


def model_identity(kind: str, base_url: str | None, model: str) -> str:
    """What answer caches key on: the embedded model by tier and GGUF sha256 (whichever port its server has), any
    other by endpoint host and model name."""
    from .embedded import MODELS

    for tier, spec in MODELS.items():
        if model == spec.alias and (kind == "embedded" or _is_loopback(base_url)):
            return f"embedded:{tier}:{spec.sha256}"
    host = urlsplit(base_url).hostname if base_url else None
    return f"{host or 'api.openai.com'}/{model}"


def _is_loopback(base_url: str | None) -> bool:
    return bool(base_url) and urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1")


# ---------------------------------------------------------------------------------------------------------------------
# Capabilities: data, keyed by endpoint kind and model name


class Capabilities(BaseModel):
    """What one model on one endpoint can do; the stages size their prompts and answers from it."""

    context_size: int
    max_output_tokens: int
    structured_output: StructuredOutput  # json_schema: OpenAI style; json_object_schema: llama_cpp.server style
    tokenizer: str  # a notebooklm_clone.llm.tokens spec: gguf:<path>, tiktoken:<model>, fallback
    max_tokens_param: str = "max_tokens"  # newer OpenAI reasoning models take max_completion_tokens
    temperature: bool = True  # False: the model only accepts its default temperature


# (endpoint kind, model name glob, capabilities); the first match wins, then llm.* settings override single fields.
# Endpoint kinds: "embedded" (our llama.cpp server), "openai" (api.openai.com), "compatible" (any other base_url).
# "{model}" and "{gguf}" in the tokenizer spec are filled in with the model name and the embedded GGUF path.
CAPABILITY_TABLE: list[tuple[str, str, dict[str, Any]]] = [
    ("embedded", "*", dict(context_size=8192, max_output_tokens=2048, structured_output="json_object_schema",
                           tokenizer="gguf:{gguf}")),
    ("*", "qwen2.5-coder-*-q4_k_m", dict(context_size=8192, max_output_tokens=2048,
                                         structured_output="json_object_schema", tokenizer="fallback")),
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


def lookup_capabilities(kind: str, model: str, overrides: dict[str, Any] | None = None, gguf: str = "") -> Capabilities:
    """Capabilities of `model` on an endpoint of `kind`, from CAPABILITY_TABLE plus non-None `overrides`."""
    for table_kind, pattern, values in CAPABILITY_TABLE:
        if fnmatch.fnmatchcase(kind, table_kind) and fnmatch.fnmatchcase(model.lower(), pattern):
            merged = {**values, **{k: v for k, v in (overrides or {}).items() if v is not None}}
            merged["tokenizer"] = merged["tokenizer"].format(model=model, gguf=gguf)
            return Capabilities(**merged)
    raise UsageError(f"no capabilities known for model {model!r} on a {kind} endpoint")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------------------------
# Prices and the usage ledger

USAGE_TOKENS = ("prompt_tokens", "cached_tokens", "completion_tokens")
USAGE_FIELDS = ("calls", "prompt_tokens", "cached_tokens", "completion_tokens", "cache_hits", "retries", "repairs")


def load_prices(path: str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """USD per 1M tokens by model name (or glob): {"gpt-4o-mini": {"input":..,"cached_input":..,"output":..}}."""
    try:
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files("notebooklm_clone").joinpath("resources", "prices.toml").read_text(encoding="utf-8")
        return tomllib.loads(text).get("models", {})
    except FileNotFoundError:
        raise UsageError(f"price file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"price file {path} is not valid TOML: {exc}") from None


def price_of(prices: dict[str, dict[str, float]], model: str) -> dict[str, float] | None:
    """The exact entry for `model`, else the longest matching glob; None when the price is unknown."""
    if model in prices:
        return prices[model]
    globs = sorted((p for p in prices if any(c in p for c in "*?[")), key=len, reverse=True)
    return next((prices[p] for p in globs if fnmatch.fnmatchcase(model, p)), None)


class UsageLedger:
    """Tokens and calls per (stage, model), thread-safe. Cache hits are counted as hits, never as new tokens."""

    def __init__(self, prices: dict[str, dict[str, float]] | None = None):
        self.prices = prices or {}
        self._rows: dict[tuple[str, str], dict[str, int]] = {}
        self._lock = threading.Lock()

    def record(self, stage: str, model: str, **counts: int) -> None:
        with self._lock:
            row = self._rows.setdefault((stage or "other", model), dict.fromkeys(USAGE_FIELDS, 0))
            for name, value in counts.items():
                row[name] += int(value or 0)

    def _sum(self, key) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (stage, model), row in self._rows.items():
                acc = out.setdefault(key(stage, model), dict.fromkeys(USAGE_FIELDS, 0))
                for name in USAGE_FIELDS:
                    acc[name] += row[name]
        return out

    def totals(self) -> dict[str, int]:
        return self._sum(lambda stage, model: "all").get("all", dict.fromkeys(USAGE_FIELDS, 0))

    def by_stage(self) -> dict[str, dict[str, int]]:
        return self._sum(lambda stage, model: stage)

    def by_model(self) -> dict[str, dict[str, int]]:
        return self._sum(lambda stage, model: model)

    def unpriced_models(self) -> list[str]:
        return sorted(m for m, row in self.by_model().items() if row["calls"] and price_of(self.prices, m) is None)

    def cost_usd(self) -> float:
        """Cost of the calls made (cached prompt tokens at the cached rate); models without a price count as 0."""
        total = 0.0
        for model, row in self.by_model().items():
            price = price_of(self.prices, model)
            if price is None:
                continue
            fresh = row["prompt_tokens"] - row["cached_tokens"]
            total += (
                fresh * price.get("input", 0.0)
                + row["cached_tokens"] * price.get("cached_input", price.get("input", 0.0))
                + row["completion_tokens"] * price.get("output", 0.0)
            ) / 1_000_000
        return round(total, 6)

    def summary(self) -> str:
        """One line for the end of a run."""
        t = self.totals()
        line = (
            f"LLM: {t['calls']} call{'s' * (t['calls'] != 1)} ({t['cache_hits']} answered from cache), "
            f"{t['prompt_tokens']:,} prompt tokens "
            f"({t['cached_tokens']:,} reused), {t['completion_tokens']:,} completion tokens, "
            f"${self.cost_usd():.4f}"
        )
        unpriced = self.unpriced_models()
        return line + (f" (no price for {', '.join(unpriced)})" if unpriced else "")


# ---------------------------------------------------------------------------------------------------------------------
# Structured output helpers

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def clean_model_text(text: str) -> str:
    """Drop <think>...</think> reasoning (also an unclosed leading one) and ``` fences around the answer."""
    text = _THINK.sub("", text or "")
    if "</think>" in text.lower():
        text = text[text.lower().rindex("</think>") + len("</think>"):]
    fence = _FENCE.search(text)
    return (fence.group(1) if fence else text).strip()


def parse_json(text: str) -> Any:
    """The JSON value in a model answer (tolerating prose around one object or array)."""
    cleaned = clean_model_text(text)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError as exc:
        starts = [i for i in (cleaned.find("{"), cleaned.find("[")) if i >= 0]
        if starts:
            start = min(starts)
            end = cleaned.rfind("}" if cleaned[start] == "{" else "]")
            if end > start:
                try:
                    return json.loads(cleaned[start:end + 1])
                except json.JSONDecodeError:
                    pass
        raise ValueError(f"the answer is not valid JSON ({exc.msg} at char {exc.pos})") from None


def schema_dict(schema: dict | type[BaseModel] | None) -> dict | None:
    if schema is None or isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    raise UsageError(f"schema must be a JSON schema dict or a pydantic model class, not {type(schema).__name__}")


def validate(schema: dict | type[BaseModel], value: Any) -> Any:
    """The validated value (a model instance for a pydantic class); ValueError with a short reason otherwise."""
    if isinstance(schema, type):
        try:
            return schema.model_validate(value)
        except ValidationError as exc:
            reasons = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:3]]
            raise ValueError("; ".join(reasons)) from None
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        reasons = [f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message[:200]}" for e in errors[:3]]
        raise ValueError("; ".join(reasons))
    return value


def strict_compatible(schema: Any) -> bool:
    """OpenAI strict mode needs every object closed (additionalProperties false) with all properties required."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties", {})
            if schema.get("additionalProperties", True) is not False or set(schema.get("required", [])) != set(props):
                return False
        return all(strict_compatible(v) for v in schema.values())
    if isinstance(schema, list):
        return all(strict_compatible(v) for v in schema)
    return True


def response_format(mode: StructuredOutput, schema: dict) -> dict | None:
    if mode == "json_schema":
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "answer"))[:64]
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema,
                                                       "strict": strict_compatible(schema)}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return None


def _schema_instruction(schema: dict) -> dict:
    return {"role": "user", "content": "Answer with only a JSON object that matches this JSON schema, no prose:\n"
                                       + json.dumps(schema, ensure_ascii=False)}


# ---------------------------------------------------------------------------------------------------------------------
# The LLM


@dataclass
class Completion:
    text: str
    data: Any = None  # the validated object when a schema was given (a model instance for a pydantic class)
    usage: dict[str, int] = field(default_factory=dict)  # prompt/cached/completion tokens this call cost (0 if cached)
    cached: bool = False  # answered from the response cache: no request was made
    model: str = ""
    finish_reason: str = ""


_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, openai.ConflictError)
_OVERFLOW = re.compile(r"context.{0,20}(length|window|size)|too many tokens|maximum context|prompt is too long", re.I)


def _status_text(exc: Exception) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return f"connection failed ({type(cause).__name__ if cause else 'no answer'})"
    if isinstance(exc, openai.APIStatusError):
        body = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        message = str(message or exc.body or exc.message).strip()
        return f"HTTP {exc.status_code}: {message[:160]}"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


class LLM:
    """Chat completions against one OpenAI-compatible endpoint; see the module docstring for what it adds."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None,
        api_key: str,
        kind: Literal["embedded", "openai", "compatible"],
        model: str,
        gguf: str | os.PathLike | None = None,
    ):
        self.settings = settings
        self.config = settings.llm
        self.kind = kind
        self.base_url = base_url
        self.model = model
        self.gguf = str(gguf or "")
        self.endpoint = f"embedded llama.cpp server ({model})" if kind == "embedded" else (base_url or "api.openai.com")
        # a loopback endpoint is never reached through HTTP(S)_PROXY from the environment
        local = _is_loopback(base_url)
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=self.config.timeout,
                                    http_client=openai.DefaultHttpxClient(trust_env=False) if local else None)
        self.usage = UsageLedger(load_prices(self.config.prices_file))
        self.cache = JsonCache(Path(settings.cache_dir) / "llm") if self.config.use_cache else None
        self.requests_sent = 0  # HTTP requests actually made (retries included)
        self.closed = False
        self._tokenizers: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- what the stages ask about ------------------------------------------------------------------------------------

    def model_for(self, role: Role = "default") -> str:
        """The model for a role; the embedded server serves one model for all roles."""
        if role not in ("default", "map", "thinking"):
            raise UsageError(f"unknown LLM role {role!r}: use default, map or thinking")
        if self.kind == "embedded":
            return self.model
        chosen = {"map": self.config.map_model, "thinking": self.config.thinking_model}.get(role)
        return chosen or self.model

    def model_identity(self, role: Role = "default") -> str:
        """The model a role uses, as answer caches name it (see `model_identity`)."""
        return model_identity(self.kind, self.base_url, self.model_for(role))

    def capabilities_for(self, model: str) -> Capabilities:
        overrides = {
            "context_size": self.config.context_size,
            "max_output_tokens": self.config.max_output_tokens,
            "structured_output": self.config.structured_output,
            "tokenizer": self.config.tokenizer,
        }
        return lookup_capabilities(self.kind, model, overrides, gguf=self.gguf)

    @property
    def capabilities(self) -> Capabilities:
        return self.capabilities_for(self.model)

    def tokenizer_for(self, model: str):
        spec = self.capabilities_for(model).tokenizer
        with self._lock:
            if spec not in self._tokenizers:
                from .tokens import get_tokenizer

                self._tokenizers[spec] = get_tokenizer(spec)
            return self._tokenizers[spec]

    @property
    def tokenizer(self):
        return self.tokenizer_for(self.model)

    def count_prompt_tokens(self, messages: list[dict], model: str | None = None) -> int:
        """Prompt tokens as the chat template frames them: ChatML (Qwen; OpenAI's is a little smaller) spends 5 tokens
        a message and 3 to open the answer, and Qwen adds a 21-token system prompt when the messages have none."""
        tokenizer = self.tokenizer_for(model or self.model)
        text_tokens = sum(tokenizer.count(_content_text(m.get("content"))) for m in messages)
        default_system = 0 if any(m.get("role") == "system" for m in messages) else 21
        return text_tokens + 5 * len(messages) + 3 + default_system

    # -- calls ---------------------------------------------------------------------------------------------------------

    def complete(
        self,
        messages: list[dict],
        *,
        schema: dict | type[BaseModel] | None = None,
        stage: str = "",
        label: str = "",
        max_tokens: int | None = None,
        temperature: float | None = None,
        role: Role = "default",
    ) -> Completion:
        """One chat completion; with `schema`, `.data` holds the validated object (or BackendUnavailable is raised)."""
        model = self.model_for(role)
        caps = self.capabilities_for(model)
        where = ", ".join(x for x in (f"stage {stage}" if stage else "", label) if x) or "LLM call"
        json_schema = schema_dict(schema)
        temperature = self.config.temperature if temperature is None else temperature
        messages = [dict(m) for m in messages]
        if json_schema is not None and caps.structured_output == "none":
            messages.append(_schema_instruction(json_schema))
        prompt_tokens = self.count_prompt_tokens(messages, model)
        room = caps.context_size - prompt_tokens
        wanted = max_tokens or caps.max_output_tokens
        if room < min(wanted, 256):
            raise BackendUnavailable(
                f"{where}: the prompt is ~{prompt_tokens:,} tokens but {model} has a {caps.context_size:,}-token "
                f"context (and needs room to answer); lower chunk.budget_tokens or use a model with a larger context"
            )
        params: dict[str, Any] = {"model": model, caps.max_tokens_param: min(wanted, room)}
        if caps.temperature:
            params["temperature"] = temperature
        if json_schema is not None and (fmt := response_format(caps.structured_output, json_schema)):
            params["response_format"] = fmt

        key = hash_obj(CACHE_VERSION, model_identity(self.kind, self.base_url, model), messages, json_schema, params)
        if self.cache is not None and (hit := self._cached(key, schema)) is not None:
            self.usage.record(stage, model, cache_hits=1)
            return hit

        total = dict.fromkeys(USAGE_TOKENS, 0)
        conversation, error = list(messages), ""
        tries = 1 + (self.config.repair_retries if schema is not None else 0)
        for attempt in range(tries):
            response = self._send(dict(params, messages=conversation), where, stage, model)
            counts = _usage_counts(response)
            for name in total:
                total[name] += counts[name]
            self.usage.record(stage, model, calls=1, repairs=1 if attempt else 0, **counts)
            choice = response.choices[0]
            text = choice.message.content or ""
            finish = choice.finish_reason or ""
            if schema is None:
                completion = Completion(text=text, usage=total, model=model, finish_reason=finish)
                break
            try:
                value = parse_json(text)
                data = validate(schema, value)
            except ValueError as exc:
                error = str(exc) + (" (the answer was cut off at the token limit)" if finish == "length" else "")
                conversation = conversation[: len(messages)] + [
                    {"role": "assistant", "content": text[:4000]},
                    {"role": "user", "content": f"That answer is invalid: {error}. Reply with only the corrected "
                                                "JSON object that matches the schema."},
                ]
                continue
            completion = Completion(text=text, data=data, usage=total, model=model, finish_reason=finish)
            break
        else:
            raise SchemaMismatch(f"{where}: model output did not match the schema after {_tries(tries)}: {error[:300]}")
        if self.cache is not None:
            data = completion.data
            stored = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
            self.cache.put(key, {"text": completion.text, "data": stored, "finish": finish, "model": model})
        return completion

    def _cached(self, key: str, schema) -> Completion | None:
        """The stored answer for `key`, or None (also when it no longer validates, e.g. a hand-edited entry)."""
        hit = self.cache.get(key)
        if not isinstance(hit, dict) or "text" not in hit:
            return None
        try:
            data = validate(schema, hit.get("data")) if schema is not None else None
        except ValueError:
            return None
        return Completion(text=hit["text"], data=data, usage=dict.fromkeys(USAGE_TOKENS, 0), cached=True,
                          model=hit.get("model", ""), finish_reason=hit.get("finish", ""))

    def complete_many(self, requests: list[dict]) -> list[Completion]:
        """`complete(**request)` for each request, `llm.concurrency` at a time, results in request order.

        The first failure cancels what has not started and is raised; answers already received are cached.
        """
        workers = max(1, min(self.config.concurrency, len(requests)))
        if workers == 1:
            return [self.complete(**request) for request in requests]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
        futures = [pool.submit(self.complete, **request) for request in requests]
        try:
            results = [future.result() for future in futures]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C must not wait for queued requests
            raise
        pool.shutdown()
        return results

    def ping(self) -> Completion:
        """A 1-token completion: proves the endpoint answers and the model exists (never cached)."""
        model = self.model
        caps = self.capabilities_for(model)
        response = self._send({"model": model, "messages": [{"role": "user", "content": "Say OK."}],
                               caps.max_tokens_param: 1}, "ping", "doctor", model)
        counts = _usage_counts(response)
        self.usage.record("doctor", model, calls=1, **counts)
        return Completion(text=response.choices[0].message.content or "", usage=counts, model=model)

    def close(self) -> None:
        """Stop: requests still in flight in other threads fail at once instead of retrying."""
        self.closed = True
        self.client.close()

    # -- one request with retries -------------------------------------------------------------------------------------

    def _send(self, params: dict, where: str, stage: str, model: str):
        tries = 1 + max(0, self.config.max_retries)
        last: Exception | None = None
        for attempt in range(tries):
            if self.closed:
                raise BackendUnavailable(f"{where}: the LLM was closed (interrupted run)")
            if attempt:
                self.usage.record(stage, model, retries=1)
                time.sleep(self._backoff(attempt, last))
            with self._lock:
                self.requests_sent += 1
            try:
                response = self.client.chat.completions.create(**params)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} refused the API key ({_status_text(exc)}); check OPENAI_API_KEY "
                    "or llm.api_key"
                ) from None
            except openai.NotFoundError as exc:
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} does not know model {model!r} ({_status_text(exc)}); check llm.model "
                    "(or llm.map_model / llm.thinking_model)"
                ) from None
            except openai.BadRequestError as exc:
                if _OVERFLOW.search(str(exc.message)) or getattr(exc, "code", None) == "context_length_exceeded":
                    raise BackendUnavailable(
                        f"{where}: the prompt does not fit the context of {model} ({_status_text(exc)}); lower "
                        "chunk.budget_tokens or set llm.context_size to what the endpoint really has"
                    ) from None
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} rejected the request ({_status_text(exc)})"
                ) from None
            except _RETRYABLE as exc:
                last = exc
                continue
            except openai.APIStatusError as exc:
                raise BackendUnavailable(f"{where}: {self.endpoint} failed: {_status_text(exc)}") from None
            except (openai.APIResponseValidationError, ValueError) as exc:
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} did not answer like an OpenAI chat completion endpoint "
                    f"({type(exc).__name__})"
                ) from None
            if not getattr(response, "choices", None):
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} returned an answer without choices (is it an OpenAI-compatible "
                    "chat completion endpoint?)"
                )
            return response
        if isinstance(last, openai.APIConnectionError) and not isinstance(last, openai.APITimeoutError):
            raise BackendUnavailable(
                f"{where}: cannot reach the LLM endpoint {self.base_url or 'api.openai.com'} after {_tries(tries)}: "
                f"{_status_text(last)}; is it running? (or unset llm.base_url / OPENAI_BASE_URL for the embedded model)"
            )
        hint = ""
        sent_json_schema = params.get("response_format", {}).get("type") == "json_schema"
        if isinstance(last, openai.InternalServerError) and sent_json_schema:
            hint = ("; llama-cpp-python's server answers 500 to json_schema: set llm.structured_output = "
                    '"json_object_schema" for it')
        raise BackendUnavailable(
            f"{where}: {self.endpoint} kept failing after {_tries(tries)} ({_status_text(last)}){hint}"
        )

    def _backoff(self, attempt: int, exc: Exception | None) -> float:
        """Exponential with full jitter; a server's Retry-After wins when it asks for longer."""
        base = self.config.retry_base_delay * (2 ** (attempt - 1))
        delay = min(base, 60.0) * (0.5 + random.random())
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        try:
            delay = max(delay, min(float(retry_after), 60.0)) if retry_after else delay
        except ValueError:
            pass
        return delay


def _tries(n: int) -> str:
    return f"{n} try" if n == 1 else f"{n} tries"


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _usage_counts(response) -> dict[str, int]:
    usage = getattr(response, "usage", None)
    details = getattr(usage, "prompt_tokens_details", None)
    return {
        "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
        "cached_tokens": getattr(details, "cached_tokens", 0) or 0,
        "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Choosing the endpoint


def endpoint_of(settings: Settings) -> tuple[str, str | None, str | None]:
    """("embedded"|"openai"|"compatible", base_url, api_key) from settings, then OPENAI_BASE_URL / OPENAI_API_KEY."""
    base_url = settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = settings.llm.api_key or os.environ.get("OPENAI_API_KEY") or None
    if base_url is None and api_key is None:
        return "embedded", None, None
    if base_url is None or "api.openai.com" in base_url:
        return "openai", base_url, api_key
    return "compatible", base_url, api_key


def _resolve_model(llm: LLM) -> str:
    """`model = "embedded"` on a remote endpoint: use the endpoint's only model, else ask for a name."""
    try:
        names = [m.id for m in llm.client.models.list()]
    except openai.AuthenticationError:
        raise BackendUnavailable(f"{llm.endpoint} refused the API key (HTTP 401); check OPENAI_API_KEY") from None
    except openai.APIError as exc:
        raise BackendUnavailable(f"cannot list the models of {llm.endpoint}: {_status_text(exc)}") from None
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
        from .embedded import DEFAULT_CONTEXT, MODELS, EmbeddedServer

        if settings.llm.model not in ("embedded", MODELS[settings.llm.tier].alias):
            raise UsageError(
                f"llm.model is {settings.llm.model!r} but no endpoint is configured: set OPENAI_API_KEY or "
                'llm.base_url (OPENAI_BASE_URL) for it, or use model = "embedded" for the offline model'
            )

        server = EmbeddedServer.for_tier(
            settings.llm.tier, settings.cache_dir, n_ctx=settings.llm.context_size or DEFAULT_CONTEXT,
            threads=settings.llm.threads, prompt_cache=settings.llm.prompt_cache,
        )  # fmt: skip
        with server:
            llm = LLM(settings, base_url=server.base_url, api_key="embedded", kind="embedded", model=server.alias,
                      gguf=server.model_path)
            try:
                yield llm
            finally:
                llm.close()
        return
    llm = LLM(settings, base_url=base_url, api_key=api_key or "not-needed", kind=kind, model=settings.llm.model)
    try:
        if llm.model == "embedded":
            llm.model = _resolve_model(llm)
        yield llm
    finally:
        llm.close()
