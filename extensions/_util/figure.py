"""Figures that name their data: a PNG records the SHA-256 of the JSON document it was drawn from.

:func:`save_figure` writes the hash into the PNG's text metadata (key :data:`SOURCE_KEY`); :func:`source_hash`
computes it from a document, and :func:`png_source_hash` reads it back, so a test can check that a committed
figure was drawn from the committed JSON beside it.

>>> source_hash({"b": 1, "a": [1.5, None]}) == source_hash({"a": [1.5, None], "b": 1})
True
>>> source_hash({10: (1,), 9: 2}) == source_hash({"9": 2, "10": [1]})
True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SOURCE_KEY = "Source-SHA256"


def source_hash(doc: Any) -> str:
    """The SHA-256 of ``doc``'s canonical JSON (sorted keys, no spaces), as saved or as read back.

    Args:
        doc: a JSON-able document (tuples count as lists, keys as strings, as in the file).

    Returns:
        64 hex digits.

    >>> len(source_hash([1, 2]))
    64
    """
    as_read = json.loads(json.dumps(doc))  # the document as a reader of its JSON file sees it (str keys, lists)
    text = json.dumps(as_read, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_figure(fig: Any, png_path: str, source: Any = None, dpi: int = 110) -> str:
    """Save a matplotlib figure as PNG (tight bounding box) and close it; ``source``'s hash goes in its metadata.

    Args:
        fig: the figure.
        png_path: where the PNG goes.
        source: the JSON document the figure shows, or None for no hash.
        dpi: resolution.

    Returns:
        ``png_path``.

    Example:
        >>> save_figure(fig, "docs/results/demo_reward_curves.png", doc)  # doctest: +SKIP
        'docs/results/demo_reward_curves.png'
    """
    import matplotlib.pyplot as plt

    metadata = {SOURCE_KEY: source_hash(source)} if source is not None else {}
    fig.savefig(png_path, dpi=dpi, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return png_path


def png_source_hash(png_path: str) -> str | None:
    """The source hash a PNG records, or None when it has none.

    Args:
        png_path: a PNG written by :func:`save_figure`.

    Returns:
        The hash, or None.

    Example:
        >>> png_source_hash("docs/results/demo_reward_curves.png")  # doctest: +SKIP
        '3f0c...'
    """
    from PIL import Image

    with Image.open(png_path) as img:
        return img.text.get(SOURCE_KEY)  # type: ignore[attr-defined]
