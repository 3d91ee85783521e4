"""How people name what the knowledge base knows: ids, labels, abbreviations and synonyms.

One reading of a name serves the API (``why_not("IVIg")``), the command line and the
clinician's scenarios (the step library): lower case, Greek beta spelt out, a leading article
and punctuation dropped.
"""

from __future__ import annotations

import re

__all__ = ["aliases", "normalise"]

_ARTICLE = re.compile(r"^(?:the|a|an|her|its)\s+", re.IGNORECASE)


def normalise(word: str) -> str:
    """Lower case, Greek beta spelt out, articles and punctuation dropped: for comparing names."""
    text = word.strip().replace("β", "b").replace("beta2", "b2").replace("Beta2", "b2")
    text = _ARTICLE.sub("", text)
    text = text.lower()
    return re.sub(r"[^a-z0-9/]+", "", text)


def aliases(key: str, label: str) -> list[str]:
    """An id, its label, the label without a bracketed abbreviation, and the abbreviation."""
    names = [key, label]
    match = re.match(r"^(.*?)\s*\(([^)]+)\)\s*$", label)
    if match:
        names.extend([match.group(1), match.group(2)])
    return names
