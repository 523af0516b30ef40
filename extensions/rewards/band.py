"""Where wrong and correct answers may land: the band that keeps correctness first.

A correct answer earns at least ``floor`` (the preset's smallest correct total). A wrong answer earns at
most ``ceiling = min(wrong_ceiling * floor, floor - margin)``: ``reward.wrong_ceiling`` is the most any
wrong answer can earn as a fraction of the correct reward, and ``reward.margin`` keeps a gap even at 1.0.
So every correct answer totals strictly more than every wrong one.

Positive shaping of a wrong answer is scaled by one factor into the room between the preset's
``wrong_max`` (the most its execution signal gives a wrong answer) and the ceiling. Two wrong answers
with the same shaping therefore keep the baseline's difference: under ``arctic`` an executed-but-wrong
query (0.1) stays 0.1 above one that failed or timed out (0), at any shaping. A baseline above
``wrong_max`` (a preset's own similarity parts), or an unknown ``wrong_max``, uses the room above itself.

>>> band = Band.of(floor=1.0, wrong_ceiling=1.0, margin=0.05, wrong_max=0.1, pos_max=1.0)
>>> band.ceiling, round(band.wrong_total(0.1, 1.0, 0.0), 3), round(band.wrong_total(0.0, 1.0, 0.0), 3)
(0.95, 0.95, 0.85)
>>> narrow = Band.of(floor=1.0, wrong_ceiling=0.3, margin=0.05, wrong_max=0.1, pos_max=1.0)
>>> round(narrow.wrong_total(0.1, 1.0, 0.0), 3), narrow.correct_total(1.0, 0.0)
(0.3, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """The totals a computer may give: correct answers from ``floor`` up, wrong answers up to ``ceiling``.

    Args:
        floor: the smallest total of a correct answer.
        ceiling: the largest total of a wrong answer (below ``floor``).
        wrong_max: the largest baseline the preset's execution signal gives a wrong answer (None: unknown).
        pos_max: the largest positive shaping a wrong answer can collect before scaling.
    """

    floor: float
    ceiling: float
    wrong_max: float | None
    pos_max: float

    @classmethod
    def of(cls, *, floor: float, wrong_ceiling: float, margin: float, wrong_max: float | None, pos_max: float) -> Band:
        """The band of a preset and config.

        Args:
            floor: the smallest total of a correct answer.
            wrong_ceiling: ``reward.wrong_ceiling``, in (0, 1].
            margin: ``reward.margin`` (> 0), the least gap below ``floor``.
            wrong_max: the preset's ``wrong_max``.
            pos_max: the sum of the positive shaping weights.

        Returns:
            The band.

        >>> round(Band.of(floor=6.0, wrong_ceiling=0.3, margin=0.05, wrong_max=0.0, pos_max=1.0).ceiling, 6)
        1.8
        """
        return cls(floor, min(wrong_ceiling * floor, floor - margin), wrong_max, max(0.0, pos_max))

    def wrong_total(self, baseline: float, pos: float, neg: float) -> float:
        """The total of a wrong answer: baseline, scaled positive shaping and penalties, at most ``ceiling``.

        Args:
            baseline: the preset's total.
            pos: the positive shaping (>= 0), before scaling.
            neg: the penalties (<= 0).

        Returns:
            The total, never above ``ceiling``.

        >>> band = Band.of(floor=1.0, wrong_ceiling=1.0, margin=0.05, wrong_max=0.1, pos_max=1.0)
        >>> round(band.wrong_total(0.1, 0.5, -0.5), 6)  # half the shaping room (0.85), then a penalty
        0.025
        """
        top = baseline if self.wrong_max is None else max(baseline, self.wrong_max)
        room = max(0.0, self.ceiling - top)
        if pos > 0 and self.pos_max > room:
            pos *= room / max(self.pos_max, pos)
        return min(baseline + pos + neg, self.ceiling)

    def correct_total(self, baseline: float, shaping: float) -> float:
        """The total of a correct answer: baseline plus any shaping, never below ``floor``.

        Args:
            baseline: the preset's total.
            shaping: the shaping applied (0 under ``gating="wrong_only"``).

        Returns:
            The total, at least ``floor``.

        >>> Band.of(floor=1.0, wrong_ceiling=1.0, margin=0.05, wrong_max=0.1, pos_max=1.0).correct_total(1.0, -0.5)
        1.0
        """
        return max(baseline + shaping, self.floor)
