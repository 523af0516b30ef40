"""verl reward hook by path: ``reward.custom_reward_function.path=<this file>``, ``name=compute_score_async``.

The code lives in :mod:`extensions.integrations.verl.hook`; this file stays so that verl configs can name it.
"""

import os
import sys

if __package__ in (None, ""):  # loaded by path from a source checkout that was not pip-installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from extensions.integrations.verl.hook import (  # noqa: E402
    compute_score,
    compute_score_async,
    compute_score_batch,
    compute_score_prime,
    get_computer,
)

__all__ = ["compute_score", "compute_score_async", "compute_score_batch", "compute_score_prime", "get_computer"]
