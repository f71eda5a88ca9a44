"""The podcast script: an outline of segments with word budgets, then one call per segment writing its turns.

The outline comes from the condensed notes (so any document length fits); code, not the model, sets the word budgets
(intro, one segment per main theme, wrap-up) so they add up to minutes * words_per_minute. Each segment is written
from the notes it cites, with the speakers constrained by the schema; short segments are continued and long ones
trimmed at turn boundaries, so the length lands within the tolerance. Turns are cleaned of everything a TTS engine
would read aloud by mistake (citations, stage directions, markdown, emojis, "Host:" labels) and split when too long.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..config import Settings
from ..errors import BackendUnavailable, BadInput
from ..llm.prompts import render_messages
from ..models import Document, Script, Segment, Speaker, Turn
from ..store import atomic_write_json, atomic_write_text
from ..text.citations import strip_citation_marks
from ..text.lang import language_code
from ..text.split import (
    CJK_CHARACTER,
    CJK_CHARS_PER_WORD,
    count_words,
    sentences,
    split_for_speech,
)
from .notes import (
    MAX_TOKENS,
    Budget,
    Caller,
    Cited,
    NotesResult,
    _digest_messages,
    condense,
    output_schema,
    prompt_language,
    resolve_languages,
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
    return [f"[{i}] {p.line()}" for i, p in enumerate(points)]


def make_outline(notes: NotesResult, caller: Caller, settings: Settings,
                 title: str) -> tuple[str, list[Segment], list[Cited]]:
    """Episode title, the segments (intro, themes, wrap-up) with word budgets, and the points they index."""
    budget = caller.budget
    style = _style(settings)

    def render(items: list[str], themes: int = 3) -> list[dict]:
        return render_messages("outline", settings.prompts_dir, items=items, themes=themes, title=title, **style)

    def digest(batch: list[Cited], limit: int) -> list[Cited]:
        messages = _digest_messages([p.line() for p in batch], limit, title, settings.prompts_dir, style)
        from .notes import PointsOut

        answer = caller.one("digest", messages, output_schema(PointsOut, sorted({p for c in batch for p in c.pages}),
                                                              points=limit), PointsOut, label="condense notes")
        return [Cited(text=i.text, pages=i.pages) for i in answer.points] if answer else batch[:limit]

    points = notes.overview or notes.key_points
    points = condense(points, lambda items: render(_numbered_lines(items)), digest, budget, "outline")
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
    episode = _speakable(answer.title) if answer and _speakable(answer.title) else title
    if len(themes) < n_themes:  # no usable outline: split the points evenly, in document order
        size = max(1, -(-len(points) // n_themes))
        themes = [_ThemeOut(title=f"Part {i + 1}", summary="",
                            points=list(range(i * size, min(len(points), (i + 1) * size)))) for i in range(n_themes)]
    segments = [Segment(title="Introduction", words=budgets[0], summary=f"What {title} is about",
                        note_refs=list(range(min(5, len(points)))))]
    for theme, words in zip(themes, budgets[1:-1]):
        refs = sorted({i for i in theme.points if 0 <= i < len(points)}) or list(range(min(5, len(points))))
        segments.append(Segment(title=_speakable(theme.title) or "Main theme", words=words,
                                summary=_speakable(theme.summary), note_refs=refs))
    segments.append(Segment(title="Wrap-up", words=budgets[-1], summary="Main takeaways",
                            note_refs=sorted({r for s in segments[1:] for r in s.note_refs[:2]})))
    return episode, segments, points


def _numbered_lines(lines: list[str]) -> list[str]:
    return [f"[{i}] {line}" for i, line in enumerate(lines)]


def _style(settings: Settings) -> dict:
    return {"language": prompt_language(settings.script.language), "level": settings.notes.level,
            "instructions": settings.script.instructions.strip()}


# ---------------------------------------------------------------------------------------------------------------------
# Cleaning turns for speech


_BRACKETED = re.compile(r"\[[^\]]*\]|\*[^*\n]{1,40}\*(?=\s|$)|\((?:laughs?|chuckles?|pause|sighs?|music[^)]*|"
                        r"applause|intro|outro)[^)]*\)", re.IGNORECASE)
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")
_MARKUP = re.compile(r"[*_#`~>|]+")
_URL = re.compile(r"https?://\S+")


def clean_text(text: str, speakers: list[Speaker]) -> str:
    """Only the words to be spoken: no citations, stage directions, markdown, emojis or "Name:" labels."""
    text = strip_citation_marks(text)
    text = _BRACKETED.sub(" ", text)
    text = _EMOJI.sub("", text)
    text = _URL.sub("", text)
    text = _MARKUP.sub("", text)
    labels = {s.id.lower() for s in speakers} | {s.name.lower() for s in speakers} | {"host", "narrator", "speaker"}
    while True:
        match = re.match(r"\s*([\w .'-]{1,30}?)\s*:\s+", text)
        if not match or match.group(1).strip().lower() not in labels:
            break
        text = text[match.end():]
    if labels:  # "... right? Sam: Exactly." - a label after a sentence end, when the model merged two turns
        names = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
        text = re.sub(rf"(?<=[.!?])\s+(?:{names})\s*:\s+", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    return " ".join(text.split()).strip()


def _speakable(text: str | None) -> str:
    return clean_text(text or "", [])


def clean_turns(turns: list[Turn], speakers: list[Speaker], max_chars: int) -> list[Turn]:
    """Valid speaker ids, no empty turns, nothing TTS would read by mistake, no turn over `max_chars`."""
    ids = {s.id for s in speakers}
    out: list[Turn] = []
    for turn in turns:
        if turn.speaker not in ids:
            continue
        text = clean_text(turn.text, speakers)
        if not re.search(r"\w", text):
            continue
        for piece in split_for_speech(text, max_chars):
            out.append(Turn(speaker=turn.speaker, text=piece, segment=turn.segment))
    return out


_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey)\b[^.!?]*[.!?]\s*"
    r"|welcome(?: back)?\b[^.!?]*[.!?]\s*"
    r"|(?:i'm|i am) \w+,? (?:your|the) [^.!?]*[.!?]\s*"
    r"|today,? we(?:'re| are| will be) (?:diving|going|talking|exploring|discussing|looking)\b[^.!?]*[.!?]\s*)+",
    re.IGNORECASE,
)


def drop_greetings(turns: list[Turn]) -> list[Turn]:
    """Past the intro, small models greet the listeners again at every segment start ("Welcome to the episode...");
    those leading sentences go, the rest of the turn stays."""
    kept = []
    for turn in turns:
        text = _GREETING.sub("", turn.text).strip()
        if re.search(r"\w", text):
            kept.append(turn.model_copy(update={"text": text}))
    return kept


def share_turns(turns: list[Turn], speakers: list[Speaker]) -> list[Turn]:
    """A small model sometimes gives every turn of a segment to one speaker; a two-host show where one host never
    speaks is not what was asked for, so such a segment's turns alternate between the declared speakers."""
    if len(speakers) < 2 or len(turns) < 2 or len({t.speaker for t in turns}) > 1:
        return turns
    ids = [s.id for s in speakers]
    start = ids.index(turns[0].speaker)
    return [t.model_copy(update={"speaker": ids[(start + i) % len(ids)]}) for i, t in enumerate(turns)]


