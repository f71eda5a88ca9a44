"""Readers that turn a file into a Document."""

from .extract import KINDS, extract_document

SUFFIXES = tuple(sorted(KINDS))

__all__ = ["KINDS", "SUFFIXES", "extract_document"]
