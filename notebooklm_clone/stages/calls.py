"""How the notes and script stages call the LLM: each stage's output cap and temperature, the prompt room that leaves
(measured by the client, for the model of the role that makes the call), and bookkeeping of the calls made.

Sending, fitting the prompt to the context, validating and repairing answers, retrying and caching all happen in
`LLM.complete`; nothing here does them again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import Settings
from ..llm.client import LLM, Role, SchemaMismatch
from ..models import Document
from ..text.lang import language_name

MAX_TOKENS = {"map": 1024, "digest": 1024, "section": 512, "abstract": 640, "qa": 1024, "quiz": 1536, "outline": 768, "rewrite": 768,
              "script": 768}  # output caps per call; the prompt budget is the context minus these
PROMPT_MARGIN = 96  # tokens for the JSON grammar's framing, on top of the client's count
MAX_TEMPERATURE = 0.2  # small models need it low to stay inside the schema and the facts
AUTO_LANGUAGE = ("", "auto")


def resolve_languages(settings: Settings, document: Document) -> Settings:
    """Settings with notes.language and script.language set to the document's language where they are "auto"; a
    language set explicitly is kept."""
    detected = language_name(document.language or "en")
    overrides = {f"{section}.language": detected for section in ("notes", "script")
                 if getattr(settings, section).language.strip().lower() in AUTO_LANGUAGE}
    return settings.with_overrides(**overrides) if overrides else settings


def prompt_language(language: str) -> str:
    """The language a prompt asks for; "auto" unresolved (planning without a document) is measured as English."""
    return "English" if language.strip().lower() in AUTO_LANGUAGE else language


class Budget:
    """The prompt room of one role's model: its context minus a stage's answer, counted with the client's measure."""

    def __init__(self, llm: LLM, role: Role = "default"):
        self.llm = llm
        self.model = llm.model_for(role)
        caps = llm.capabilities_for(self.model)
        self.context_size = caps.context_size
        self.max_output = caps.max_output_tokens

    def output(self, stage: str) -> int:
        return min(MAX_TOKENS[stage], self.max_output or MAX_TOKENS[stage], self.context_size // 3)

    def prompt_limit(self, stage: str) -> int:
        return self.context_size - self.output(stage) - PROMPT_MARGIN

    def count(self, messages: list[dict]) -> int:
        return self.llm.count_prompt_tokens(messages, self.model)

    def count_text(self, text: str) -> int:
        return self.llm.tokenizer_for(self.model).count(text)


def output_schema(model: type[BaseModel], pages: list[int], min_items: dict[str, int] | None = None,
                  ids: list[str] | None = None, **max_items: int) -> dict:
    """The JSON schema of `model` with every "pages" item limited to `pages`, every "ids" item (and those of a list
    marked sentence_ids) to `ids`, and list lengths capped.

    llama.cpp turns the schema into a grammar: the model cannot cite a page or a sentence it was not shown nor write a
    40-item list.
    (No maxLength on strings: llama.cpp's grammar for it is so large that sampling slows to a crawl.)
    """
    schema = model.model_json_schema()
    allowed = sorted(set(pages))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                if "pages" in props and allowed:
                    props["pages"]["items"] = {"type": "integer", "enum": allowed}
                for name, prop in props.items():
                    if (name == "ids" or prop.pop("sentence_ids", False)) and ids:
                        prop["items"] = {"type": "string", "enum": list(dict.fromkeys(ids))}
                for name, limit in max_items.items():
                    if name in props:
                        props[name]["maxItems"] = limit
                for name, least in (min_items or {}).items():
                    if name in props:
                        props[name]["minItems"] = least
                if "answer" in props and "options" in props:
                    props["answer"] = {"type": "string", "enum": ["A", "B", "C", "D"]}
                node["required"] = list(props)  # every field, so the grammar never skips one
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


class Caller:
    """Bookkeeping over `LLM.complete` for one stage run: the calls made and answered from cache, and a warning (not
    a failure) for each answer that never matched its schema. Answers are also cached in `cache_dir` (the document's
    out_dir/.cache), so a rerun of that document makes no calls."""

    def __init__(self, llm: LLM, settings: Settings, cache_dir: Path | None):
        self.llm = llm
        self.settings = settings
        self.cache_dir = cache_dir
        self.calls: dict[str, int] = {}
        self.cached = 0
        self.warnings: list[str] = []
        self.quoting = False  # the model's rewrites rescued almost nothing: later steps lean on the document's words
        self._budgets: dict[str, Budget] = {}

    def budget(self, role: Role = "default") -> Budget:
        if role not in self._budgets:
            self._budgets[role] = Budget(self.llm, role)
        return self._budgets[role]

    def many(self, stage: str, requests: list[tuple[list[dict], dict, str]], model: type[BaseModel],
             role: Role = "default") -> list[Any]:
        """Answers (instances of `model`) for (messages, schema, label) requests in order; None where the model's
        answer never matched the schema."""
        temperature = min(self.settings.llm.temperature, MAX_TEMPERATURE)
        max_tokens = self.budget(role).output(stage)
        kwargs = [dict(messages=messages, schema=schema, stage=stage, label=label, max_tokens=max_tokens,
                       temperature=temperature, role=role, cache_dir=self.cache_dir)
                  for messages, schema, label in requests]
        answers = []
        for request, completion in zip(kwargs, self.llm.complete_many(kwargs, skip_mismatch=True)):
            if isinstance(completion, SchemaMismatch):
                self.warnings.append(f"{request['label'] or stage}: {completion}")
                self.calls[stage] = self.calls.get(stage, 0) + 1
                answers.append(None)
            elif completion.cached:
                self.cached += 1
                answers.append(model.model_validate(completion.data))
            else:
                self.calls[stage] = self.calls.get(stage, 0) + 1
                answers.append(model.model_validate(completion.data))
        return answers

    def one(self, stage: str, messages: list[dict], schema: dict, model: type[BaseModel], label: str = "",
            role: Role = "default") -> Any:
        return self.many(stage, [(messages, schema, label)], model, role)[0]
