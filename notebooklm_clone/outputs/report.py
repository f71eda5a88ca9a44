"""The per-document JSON files: document.json (the extracted document, the `extract` product) and report.json (what
a run did: options, timings, usage, grounding, script figures, warnings), both written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import BadInput, UsageError
from ..models import AuditReport, Document, NotesResult, Script
from ..store import atomic_write_json


def write_document(document: Document, out_dir: str | Path) -> Path:
    return atomic_write_json(Path(out_dir) / "document.json", document)


def write_report(result: BaseModel, out_dir: str | Path) -> Path:
    return atomic_write_json(Path(out_dir) / "report.json", result)


# ---------------------------------------------------------------------------------------------------------------------
# Reading a document's outputs back, and the audit's figures in report.json


def read_outputs(out_dir: str | Path, source: str | Path | None = None) -> tuple[Document, NotesResult, Script | None]:
    """A document output folder as the pipeline wrote it: the document (document.json, else the source named in
    report.json, or `source` when it has moved, extracted again), notes.json and script.json if there is one.

    Anything missing, unreadable or not matching (a source changed since the notes were made) is BadInput: checking
    notes against a different document would give figures that mean nothing."""
    from ..sources import extract_document

    out_dir = Path(out_dir)
    notes = _read_model(out_dir / "notes.json", NotesResult, "run `notebooklm-clone notes` to make it")
    script_path = out_dir / "script.json"
    script = _read_model(script_path, Script, "") if script_path.exists() else None
    if source is None and (out_dir / "document.json").exists():
        document = _read_model(out_dir / "document.json", Document, "")
    else:
        where = ""
        if source is None:
            report = _read_json(out_dir / "report.json", "it names the source document")
            source = report.get("source") if isinstance(report, dict) else None
            if not source:
                raise BadInput(f"{out_dir / 'report.json'} names no source document")
            where = f"named in {out_dir / 'report.json'} "
        if not Path(source).is_file():
            raise BadInput(f"source {source} {where}is missing (moved or deleted?); give it with --source")
        try:
            document = extract_document(source)
        except UsageError as exc:
            raise BadInput(str(exc)) from None
    if document.sha256 != notes.document:
        raise BadInput(f"{document.source} is not the document {out_dir / 'notes.json'} was made from "
                       f"(sha256 {document.sha256[:12]}, notes {notes.document[:12]})")
    return document, notes, script


def write_faithfulness(audit: AuditReport, out_dir: str | Path, max_items: int = 20,
                       script_figures: dict | None = None) -> Path:
    """Merge the audit's figures (and the script's, when given) into report.json under "faithfulness", every other
    key kept as it is; one atomic write, so a reader sees the old report or the new one, never half of it."""
    path = Path(out_dir) / "report.json"
    data = _read_json(path, "the audit is recorded there") if path.exists() else {}
    if not isinstance(data, dict):
        raise BadInput(f"{path} is not a JSON object")
    total = audit.total()
    data["faithfulness"] = {
        "checked": total.checked, "supported": total.supported, "unsupported": total.unsupported,
        "duplicate": total.duplicate, "wrong_pages": total.wrong_pages, "faithful": total.faithful,
        "outputs": {o.output: o.model_dump(exclude={"output"}) for o in audit.outputs},
        "unsupported_items": [i.model_dump(include={"output", "number", "text", "reasons"})
                              for i in audit.unsupported()[:max_items]],
    }  # fmt: skip
    if script_figures is not None:
        data["faithfulness"]["script_figures"] = script_figures
    return atomic_write_json(path, data)


def recorded_target_words(out_dir: str | Path) -> int | None:
    """The script length the script stage aimed at, as report.json recorded it (None when it did not)."""
    try:
        target = (json.loads((Path(out_dir) / "report.json").read_text(encoding="utf-8")).get("script") or {}).get(
            "target_words")
    except (OSError, ValueError, AttributeError):
        return None
    return target if isinstance(target, int) else None


def _read_json(path: Path, why: str):
    if not path.is_file():
        raise BadInput(f"{path} is missing; {why}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path} cannot be read: {exc}") from None


def _read_model(path: Path, model: type[BaseModel], why: str):
    data = _read_json(path, why or "it is needed")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "top level"
        raise BadInput(f"{path} is not valid {model.__name__} ({where}: {first['msg']})") from None
