"""Structured answers: the JSON inside a model's reply, validation against a schema (a pydantic class or a JSON
schema dict) with a short reason the repair round can send back, and the request's response_format."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from ..errors import UsageError
from .capabilities import StructuredOutput

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
    """The JSON schema of a pydantic class (a dict schema as it is)."""
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
    """The request's response_format for the endpoint's structured-output mode (None: the schema goes in the prompt)."""
    if mode == "json_schema":
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "answer"))[:64]
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema,
                                                       "strict": strict_compatible(schema)}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return None


def schema_instruction(schema: dict) -> dict:
    """The extra message that asks for the schema when the endpoint cannot constrain its output."""
    return {"role": "user", "content": "Answer with only a JSON object that matches this JSON schema, no prose:\n"
                                       + json.dumps(schema, ensure_ascii=False)}
