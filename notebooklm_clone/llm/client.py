"""The LLM layer: one implementation over the `openai` client for every endpoint (the embedded llama.cpp server,
OpenAI, Ollama, vLLM, ...), and the only place a stage's prompt is sent from.

What it adds over a bare client call, so the stages stay simple:
- structured output: the endpoint's constrained decoding when it has one, then validation against the schema and a
  bounded number of repair rounds that send the validation error back (structured.py);
- retries with exponential backoff and jitter on 429, 5xx, timeouts and dropped connections (the client's own
  retries are off, so ours are the only ones), and one clear line for everything that retrying cannot fix;
- a refusal (PromptTooLong) before sending a prompt that cannot fit the context of the model the role uses, measured
  with that model's tokenizer (capabilities.py);
- a response cache keyed by everything that shapes the answer, so a rerun on the same input makes no calls (the
  model is named by `model_identity`, never by the port a server happens to listen on; llm.use_cache = false
  turns it off);
- a usage ledger (tokens per stage, cache hits, cost from a price table; usage.py).

    with open_llm(settings) as llm:  # endpoints.py
        notes = llm.complete(messages, schema=ChunkNotes, stage="map", label="chunk 3").data
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import openai
from pydantic import BaseModel

from ..config import Settings
from ..errors import BackendUnavailable, UsageError
from ..progress import CallMeter, Progress
from ..store import JsonCache, hash_obj
from .capabilities import ModelCapabilities, is_loopback, lookup_capabilities, model_identity
from .embedded import died as _embedded_died
from .structured import parse_json, response_format, schema_dict, schema_instruction, validate
from .tokens import get_tokenizer
from .usage import USAGE_TOKENS, UsageLedger, load_prices

Role = Literal["default", "map", "thinking"]
CACHE_VERSION = "llm-2"  # bump when the cached shape or the request building changes


class SchemaMismatch(BackendUnavailable):
    """The model kept answering with something that does not match the schema (after the repair rounds).

    A stage may skip that one item with a warning instead of failing the document; the endpoint itself works. Every
    other BackendUnavailable (an outage, a refused key, an unknown model) must fail the document: catch this class,
    never match on an error's text."""


class PromptTooLong(BackendUnavailable):
    """A prompt that leaves its model no room to answer: refused before it is sent (the stages fit their prompts
    first, so this means a setting such as chunk.budget_tokens or llm.context_size does not match the model)."""


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


@dataclass
class Request:
    """A request fitted to its model's context, with the key its answer is cached under."""

    messages: list[dict]  # as sent (with the schema instruction when the endpoint cannot constrain output)
    params: dict[str, Any]  # model, max tokens, temperature, response_format
    key: str
    model: str
    json_schema: dict | None


_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, openai.ConflictError)
_OVERFLOW = re.compile(r"context.{0,20}(length|window|size)|too many tokens|maximum context|prompt is too long", re.I)


