"""Page and reference markers inside written text ("(p. 4)", "[pp. 4-5]", "[12]", "[^1]"): the one pattern that
notes (which append their own checked pages), script turns and speech (which must never read them aloud) remove."""

from __future__ import annotations

import re

CITATION_MARK = re.compile(
    r"""\s*(?:
        \(\s*(?:pp?\.|pages?|see\s+p\.?)\s*\d+(?:\s*[-–—,]\s*\d+)*\s*\)   # (p. 4) (pp. 4-5) (page 4) (see p. 4)
      | \[\s*(?:pp?\.|pages?)\s*\d+(?:\s*[-–—,]\s*\d+)*\s*\]             # [p. 4] [pages 3, 4]
      | \[\d+(?:\s*[-–—,]\s*\d+)*\]                                     # [12] [1, 3] [2-4]
      | \[\^?\w+\](?!\()                                                 # [^1] footnote markers
      | (?<=\d%)\d{1,2}\b(?![.,]\d)                                     # 17.0%5 a footnote's number
    )""",
    re.VERBOSE | re.IGNORECASE,
)


def strip_citation_marks(text: str) -> str:
    return CITATION_MARK.sub("", text)
