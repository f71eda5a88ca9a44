"""Prompt templates: Jinja2 files shipped in the package (resources/prompts/, also reachable as prompts/ at the repository root), overridable one file at a time from a user folder.

A template names its messages as blocks, `{% block system %}` and `{% block user %}`; `render_messages` turns them
into chat messages. Users copy a file from prompts/ into their own folder (--prompts DIR), edit it, and only that file
changes; every other prompt still comes from the repo.

Everything that comes from a document (text, title, headings, notes, earlier turns) is data: templates put it inside
the <document> (or <conversation>) block, never in the instructions, and attribute values go through the
`attr_value` filter. `render_messages` also neutralises any <document>/<conversation> tag inside the values it is
given, so no text can close the data block early and speak as an instruction.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..errors import UsageError
from ..store import hash_obj

BUILT_IN_PROMPTS = Path(__file__).resolve().parent.parent / "resources" / "prompts"  # package data, in a wheel too
ROLES = ("system", "user")
DATA_TAGS = ("document", "conversation")  # the tags that delimit data in the templates
_DATA_TAG = re.compile(r"<(?=\s*/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)


def neutralise(value: Any) -> Any:
    """`value` (a string, or lists/dicts of them) with the "<" of every data tag written as "&lt;": the words stay
    readable, but "</document>" inside a document can no longer close the data block."""
    if isinstance(value, str):
        return _DATA_TAG.sub("&lt;", value)
    if isinstance(value, (list, tuple)):
        return [neutralise(v) for v in value]
    if isinstance(value, dict):
        return {k: neutralise(v) for k, v in value.items()}
    return value


def attr_value(value: Any) -> str:
    """A value for a double-quoted tag attribute: one line, with & < > " ' escaped, so it cannot end the tag."""
    return html.escape(" ".join(str(value).splitlines()), quote=True)


@lru_cache(maxsize=8)
def prompt_env(user_dir: str | None = None) -> jinja2.Environment:
    """User folder first, then the repo's prompts/. StrictUndefined: a typo in a template fails loudly."""
    dirs = []
    if user_dir:
        if not Path(user_dir).is_dir():
            raise UsageError(f"prompts folder not found: {user_dir}")
        dirs.append(str(user_dir))
    dirs.append(str(BUILT_IN_PROMPTS))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["attr_value"] = attr_value
    return env


def _template(name: str, user_dir: str | None) -> jinja2.Template:
    try:
        return prompt_env(user_dir).get_template(f"{name}.j2")
    except jinja2.TemplateNotFound:
        raise UsageError(f"prompt template {name}.j2 not found in {user_dir or ''} or {BUILT_IN_PROMPTS}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"prompt template {exc.filename or name}: line {exc.lineno}: {exc.message}") from None


def render_messages(name: str, user_dir: str | None = None, **context) -> list[dict]:
    """The chat messages of template `name` (system, then user) rendered with `context` (data tags in its values
neutralised)."""
    template = _template(name, user_dir)
    missing = [role for role in ROLES if role not in template.blocks]
    if "user" in missing:
        raise UsageError(f"prompt template {name}.j2 has no {{% block user %}}")
    try:
        ctx = template.new_context({key: neutralise(value) for key, value in context.items()})
        messages = []
        for role in ROLES:
            if role in template.blocks:
                text = "".join(template.blocks[role](ctx)).strip()
                if text:
                    messages.append({"role": role, "content": text})
    except jinja2.UndefinedError as exc:
        raise UsageError(f"prompt template {name}.j2: {exc.message}") from None
    return messages


INCLUDED = ("_rules", "_study_system", "_study_notes")  # the pieces templates include


def template_fingerprint(names: list[str] | tuple[str, ...], user_dir: str | None = None) -> str:
    """A hash of the template sources in use, so editing a prompt invalidates the artifacts it shaped."""
    env = prompt_env(user_dir)
    sources = []
    for name in names:
        source, filename, _ = env.loader.get_source(env, f"{name}.j2")
        sources.append(source)
        for dep in INCLUDED:
            sources.append(env.loader.get_source(env, f"{dep}.j2")[0])
    return hash_obj(sources)[:16]