def status_text(exc: Exception) -> str:
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
    ):
        self.config = settings.llm
        self.kind = kind
        self.base_url = base_url
        self.model = model
        self.endpoint = f"embedded llama.cpp server ({model})" if kind == "embedded" else (base_url or "api.openai.com")
        # a loopback endpoint is never reached through HTTP(S)_PROXY from the environment
        local = is_loopback(base_url)
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=self.config.timeout,
                                    http_client=openai.DefaultHttpxClient(trust_env=False) if local else None)
        self.usage = UsageLedger(load_prices(self.config.prices_file))
        self.cache = JsonCache(Path(settings.cache_dir) / "llm") if self.config.use_cache else None
        self.requests_sent = 0  # HTTP requests actually made (retries included)
        self.progress: Progress | None = None  # told of every call of complete_many as it finishes
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

    def capabilities_for(self, model: str) -> ModelCapabilities:
        overrides = {
            "context_size": self.config.context_size,
            "max_output_tokens": self.config.max_output_tokens,
            "structured_output": self.config.structured_output,
            "tokenizer": self.config.tokenizer,
            "writes_notes": self.config.writes_notes,
        }
        return lookup_capabilities(self.kind, model, overrides)

    @property
    def capabilities(self) -> ModelCapabilities:
        return self.capabilities_for(self.model)

    def tokenizer_for(self, model: str):
        spec = self.capabilities_for(model).tokenizer
        with self._lock:
            if spec not in self._tokenizers:
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

    def request(
        self,
        messages: list[dict],
        *,
        schema: dict | type[BaseModel] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        role: Role = "default",
        where: str = "LLM call",
    ) -> Request:
        """The request `complete` would send, fitted to the context of the role's model (PromptTooLong when the prompt
        leaves no room to answer), and its cache key."""
        model = self.model_for(role)
        caps = self.capabilities_for(model)
        json_schema = schema_dict(schema)
        temperature = self.config.temperature if temperature is None else temperature
        messages = [dict(m) for m in messages]
        if json_schema is not None and caps.structured_output == "none":
            messages.append(schema_instruction(json_schema))
        prompt_tokens = self.count_prompt_tokens(messages, model)
        room = caps.context_size - prompt_tokens
        wanted = max_tokens or caps.max_output_tokens
        if room < min(wanted, 256):
            raise PromptTooLong(
                f"{where}: the prompt is ~{prompt_tokens:,} tokens but {model} has a {caps.context_size:,}-token "
                f"context (and needs room to answer); lower chunk.budget_tokens or use a model with a larger context"
            )
        params: dict[str, Any] = {"model": model, caps.max_tokens_param: min(wanted, room)}
        if caps.temperature:
            params["temperature"] = temperature
        if json_schema is not None and (fmt := response_format(caps.structured_output, json_schema)):
            params["response_format"] = fmt
        key = hash_obj(CACHE_VERSION, model_identity(self.kind, self.base_url, model), messages, json_schema, params)
        return Request(messages=messages, params=params, key=key, model=model, json_schema=json_schema)

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
        cache_dir: str | os.PathLike | None = None,
    ) -> Completion:
        """One chat completion; with `schema`, `.data` holds the validated object (or SchemaMismatch is raised).

        `cache_dir`: a second answer cache, read first and always filled (a document's out_dir/.cache), so a rerun of
        that document answers from it whatever cache_dir the settings name. llm.use_cache = false turns both off."""
        where = ", ".join(x for x in (f"stage {stage}" if stage else "", label) if x) or "LLM call"
        req = self.request(messages, schema=schema, max_tokens=max_tokens, temperature=temperature, role=role,
                           where=where)
        model = req.model
        caches = [JsonCache(Path(cache_dir) / "calls")] if cache_dir and self.cache is not None else []
        caches += [self.cache] if self.cache is not None else []
        for i, cache in enumerate(caches):
            if (hit := self._cached(cache, req.key, schema)) is not None:
                for earlier in caches[:i]:
                    earlier.put(req.key, cache.get(req.key))
                self.usage.record(stage, model, cache_hits=1)
                return hit

        total = dict.fromkeys(USAGE_TOKENS, 0)
        conversation, error = list(req.messages), ""
        tries = 1 + (self.config.repair_retries if schema is not None else 0)
        for attempt in range(tries):
            response = self._send(dict(req.params, messages=conversation), where, stage, model)
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
                conversation = conversation[: len(req.messages)] + [
                    {"role": "assistant", "content": text[:4000]},
                    {"role": "user", "content": f"That answer is invalid: {error}. Reply with only the corrected "
                                                "JSON object that matches the schema."},
                ]
                continue
            completion = Completion(text=text, data=data, usage=total, model=model, finish_reason=finish)
            break
        else:
            raise SchemaMismatch(f"{where}: model output did not match the schema after {_tries(tries)}: {error[:300]}")
        data = completion.data
        stored = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        for cache in caches:
            cache.put(req.key, {"text": completion.text, "data": stored, "finish": finish, "model": model})
        return completion

    @staticmethod
    def _cached(cache: JsonCache, key: str, schema) -> Completion | None:
        """The stored answer for `key`, or None (also when it no longer validates, e.g. a hand-edited entry)."""
        hit = cache.get(key)
        if not isinstance(hit, dict) or "text" not in hit:
            return None
        try:
            data = validate(schema, hit.get("data")) if schema is not None else None
        except ValueError:
            return None
        return Completion(text=hit["text"], data=data, usage=dict.fromkeys(USAGE_TOKENS, 0), cached=True,
                          model=hit.get("model", ""), finish_reason=hit.get("finish", ""))

    def complete_many(self, requests: list[dict], skip_mismatch: bool = False) -> list[Completion | SchemaMismatch]:
        """`complete(**request)` for each request, `llm.concurrency` at a time, results in request order.

        The first failure cancels what has not started and is raised; answers already received are cached. With
        `skip_mismatch`, an answer that never matched its schema is returned as its SchemaMismatch instead (a stage
        skips that item; the endpoint works)."""

        meter = CallMeter(requests[0].get("stage") or "llm", len(requests), self.progress) if requests else None

        def one(request: dict) -> Completion | SchemaMismatch:
            try:
                completion = self.complete(**request)
            except SchemaMismatch as exc:
                if not skip_mismatch:
                    raise
                meter.finished(cached=False)
                return exc
            meter.finished(completion.cached, completion.usage.get("completion_tokens", 0))
            return completion

        workers = max(1, min(self.config.concurrency, len(requests)))
        if workers == 1:
            return [one(request) for request in requests]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
        futures = [pool.submit(one, request) for request in requests]
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
                    f"{where}: {self.endpoint} refused the API key ({status_text(exc)}); check OPENAI_API_KEY "
                    "or llm.api_key"
                ) from None
            except openai.NotFoundError as exc:
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} does not know model {model!r} ({status_text(exc)}); check llm.model "
                    "(or llm.map_model / llm.thinking_model)"
                ) from None
            except openai.BadRequestError as exc:
                if _OVERFLOW.search(str(exc.message)) or getattr(exc, "code", None) == "context_length_exceeded":
                    raise BackendUnavailable(
                        f"{where}: the prompt does not fit the context of {model} ({status_text(exc)}); lower "
                        "chunk.budget_tokens or set llm.context_size to what the endpoint really has"
                    ) from None
                raise BackendUnavailable(
                    f"{where}: {self.endpoint} rejected the request ({status_text(exc)})"
                ) from None
            except _RETRYABLE as exc:
                last = exc
                continue
            except openai.APIStatusError as exc:
                raise BackendUnavailable(f"{where}: {self.endpoint} failed: {status_text(exc)}") from None
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
            if reason := _embedded_died(self.base_url):  # a crash is no endpoint setting to check
                raise BackendUnavailable(f"{where}: {reason}")
            raise BackendUnavailable(
                f"{where}: cannot reach the LLM endpoint {self.base_url or 'api.openai.com'} after {_tries(tries)}: "
                f"{status_text(last)}; is it running? (or unset llm.base_url / OPENAI_BASE_URL for the embedded model)"
            )
        hint = ""
        sent_json_schema = params.get("response_format", {}).get("type") == "json_schema"
        if isinstance(last, openai.InternalServerError) and sent_json_schema:
            hint = ("; llama-cpp-python's server answers 500 to json_schema: set llm.structured_output = "
                    '"json_object_schema" for it')
        raise BackendUnavailable(
            f"{where}: {self.endpoint} kept failing after {_tries(tries)} ({status_text(last)}){hint}"
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