def trim_to(turns: list[Turn], words: int) -> list[Turn]:
    """Drop whole turns from the end until the count is within `words` (at least one turn stays)."""
    kept = list(turns)
    while len(kept) > 1 and _words(kept) > words:
        kept.pop()
    return kept


# ---------------------------------------------------------------------------------------------------------------------
# Writing segments


def _segment_schema(speakers: list[Speaker], words: int) -> dict:
    schema = output_schema(TurnsOut, [])
    schema["properties"]["turns"].update(minItems=2 if len(speakers) > 1 else 1, maxItems=max(2, min(14, words // 18)))
    schema["$defs"]["_TurnOut"]["properties"]["speaker"] = {"type": "string", "enum": [s.id for s in speakers]}
    return schema


def _words(turns: list[Turn]) -> int:
    return sum(count_words(t.text) for t in turns)


def _tokens(text: str) -> list[str]:
    """Words, with each Chinese/Japanese character a word of its own (they are not separated by spaces)."""
    return re.findall(CJK_CHARACTER.pattern + r"|[^\W" + CJK_CHARACTER.pattern[1:-1] + r"]+", text.lower())


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = _tokens(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class _Said:
    """What the script has already said, as 5-word shingles: the 1.5B model restates a note it has voiced before
    ("Tardigrades are eight-legged micro-animals known as water bears" in four segments), in new turns around it."""

    REPEAT_SHARE = 0.6  # a sentence with at least this share of its shingles already said is a repetition

    def __init__(self, turns: list[Turn] = ()):
        self.shingles: set[tuple[str, ...]] = set()
        self.short: set[str] = set()
        for turn in turns:
            self.add(turn.text)

    def add(self, text: str) -> None:
        for sentence in sentences(text):
            self.shingles |= _shingles(sentence)
            self.short.add(" ".join(_tokens(sentence)))

    def novel(self, text: str) -> str:
        """`text` without the sentences already said (a short sentence only when said word for word)."""
        kept = []
        for sentence in sentences(text):
            own = _shingles(sentence)
            if own:
                repeated = len(own & self.shingles) >= self.REPEAT_SHARE * len(own)
            else:
                repeated = " ".join(_tokens(sentence)) in self.short
            if not repeated:
                kept.append(sentence)
        return " ".join(kept) if any(re.search(r"\w", k) for k in kept) else ""


def _echoes(text: str, instructions: set[tuple[str, ...]]) -> bool:
    """A small model sometimes reads its instructions back as dialogue ("The notes above: explain the ideas...")."""
    own = _shingles(text)
    return bool(own) and len(own & instructions) >= max(1, len(own) // 3)


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
    said = _Said() if kind == "outro" else _Said(previous)
    turns: list[Turn] = []
    # a tiny model copies whatever dialogue it is shown: a new segment starts from the notes alone, a continuation
    # sees only the last two turns
    context = list(previous[-2:]) if continuing else []
    stalls = 0
    for call in range(MAX_CALLS_PER_SEGMENT):
        missing = target - _words(turns)
        if missing <= target * tolerance / 2 or stalls >= MAX_STALLS:
            break
        ask = max(20, min(WORDS_PER_CALL, missing))
        messages = render_messages(
            "segment", settings.prompts_dir, items=items, previous=[t.model_dump() for t in context], title=title,
            segment=segment.title, words=ask, length=spoken_length(ask, settings.script.language), kind=kind,
            continuing=continuing or bool(turns), speakers=speakers, style=settings.script.style, **_style(settings),
        )  # fmt: skip
        told = re.split(r"</(?:document|conversation)>", messages[-1]["content"])[-1]  # after the data blocks
        instructions = _shingles(messages[0]["content"] + " " + told)
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
            if text and not _echoes(text, instructions):
                said.add(text)
                fresh.append(turn.model_copy(update={"text": text}))
        stalls = stalls + 1 if _words(fresh) < 5 else 0
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
        facts = " ".join(_speakable(points[i].text) for i in segment.note_refs[:3] if 0 <= i < len(points))
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
            missing = round(target - _words(turns))
            if _words(turns) >= floor:
                return turns
            share = max(20, missing // len(themes))
            position = max((i for i, t in enumerate(turns) if t.segment == index), default=len(turns) - 1) + 1
            more = write_segment(index, segments[index], "theme", points, turns[:position], title, speakers, caller,
                                 settings, share, continuing=True, attempt=attempt,
                                 material=segment_material(index, segments, points, extra))
            turns = turns[:position] + more + turns[position:]
    return turns


def run_script(document: Document, notes_result: NotesResult, llm, settings: Settings, out_dir: str | Path) -> Script:
    """Outline, segments, validation; writes script.json and script.md under `out_dir` and returns the Script."""
    out_dir = Path(out_dir)
    settings = resolve_languages(settings, document)
    budget = Budget.of(llm)
    caller = Caller(llm, settings, out_dir / ".cache", budget)
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
        words = max(segment.words // 2, planned - _words(turns))
        written = write_segment(index, segment, kind, points, turns, episode, speakers, caller, settings, words,
                                material=segment_material(index, segments, points, extra))
        written_segments += bool(written)
        turns += written or fallback_turns(index, kind, segment, segments, episode, speakers, points)
    if not written_segments:  # only canned placeholder turns: that is no script
        last = f"; last problem: {caller.warnings[-1]}" if caller.warnings else ""
        raise BackendUnavailable(f"{document.source}: the model wrote no usable script turns for any segment{last}")
    turns = top_up(turns, segments, points, episode, speakers, caller, settings, extra)
    script = Script(title=episode, language=language_code(settings.script.language), speakers=speakers, segments=segments, turns=turns)
    script = validate_script(script, settings.script.max_turn_chars)
    write_script(script, out_dir)
    _record(out_dir, script, settings, caller)
    return script


def _record(out_dir: Path, script: Script, settings: Settings, caller: Caller) -> None:
    """What report.json cannot carry from here (run_script returns a Script): the length check and the calls."""
    target = round(settings.script.minutes * settings.script.words_per_minute)
    atomic_write_json(out_dir / ".cache" / "script_stats.json", {
        "target_words": target, "words": script.word_count(), "ratio": round(script.word_count() / max(1, target), 3),
        "segments": [{"title": s.title, "budget": s.words,
                      "words": _words([t for t in script.turns if t.segment == i])}
                     for i, s in enumerate(script.segments)],
        "calls": caller.calls, "cached_calls": caller.cached, "warnings": caller.warnings,
    })  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------------
# Files


def validate_script(script: Script, max_turn_chars: int = 500) -> Script:
    """A script TTS can read: speakers unique and declared, turns cleaned, none empty, segments in range."""
    ids = [s.id for s in script.speakers]
    if not script.speakers:
        raise BadInput("script has no speakers")
    if len(set(ids)) != len(ids):
        raise BadInput(f"script declares a speaker id twice: {ids}")
    unknown = sorted({t.speaker for t in script.turns} - set(ids))
    if unknown:
        raise BadInput(f"script turn uses undeclared speaker {unknown[0]!r} (declared: {', '.join(ids)})")
    bad = [t.segment for t in script.turns if script.segments and not 0 <= t.segment < len(script.segments)]
    if bad:
        raise BadInput(f"script turn refers to segment {bad[0]}, but there are {len(script.segments)} segments")
    turns = clean_turns(script.turns, script.speakers, max_turn_chars)
    if not turns:
        raise BadInput("script has no turns with spoken text")
    return script.model_copy(update={"turns": turns})


def script_markdown(script: Script) -> str:
    names = {s.id: s.name for s in script.speakers}
    lines = [f"# {script.title}", ""]
    lines += [f"- **{s.name}** ({s.id}): {s.role}" for s in script.speakers]
    lines += ["", f"*{script.word_count()} words*", ""]
    current = None
    for turn in script.turns:
        if turn.segment != current:
            current = turn.segment
            title = script.segments[current].title if current < len(script.segments) else f"Part {current + 1}"
            lines += [f"## {title}", ""]
        lines += [f"**{names.get(turn.speaker, turn.speaker)}:** {turn.text}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_script(script: Script, out_dir: str | Path) -> dict[str, str]:
    out_dir = Path(out_dir)
    return {"script": str(atomic_write_json(out_dir / "script.json", script)),
            "script_md": str(atomic_write_text(out_dir / "script.md", script_markdown(script)))}


def load_script(path: str | Path, max_turn_chars: int = 500) -> Script:
    """A (possibly hand-edited) script.json, validated; BadInput with the first problem when it is not usable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"script not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not valid JSON: {exc}") from None
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise BadInput(f"{path}: {where}: {first['msg']}") from None
    return validate_script(script, max_turn_chars)


__all__ = ["run_script", "load_script", "write_script", "validate_script", "make_speakers", "word_budgets",
           "clean_text", "MAX_TOKENS"]
