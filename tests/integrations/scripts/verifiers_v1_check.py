"""Run inside a venv that has verifiers 0.4 and this package (not 0.3): load and score through verifiers.v1.

Prints one JSON line with what the test asserts.
"""

import asyncio
import json
import os
import sys
import tempfile

import verifiers
import verifiers.v1 as vf
from verifiers.v1.graph import MessageNode
from verifiers.v1.trace import AgentInfo, TraceTask

from extensions.errors import ConfigError
from extensions.integrations.verifiers import load_environment, verifiers_api


def score(task, text):
    trace = vf.Trace(
        task=TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
        agent=AgentInfo(config=vf.AgentConfig()),
        nodes=[MessageNode(message=vf.AssistantMessage(content=text), sampled=True)],
    )
    asyncio.run(task.score(trace))
    return trace.reward, dict(trace.metrics)


def main():
    out = {"version": verifiers.__version__, "api": verifiers_api()}
    taskset = load_environment(**{"execution.workers": 1, "reward.enable_enhanced": True})
    out["taskset_type"] = type(taskset).__name__
    tasks = list(taskset)
    out["n_tasks"] = len(tasks)
    # verifiers loads tasksets by the id of a top-level module that exports one Taskset (docs/integrations.md).
    shim = tempfile.mkdtemp()
    with open(os.path.join(shim, "sql_taskset.py"), "w") as fh:
        fh.write("from extensions.integrations.verifiers_v1 import SqlTaskset\n__all__ = ['SqlTaskset']\n")
    sys.path.insert(0, shim)
    by_id = vf.load_taskset(type(taskset.config)(id="sql_taskset", task=taskset.config.task, max_examples=3))
    out["by_id_n"] = len(list(by_id))
    out["by_id_type"] = type(by_id).__name__
    task = tasks[0]
    gold = json.loads(task.data.answer)["sql"]
    out["right"] = score(task, f"<think>x</think><answer>```sql\n{gold}\n```</answer>")
    out["wrong"] = score(task, "<think>x</think><answer>```sql\nSELECT nme FROM employes\n```</answer>")
    out["empty"] = score(task, "")
    from extensions.config import load_config
    from extensions.rewards.combine import RewardComputer

    computer = RewardComputer(load_config(overrides=["execution.workers=1", "reward.enable_enhanced=true"]))
    out["wrong_total"] = computer.compute_reward(
        "<think>x</think><answer>```sql\nSELECT nme FROM employes\n```</answer>", task.data.answer
    ).total
    out["keys"] = list(computer.keys)
    try:
        load_environment(**{"reward.baselin": "arctic"})
        out["config_error"] = None
    except ConfigError as exc:
        out["config_error"] = str(exc)
    if len(sys.argv) > 1:  # a Spider folder
        spider = list(load_environment(dataset=sys.argv[1], **{"execution.workers": 1}).take(2))
        out["spider"] = [score(t, json.loads(t.data.answer)["sql"])[0] for t in spider]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
