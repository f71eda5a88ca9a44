"""`notebooklm-clone notebook add|remove|list|refresh NB ...`, `ask NB "question"` and `chat NB`.

A notebook is a folder holding notebook.db (see notebooklm_clone/notebook/). `ask` and `chat` answer from its
sources only, with numbered citations (source, page, quote), or say the sources do not answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import Settings, load_settings
from ..errors import PartialFailure, UsageError
from ..store import json_text
from .options import ocr_lang_option, tier_option

NB = click.argument("notebook", metavar="NB", type=click.Path(file_okay=False))


def _settings(ctx: click.Context) -> Settings:
    return ctx.ensure_object(dict).get("settings") or load_settings()


def _flags(ctx: click.Context, as_json: bool) -> tuple[bool, bool]:
    obj = ctx.ensure_object(dict)
    return bool(obj.get("quiet")), bool(as_json or obj.get("json"))


@click.group("notebook")
def notebook() -> None:
    """Keep several sources in one notebook (a folder with notebook.db) to ask questions across them."""


@notebook.command("add")
@NB
@click.argument("paths", metavar="FILE|DIR...", nargs=-1, required=True)
@click.option("--no-ocr", is_flag=True, help="Do not OCR pages without a text layer.")
@ocr_lang_option
@click.option("--retry", is_flag=True, help="Read again the sources that failed, even when their files did not change.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source on stdout.")
@click.pass_context
def add(ctx: click.Context, notebook: str, paths: tuple[str, ...], no_ocr: bool, ocr_lang: str | None,
        retry: bool, as_json: bool) -> None:
    """Add files (or every document in folders) to NB, creating it; a changed file is indexed again, an unchanged
    one is skipped. A source that cannot be read is recorded with its error; the others go on (exit 5). A failed
    source is read again when its file changes, or with --retry."""
    from ..notebook import add_file, files_to_add, open_notebook

    quiet, as_json = _flags(ctx, as_json)
    language = _settings(ctx).with_overrides(**{"extract.ocr_lang": ocr_lang}).extract.ocr_lang  # validated
    paths_found = files_to_add(list(paths), Path(notebook))  # a usage error creates no notebook
    if not paths_found:
        raise UsageError(f"no documents in {', '.join(paths)}")
    with open_notebook(notebook, create=True) as conn:
        outcomes = []
        for path, name in paths_found.items():
            outcomes.append(add_file(conn, path, name, ocr=not no_ocr, ocr_lang=language, retry=retry))
            _report(outcomes[-1], quiet, as_json)
    _fail_if_any(outcomes)


@notebook.command("refresh")
@NB
@click.option("--retry", is_flag=True, help="Read again the sources that failed, even when their files did not change.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source on stdout.")
@click.pass_context
def refresh_command(ctx: click.Context, notebook: str, retry: bool, as_json: bool) -> None:
    """Check every source of NB again: changed files are indexed again, deleted ones removed."""
    from ..notebook import open_notebook, refresh

    quiet, as_json = _flags(ctx, as_json)
    with open_notebook(notebook) as conn:
        outcomes = refresh(conn, retry=retry)
    for outcome in outcomes:
        _report(outcome, quiet, as_json)
    _fail_if_any(outcomes)


@notebook.command("remove")
@NB
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, notebook: str, sources: tuple[str, ...]) -> None:
    """Remove sources (by file name or path) from NB; their text leaves the index and every answer."""
    from ..notebook import open_notebook, remove_source, resolve_sources

    quiet, _ = _flags(ctx, False)
    with open_notebook(notebook) as conn:
        for row in resolve_sources(conn, list(sources)):
            remove_source(conn, row["path"])
            if not quiet:
                click.echo(f"removed {row['name']}")


@notebook.command("list")
@NB
@click.option("--json", "as_json", is_flag=True, help="The sources as a JSON array.")
@click.pass_context
def list_command(ctx: click.Context, notebook: str, as_json: bool) -> None:
    """The sources of NB: state, pages, indexed sentences, title (or the error of a source that failed)."""
    from dataclasses import asdict

    from ..notebook import list_sources, open_notebook

    _, as_json = _flags(ctx, as_json)
    with open_notebook(notebook) as conn:
        sources = list_sources(conn)
    if as_json:
        click.echo(json_text([asdict(s) for s in sources]))
        return
    if not sources:
        click.echo("no sources yet: notebooklm-clone notebook add NB FILE")
    for s in sources:
        what = f"{s.page_count} pages, {s.sentences} sentences, {s.title}" if s.state == "indexed" else s.error
        click.echo(f"{s.name}\t{s.state}\t{what}")


def _ask_options(fn):
    options = [
        click.option("--sources", "only", default=None, metavar="LIST",
                     help="Comma-separated sources (file names) to answer from; default all."),
        click.option("--prompts", "prompts_dir", type=click.Path(exists=True, file_okay=False), default=None,
                     help="Folder with your own prompt templates (ask.j2)."),
        click.option("--language", default=None, help="Language of the answer (default: the question's)."),
        tier_option(),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("ask")
@NB
@click.argument("question")
@_ask_options
@click.option("--json", "as_json", is_flag=True, help="The answer, its citations and timings as JSON.")
@click.pass_context
def ask_command(ctx: click.Context, notebook: str, question: str, only: str | None, prompts_dir: str | None,
                language: str | None, tier: str | None, as_json: bool) -> None:
    """Answer QUESTION from NB's sources only, citing source, page and quote; says so when they do not answer."""
    from ..llm.endpoints import open_llm
    from ..notebook import ask, open_notebook, snapshot

    _, as_json = _flags(ctx, as_json)
    if not question.strip():
        raise UsageError("the question is empty")
    settings = _settings(ctx).with_overrides(**{"llm.tier": tier, "prompts_dir": prompts_dir})
    with open_notebook(notebook) as conn:
        ids = _source_ids(conn, only)  # a wrong name is told before a model is started
        with open_llm(settings) as llm, snapshot(conn):
            answer = ask(conn, llm, question, source_ids=ids, prompts_dir=settings.prompts_dir,
                         language=language)
    click.echo(json_text(answer.as_dict()) if as_json else answer.render())


