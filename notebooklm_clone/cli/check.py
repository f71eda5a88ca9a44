"""`notebooklm-clone check OUTDIR`: how far a document's study outputs are borne out by its source."""

from __future__ import annotations

from pathlib import Path

import click

from ..models import AuditItem, AuditReport, Document, Script, ScriptFigures
from ..stages.citations import format_pages
from ..store import json_text

QUOTE_CHARS = 160  # of the evidence shown on an item's line


@click.command("check")
@click.argument("out_dir", metavar="OUTDIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--source", type=click.Path(dir_okay=False, path_type=Path),
              help="The source document, when it has moved since the outputs were made (default: document.json, "
                   "else the source named in report.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON on stdout.")
@click.pass_context
def check(ctx: click.Context, out_dir: Path, source: Path | None, as_json: bool) -> None:
    """Re-verify the study outputs in OUTDIR (notes.json, and script.json if present) against the source.

    Every summary sentence, key point, glossary entry, answer, quiz answer, card and script sentence is looked up
    on the pages it cites (then anywhere) and read against that text. The figures go into OUTDIR/report.json under
    "faithfulness", with the script's figures (length, questions, repetition, meta-talk, impersonation, unsupported
    facts, coverage) under "faithfulness"."script_figures".

    \b
    Exit codes:
      0  the check ran (the figures are the result, however low)
      2  OUTDIR is not a folder, or a flag is wrong
      3  OUTDIR has no usable notes.json, or the source is missing or is not the one the notes were made from
    """
    from ..outputs.report import read_outputs, write_faithfulness
    from ..stages.audit import audit_outputs

    obj = ctx.obj or {}
    document, notes, script = read_outputs(out_dir, source)
    audit = audit_outputs(document, notes, script)
    figures = _script_figures(out_dir, document, script)
    write_faithfulness(audit, out_dir, script_figures=figures and figures.model_dump())
    if as_json or obj.get("json"):
        click.echo(json_text({**audit.model_dump(), "script_figures": figures and figures.model_dump()}))
    elif not obj.get("quiet"):
        click.echo(render_audit(audit))


def _script_figures(out_dir: Path, document: Document, script: Script | None) -> ScriptFigures | None:
    """The script's figures against the target length the script stage recorded (None without a script)."""
    from ..outputs.report import recorded_target_words
    from ..stages.script_figures import script_figures

    return script_figures(script, document, recorded_target_words(out_dir)) if script is not None else None


def render_audit(audit: AuditReport) -> str:
    """A table of counts per output, then one line per flagged item."""
    header = ("output", "checked", "supported", "unsupported", "duplicate", "wrong pages", "faithful")
    rows = [(o.output, o.checked, o.supported, o.unsupported, o.duplicate, o.wrong_pages, f"{o.faithful:.0%}")
            for o in [*audit.outputs, audit.total()]]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row) -> str:
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths)))

    lines = [f"Faithfulness of {audit.title}", "", line(header), *map(line, rows)]
    skipped = sum(o.skipped for o in audit.outputs)
    if skipped:
        lines.append(f"({skipped} script sentences with nothing to check: greetings, questions, reactions)")
    if audit.items:
        lines += ["", "Flagged items:"]
        lines += [item_line(item) for item in audit.items]
    return "\n".join(lines)


def item_line(item: AuditItem) -> str:
    """`key_points #3 unsupported: number 80 not in evidence; "text" | p. 2: "evidence"`, on one line."""
    problems = []
    if not item.supported:
        problems.append("unsupported: " + "; ".join(item.reasons))
    if item.wrong_pages:
        cited = format_pages(item.pages)[1:-1] if item.pages else "no page"
        problems.append(f"wrong pages: cites {cited}, source on p. {item.evidence_page}")
    if item.duplicate_of:
        problems.append(f"duplicate of {item.duplicate_of}")
    evidence = " ".join(item.evidence.split())
    if len(evidence) > QUOTE_CHARS:
        evidence = evidence[:QUOTE_CHARS - 1] + "…"
    shown = f' | p. {item.evidence_page}: "{evidence}"' if evidence and not item.supported else ""
    return f'{item.output} #{item.number} {" / ".join(problems)}: "{_short(item.text)}"{shown}'


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


commands = [check]
