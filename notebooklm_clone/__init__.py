"""notebooklm_clone: documents in, study material and a two-host podcast out, offline by default."""

__version__ = "0.1.0"
