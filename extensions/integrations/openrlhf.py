"""OpenRLHF reward function: ``--reward.remote_url <path of this file>`` (OpenRLHF >= 0.11, ``--remote_rm_url`` before).

OpenRLHF loads this file by path and calls ``reward_func(queries, prompts, labels)`` with the full
prompt+response texts, the prompts and the labels (the JSON ground truths that
``python -m extensions.data prepare --format openrlhf`` writes). It returns ``rewards`` (our total),
``scores`` (the execution match in [0, 1], for dynamic filtering) and ``extra_logs`` (every breakdown
component), each a tensor with one value per query. A bad sample gets a defined reward; a
configuration mistake raises :class:`~extensions.errors.ConfigError` when OpenRLHF loads the file
(OpenRLHF logs and drops errors raised per call, so the check runs at load time).

The configuration comes from ``$EXTENSIONS_CONFIG`` (or defaults); keyword arguments ``config``,
``overrides`` and ``db_root`` are accepted as in the verl hook.

>>> out = reward_func(["PROMPT SELECT 1"], ["PROMPT "], ['{"sql": "SELECT 1"}'])
>>> sorted(out), out["scores"].tolist()
(['extra_logs', 'rewards', 'scores'], [0.0])
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

if __package__ in (None, ""):  # loaded by path from a source checkout that was not pip-installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from extensions._util.log import log_once  # noqa: E402
from extensions.integrations.computers import get_computer  # noqa: E402

log = logging.getLogger("extensions.openrlhf")


def response_text(query: Any, prompt: Any) -> str:
    """The response part of ``query``: the text after ``prompt`` (the whole query when the prompt is not in it).

    Args:
        query: prompt + response, as OpenRLHF decodes it.
        prompt: the prompt text.

    Returns:
        The response text.

    >>> response_text("<s>Q: how many?<|assistant|>SELECT 1", "Q: how many?<|assistant|>")
    'SELECT 1'
    """
    q = query if isinstance(query, str) else ("" if query is None else str(query))
    p = prompt if isinstance(prompt, str) else ""
    if p and q.startswith(p):
        return q[len(p) :]
    at = q.find(p) if p else -1
    return q[at + len(p) :] if at >= 0 else q


def _at(seq: Sequence[Any] | None, i: int) -> Any:
    try:
        return seq[i] if seq is not None else None
    except (IndexError, TypeError, KeyError):
        return None


def _tensors(breakdowns: list[dict[str, float]]) -> dict[str, Any]:
    import torch

    keys = list(breakdowns[0]) if breakdowns else ["score", "acc"]
    column = {k: torch.tensor([b.get(k, 0.0) for b in breakdowns], dtype=torch.float32) for k in keys}
    return {
        "rewards": column["score"],
        "scores": column["acc"],
        "extra_logs": {k: v for k, v in column.items() if k != "score"},
    }


def reward_func(queries: Sequence[Any], prompts: Sequence[Any], labels: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
    """Score a batch for OpenRLHF.

    Args:
        queries: prompt + response texts.
        prompts: the prompts (stripped from the queries).
        labels: ground truths: JSON strings ``{"sql", "db_path"|"db_id"}`` (or dicts, or bare SQL).
        **kwargs: ``config``, ``overrides``, ``db_root``.

    Returns:
        ``{"rewards": tensor, "scores": tensor, "extra_logs": {component: tensor}}``, one value per query.

    Raises:
        ConfigError: only for a configuration that cannot be built; never for a sample.
    """
    computer = get_computer(**kwargs)
    n = len(queries) if queries is not None else 0
    responses = [response_text(_at(queries, i), _at(prompts, i)) for i in range(n)]
    try:
        results = computer.compute_rewards(responses, [_at(labels, i) for i in range(n)])
        return _tensors([r.breakdown for r in results])
    except Exception as exc:  # compute_rewards never raises; this is belt and braces
        log_once(
            log,
            f"openrlhf:{type(exc).__name__}",
            "extensions.openrlhf: internal error %r; batch scored 0",
            exc,
            exc_info=True,
        )
        return _tensors([{**dict.fromkeys(computer.keys, 0.0), "status_internal_error": 1.0} for _ in range(n)])


if __package__ in (None, ""):
    get_computer()  # loaded by path (OpenRLHF): a config mistake stops it here, at start-up
