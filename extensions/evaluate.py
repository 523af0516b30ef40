"""``python -m extensions.evaluate``: execution accuracy of predictions (see :mod:`extensions.cli.evaluate`).

>>> mcnemar([True, True, False], [True, False, False])["b_only_correct"]
0
"""

from extensions.cli.evaluate import (
    Evaluator,
    GoldItem,
    Item,
    Report,
    compare,
    group_candidates,
    load_gold,
    load_predictions,
    main,
    mcnemar,
    summarize,
)

__all__ = [
    "Evaluator",
    "GoldItem",
    "Item",
    "Report",
    "compare",
    "group_candidates",
    "load_gold",
    "load_predictions",
    "main",
    "mcnemar",
    "summarize",
]

if __name__ == "__main__":
    raise SystemExit(main())