@click.command("chat")
@NB
@_ask_options
@click.pass_context
def chat(ctx: click.Context, notebook: str, only: str | None, prompts_dir: str | None, language: str | None,
         tier: str | None) -> None:
    """Ask NB questions in a loop; a follow-up ("and how long does it last?") is read with the turns before it.
    /sources lists the sources, /quit (or end of input) leaves."""
    from ..llm.endpoints import open_llm
    from ..notebook import Turn, ask, list_sources, open_notebook, snapshot

    as_json = _flags(ctx, False)[1]
    settings = _settings(ctx).with_overrides(**{"llm.tier": tier, "prompts_dir": prompts_dir})
    history: list[Turn] = []
    with open_notebook(notebook) as conn:
        ids = _source_ids(conn, only)
        with open_llm(settings) as llm:
            while True:
                if not as_json:
                    click.echo("? ", nl=False)
                line = sys.stdin.readline()
                if not line or line.strip() in ("/quit", "/exit"):
                    break
                question = line.strip()
                if not question:
                    continue
                if question == "/sources":
                    for s in list_sources(conn):
                        click.echo(f"{s.name}\t{s.state}\t{s.title or s.error}")
                    continue
                with snapshot(conn):
                    answer = ask(conn, llm, question, history, source_ids=ids, prompts_dir=settings.prompts_dir,
                                 language=language)
                click.echo(json.dumps(answer.as_dict(), ensure_ascii=False) if as_json else answer.render() + "\n")
                history.append(Turn(question, answer.text if answer.found else ""))


def _source_ids(conn, only: str | None) -> list[int] | None:
    """The ids of the sources --sources names; a failed one is a usage error (it holds nothing to answer from)."""
    from ..notebook import resolve_sources

    names = [s.strip() for s in (only or "").split(",") if s.strip()]
    if not names:
        return None
    rows = resolve_sources(conn, names)
    for row in rows:
        state = conn.execute("SELECT state, error FROM sources WHERE id = ?", (row["id"],)).fetchone()
        if state["state"] == "failed":
            raise UsageError(f"{row['name']} failed when it was added ({state['error']}); choose others")
    return [row["id"] for row in rows]


def _report(outcome, quiet: bool, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        click.echo(json.dumps(asdict(outcome), ensure_ascii=False))
    elif outcome.action == "failed":
        click.echo(f"failed {outcome.name}: {outcome.error}", err=True)
    elif not quiet:
        click.echo(f"{outcome.action} {outcome.name}" + (f" ({outcome.sentences} sentences)"
                                                          if outcome.sentences else ""))


def _fail_if_any(outcomes) -> None:
    failed = [o for o in outcomes if o.action == "failed"]
    if failed:
        rest = "; the others are in the notebook" if len(failed) < len(outcomes) else ""
        raise PartialFailure(f"{len(failed)} of {len(outcomes)} sources failed{rest}")


commands = [notebook, ask_command, chat]
