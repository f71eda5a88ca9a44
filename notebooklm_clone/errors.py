"""Errors that map to the CLI's exit codes, so every failure is one clear line and a distinct code."""


class NotebookError(Exception):
    """Base for errors the CLI reports as one line; `exit_code` is what the process returns."""

    exit_code = 1


class UsageError(NotebookError):
    exit_code = 2


class BadInput(NotebookError):
    """The document (or script, or config) given to us cannot be used."""

    exit_code = 3


class BackendUnavailable(NotebookError):
    """An LLM endpoint or TTS engine cannot be reached, refuses us, or keeps failing."""

    exit_code = 4


class PartialFailure(NotebookError):
    """Some documents of a batch failed; the rest finished."""

    exit_code = 5


def one_line_error(exc: BaseException) -> str:
    """Our errors as their message; anything unexpected as 'Type: message'. Always one line, so a failure fits one
    manifest field or one line of output."""
    text = str(exc) if isinstance(exc, NotebookError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text[:500] or type(exc).__name__
