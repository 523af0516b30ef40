"""A used RewardComputer pickles and deep-copies; the copy scores exactly like the original."""

from __future__ import annotations

import asyncio
import copy
import pickle

from extensions.config import RewardConfig
from extensions.rewards.combine import RewardComputer

GOLD = "SELECT name FROM employees WHERE salary > 100000 ORDER BY name"
OUTS = [f"```sql\n{s}\n```" for s in (GOLD, "SELECT name FROM employees", "SELECT nme FROM employees", "SELEC x")]


def _breakdowns(rc: RewardComputer, gt: dict) -> list[dict]:
    out = []
    for r in rc.compute_rewards(OUTS, [gt] * len(OUTS)):
        b = dict(r.breakdown)
        b.pop("pred_time_ms", None)
        out.append(b)
    return out


def test_used_computer_pickles_and_deep_copies(engine, demo_paths):
    gt = {"sql": GOLD, "db_path": demo_paths["hr"]}
    rc = RewardComputer(RewardConfig(baseline="sql_r1", schema_weight=-0.2, gating="always"), engine=engine)
    before = _breakdowns(rc, gt)

    async def use_async() -> None:
        await asyncio.gather(*(rc.compute_reward_async(o, gt) for o in OUTS))

    asyncio.run(use_async())  # the coalescer and the engine now hold queues, locks and processes
    for clone in (pickle.loads(pickle.dumps(rc)), copy.deepcopy(rc)):
        assert clone.engine.settings == engine.settings
        assert _breakdowns(clone, gt) == before
    assert _breakdowns(rc, gt) == before  # the original is untouched


def test_shared_engine_computer_pickles_after_use(demo_paths):
    rc = RewardComputer(RewardConfig(baseline="arctic"))
    gt = {"sql": GOLD, "db_path": demo_paths["hr"]}
    first = _breakdowns(rc, gt)
    clone = pickle.loads(pickle.dumps(rc))
    assert _breakdowns(clone, gt) == first and _breakdowns(copy.deepcopy(rc), gt) == first
