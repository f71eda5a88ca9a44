"""The podcast script: an outline of segments with word budgets, then one call per segment writing its turns.

The outline comes from the condensed notes (so any document length fits); code, not the model, sets the word budgets
(intro, one segment per main theme, wrap-up) so they add up to minutes * words_per_minute. Each segment is written
from the notes it cites, with the speakers constrained by the schema; short segments are continued and long ones
trimmed at turn boundaries, so the length lands within the tolerance. Turns are cleaned for speech (turns.py). The
stage returns a ScriptResult; outputs/script.py writes script.json and script.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ..config import Settings
from ..errors import BackendUnavailable
from ..llm.prompts import render_messages
from ..models import (
    Cited,
    Document,
    NotesResult,
    Script,
    ScriptResult,
    ScriptStats,
    Segment,
    SegmentLength,
    Speaker,
    Turn,
)
from ..text.lang import language_code
from ..text.split import CJK_CHARS_PER_WORD, split_for_speech
from .calls import Caller, output_schema, prompt_language, resolve_languages
from .condense import Digester, cited_line, condense
from .turns import (
    Said,
    clean_turns,
    drop_greetings,
    echoes,
    share_turns,
    shingles,
    speakable,
    trim_to,
    validate_script,
    words_in,
)

CHARACTER_LANGUAGES = ("zh", "ja")  # languages whose script budgets are stated in characters

# (id, name, role) for 1-4 speakers; the first is always the host who opens and closes the show
CAST = [
    ("host", "Alex", "the curious host who asks the questions a listener would ask"),
    ("expert", "Sam", "the expert who has read the document closely and explains it"),
    ("skeptic", "Jordan", "a sceptical guest who questions assumptions and asks for evidence"),
    ("guest", "Riley", "a practitioner who relates the ideas to real-world examples"),
]
STYLE_ROLES = {  # roles that fit the style better than the defaults
    "debate": {"host": "the moderator who also argues for the document's claims",
               "expert": "the expert who argues the other side and probes weaknesses"},
    "critique": {"expert": "the critic who weighs the work's strengths and weaknesses"},
    "lecture": {"expert": "the lecturer who explains the material step by step"},
}
SOLO_ROLE = "the narrator who explains the document to the listener"
WORDS_PER_CALL = 220  # one segment call writes at most this many words: keeps the JSON well inside max_tokens
MAX_CALLS_PER_SEGMENT = 8
MAX_STALLS = 3  # calls in a row that add nothing new before a segment gives up
TOP_UP_ROUNDS = 2
MAX_ITEMS = 12  # notes shown to one segment call  # passes over the themes when the whole script is still short
INTRO_SHARE = 0.12
OUTRO_SHARE = 0.10


class _TurnOut(BaseModel):
    speaker: str
    text: str


class TurnsOut(BaseModel):
    turns: list[_TurnOut]


class _ThemeOut(BaseModel):
    title: str
    summary: str
    points: list[int]


class OutlineOut(BaseModel):
    title: str
    themes: list[_ThemeOut]


# ---------------------------------------------------------------------------------------------------------------------
# Speakers, budgets and the outline


def make_speakers(settings: Settings) -> list[Speaker]:
    n = max(1, min(4, settings.script.speakers))
    names = settings.script.speaker_names
    speakers = []
    for i, (sid, name, role) in enumerate(CAST[:n]):
        role = SOLO_ROLE if n == 1 else STYLE_ROLES.get(settings.script.style, {}).get(sid, role)
        speakers.append(Speaker(id=sid, name=names[i] if i < len(names) and names[i] else name, role=role))
    return speakers


def theme_count(settings: Settings, points: int) -> int:
    """About one main theme per 1.5 minutes (brief: per 2.5), at least 1, at most 6 and never more than the notes."""
    per = 2.5 if settings.script.style == "brief" else 1.5
    return max(1, min(6, round(settings.script.minutes / per), max(1, points // 2)))


def spoken_length(words: int, language: str) -> str:
    """How a segment prompt states its length: characters for Chinese and Japanese, words for the rest."""
    if language_code(language) in CHARACTER_LANGUAGES:
        return f"{round(words * CJK_CHARS_PER_WORD)} characters"
    return f"{words} words"


def word_budgets(total: int, themes: int) -> list[int]:
    """Intro, one budget per theme, wrap-up: integers that add up to exactly `total`."""
    intro = max(20, round(total * INTRO_SHARE))
    outro = max(20, round(total * OUTRO_SHARE))
    rest = max(themes * 30, total - intro - outro)
    each, extra = divmod(rest, themes)
    budgets = [intro] + [each + (1 if i < extra else 0) for i in range(themes)] + [outro]
    budgets[-2] += total - sum(budgets)  # rounding and minimums settle on the last theme
    return budgets


def _numbered(points: list[Cited]) -> list[str]:
    return [f"[{i}] {cited_line(p)}" for i, p in enumerate(points)]


def make_outline(notes: NotesResult, caller: Caller, settings: Settings,
                 title: str) -> tuple[str, list[Segment], list[Cited]]:
    """Episode title, the segments (intro, themes, wrap-up) with word budgets, and the points they index."""
    style = _style(settings)

    def render(items: list[str], themes: int = 3) -> list[dict]:
        return render_messages("outline", settings.prompts_dir, items=items, themes=themes, title=title, **style)

    points = notes.overview or notes.key_points
    digester = Digester(caller, settings, title, style)
    points = condense(points, lambda items: render(_numbered_lines(items)), digester, caller.budget("thinking"),
                      "outline")
    n_themes = theme_count(settings, len(points))
    total = round(settings.script.minutes * settings.script.words_per_minute)
    budgets = word_budgets(total, n_themes)
    messages = render(_numbered(points), n_themes)
    schema = output_schema(OutlineOut, [], themes=n_themes)
    schema["properties"]["themes"]["minItems"] = n_themes
    theme_props = schema["$defs"]["_ThemeOut"]["properties"]
    theme_props["points"].update({"items": {"type": "integer", "enum": list(range(len(points)))} if points else
                                  {"type": "integer"}, "minItems": 1 if points else 0, "maxItems": 8})
    answer = caller.one("outline", messages, schema, OutlineOut, label="outline", role="thinking")
    themes = list(answer.themes[:n_themes]) if answer else []
    episode = speakable(answer.title) if answer and speakable(answer.title) else title
    if len(themes) < n_themes:  # no usable outline: split the points evenly, in document order
        size = max(1, -(-len(points) // n_themes))
        themes = [_ThemeOut(title=f"Part {i + 1}", summary="",
                            points=list(range(i * size, min(len(points), (i + 1) * size)))) for i in range(n_themes)]
    segments = [Segment(title="Introduction", words=budgets[0], summary=f"What {title} is about",
                        note_refs=list(range(min(5, len(points)))))]
    for theme, words in zip(themes, budgets[1:-1]):
        refs = sorted({i for i in theme.points if 0 <= i < len(points)}) or list(range(min(5, len(points))))
        segments.append(Segment(title=speakable(theme.title) or "Main theme", words=words,
                                summary=speakable(theme.summary), note_refs=refs))
    segments.append(Segment(title="Wrap-up", words=budgets[-1], summary="Main takeaways",
                            note_refs=sorted({r for s in segments[1:] for r in s.note_refs[:2]})))
    return episode, segments, points


def _numbered_lines(lines: list[str]) -> list[str]:
    return [f"[{i}] {line}" for i, line in enumerate(lines)]


def _style(settings: Settings) -> dict:
    return {"language": prompt_language(settings.script.language), "level": settings.notes.level,
            "instructions": settings.script.instructions.strip()}


# ---------------------------------------------------------------------------------------------------------------------
# Writing segments


def _segment_schema(speakers: list[Speaker], words: int) -> dict:
    schema = output_schema(TurnsOut, [])
    schema["properties"]["turns"].update(minItems=2 if len(speakers) > 1 else 1, maxItems=max(2, min(14, words // 18)))
    schema["$defs"]["_TurnOut"]["properties"]["speaker"] = {"type": "string", "enum": [s.id for s in speakers]}
    return schema


def write_segment(index: int, segment: Segment, kind: str, points: list[Cited], previous: list[Turn], title: str,
                  speakers: list[Speaker], caller: Caller, settings: Settings, words: int | None = None,
                  continuing: bool = False, attempt: int = 0, material: list[str] = ()) -> list[Turn]:
    """Turns for one segment: calls of up to WORDS_PER_CALL words, continued until `words` (default: the segment's
    budget) is nearly met, then trimmed at turn boundaries if over. Sentences that restate earlier ones and turns that
    read the instructions back are dropped. `material`: further notes to show (see segment_material)."""
    tolerance = settings.script.length_tolerance
    target = words or segment.words
    items = [f"- {points[i].text}" for i in segment.note_refs if 0 <= i < len(points)]  # no page numbers to read
    # a small model repeats a short list verbatim: give it more notes (rotated on each top-up round)
    rest = [line for line in material if line not in items]
    if rest:
        shift = (attempt * 5) % len(rest)
        items += (rest[shift:] + rest[:shift])[: max(0, MAX_ITEMS - len(items))]
    if segment.summary:
        items.insert(0, f"Segment focus: {segment.summary}")
    # nothing said twice; except that a wrap-up may restate what earlier segments said (that is what a recap is)
    said = Said() if kind == "outro" else Said(previous)
    turns: list[Turn] = []
    # a tiny model copies whatever dialogue it is shown: a new segment starts from the notes alone, a continuation
    # sees only the last two turns
    context = list(previous[-2:]) if continuing else []
    stalls = 0
    for call in range(MAX_CALLS_PER_SEGMENT):
        missing = target - words_in(turns)
        if missing <= target * tolerance / 2 or stalls >= MAX_STALLS:
            break
        ask = max(20, min(WORDS_PER_CALL, missing))
        messages = render_messages(
            "segment", settings.prompts_dir, items=items, previous=[t.model_dump() for t in context], title=title,
            segment=segment.title, words=ask, length=spoken_length(ask, settings.script.language), kind=kind,
            continuing=continuing or bool(turns), speakers=speakers, style=settings.script.style, **_style(settings),
        )  # fmt: skip
        told = re.split(r"</(?:document|conversation)>", messages[-1]["content"])[-1]  # after the data blocks
        instructions = shingles(messages[0]["content"] + " " + told)
        answer = caller.one("script", messages, _segment_schema(speakers, ask), TurnsOut,
                            label=f"segment {index} part {call + 1}" + (f" top-up {attempt}" if attempt else ""),
                            role="thinking")
        new = clean_turns([Turn(speaker=t.speaker, text=t.text, segment=index) for t in answer.turns], speakers,
                          settings.script.max_turn_chars) if answer else []
        if kind != "intro":
            new = drop_greetings(new)
        fresh = []
        for turn in new:
            text = said.novel(turn.text)
            if text and not echoes(text, instructions):
                said.add(text)
                fresh.append(turn.model_copy(update={"text": text}))
        stalls = stalls + 1 if words_in(fresh) < 5 else 0
        turns += fresh
        context = (context + fresh)[-2:]
    return share_turns(trim_to(turns, round(target * (1 + tolerance / 2))), speakers)


def fallback_turns(index: int, kind: str, segment: Segment, segments: list[Segment], title: str,
                   speakers: list[Speaker], points: list[Cited]) -> list[Turn]:
    """When the model writes nothing usable for a segment: a plain turn from the outline and notes, so no segment
    (and no chapter) is silent."""
    host = speakers[0].id
    if kind == "intro":
        text = f"Welcome! Today we talk about {title}."
    elif kind == "outro":
        themes = ", ".join(s.title for s in segments[1:-1])
        text = f"That brings us to the end. We covered {themes}. Thanks for listening!"
    else:
        facts = " ".join(speakable(points[i].text) for i in segment.note_refs[:3] if 0 <= i < len(points))
        text = f"Let us turn to {segment.title}. {facts}".strip()
    return [Turn(speaker=host, text=piece, segment=index) for piece in split_for_speech(text, 500)]


def segment_material(index: int, segments: list[Segment], points: list[Cited], extra: list[str]) -> list[str]:
    """Notes a segment may draw on beyond its own: points no other theme segment covers, then the glossary and Q&A.
    Shown the whole list, the model talks about whatever comes first (the overview) in every segment."""
    if index in (0, len(segments) - 1):
        return [f"- {p.text}" for p in points] + extra
    claimed = {r for i, s in enumerate(segments[:-1]) if i != index for r in s.note_refs}
    return [f"- {p.text}" for i, p in enumerate(points) if i not in claimed] + extra


def top_up(turns: list[Turn], segments: list[Segment], points: list[Cited], title: str, speakers: list[Speaker],
           caller: Caller, settings: Settings, extra: list[str]) -> list[Turn]:
    """If the whole script is still short of the tolerance, continue the theme segments (inserted in place)."""
    target = sum(s.words for s in segments)
    floor = target * (1 - settings.script.length_tolerance / 2)
    themes = list(range(1, len(segments) - 1)) or [0]
    for attempt in range(1, TOP_UP_ROUNDS + 1):
        for index in themes:
            missing = round(target - words_in(turns))
            if words_in(turns) >= floor:
                return turns
            share = max(20, missing // len(themes))
            position = max((i for i, t in enumerate(turns) if t.segment == index), default=len(turns) - 1) + 1
            more = write_segment(index, segments[index], "theme", points, turns[:position], title, speakers, caller,
                                 settings, share, continuing=True, attempt=attempt,
                                 material=segment_material(index, segments, points, extra))
            turns = turns[:position] + more + turns[position:]
    return turns


def run_script(document: Document, notes_result: NotesResult, llm, settings: Settings,
               cache_dir: str | Path | None = None) -> ScriptResult:
    """Outline, segments, validation: the Script and its length check (no file is written). `cache_dir`: the
    document's answer cache (out_dir/.cache), so a rerun of the document makes no calls."""
    settings = resolve_languages(settings, document)
    caller = Caller(llm, settings, Path(cache_dir) if cache_dir else None)
    title = notes_result.title or document.title
    speakers = make_speakers(settings)
    if not (notes_result.overview or notes_result.key_points):
        raise BackendUnavailable(f"{document.source}: no notes to write a script from")
    episode, segments, points = make_outline(notes_result, caller, settings, title)
    extra = [f"- {t.term}: {t.definition}" for t in notes_result.glossary]
    extra += [f"- {q.question} {q.answer}" for q in notes_result.qa]
    turns: list[Turn] = []
    planned = 0
    written_segments = 0
    for index, segment in enumerate(segments):
        kind = "intro" if index == 0 else "outro" if index == len(segments) - 1 else "theme"
        planned += segment.words
        # a segment that came out short (or long) moves the difference to the next one, so the total holds
        words = max(segment.words // 2, planned - words_in(turns))
        written = write_segment(index, segment, kind, points, turns, episode, speakers, caller, settings, words,
                                material=segment_material(index, segments, points, extra))
        written_segments += bool(written)
        turns += written or fallback_turns(index, kind, segment, segments, episode, speakers, points)
    if not written_segments:  # only canned placeholder turns: that is no script
        last = f"; last problem: {caller.warnings[-1]}" if caller.warnings else ""
        raise BackendUnavailable(f"{document.source}: the model wrote no usable script turns for any segment{last}")
    turns = top_up(turns, segments, points, episode, speakers, caller, settings, extra)
    script = Script(title=episode, language=language_code(settings.script.language), speakers=speakers,
                    segments=segments, turns=turns)
    script = validate_script(script, settings.script.max_turn_chars)
    return ScriptResult(script=script, stats=script_stats(script, settings, caller))


def script_stats(script: Script, settings: Settings, caller: Caller) -> ScriptStats:
    """The length check (target and actual words, per segment) and the calls made."""
    target = round(settings.script.minutes * settings.script.words_per_minute)
    return ScriptStats(
        target_words=target, words=script.word_count(), ratio=round(script.word_count() / max(1, target), 3),
        segments=[SegmentLength(title=s.title, budget=s.words,
                                words=words_in([t for t in script.turns if t.segment == i]))
                  for i, s in enumerate(script.segments)],
        calls=caller.calls, cached_calls=caller.cached, warnings=caller.warnings,
    )  # fmt: skip
