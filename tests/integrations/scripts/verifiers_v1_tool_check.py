"""Run inside a venv that has verifiers 0.4 and this package: the execute_sql toolset and the tool taskset.

The toolset's tool method is called directly (no MCP server, no model); prints one JSON line.
"""

import asyncio
import json

import verifiers.v1 as vf
from verifiers.v1.graph import MessageNode
from verifiers.v1.trace import AgentInfo, TraceTask

from extensions.integrations.verifiers_v1_tool import (
    SqlToolState,
    load_tool_taskset,
)


def score(task, text, state):
    trace = vf.Trace(
        task=TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
        agent=AgentInfo(config=vf.AgentConfig()),
        nodes=[MessageNode(message=vf.AssistantMessage(content=text), sampled=True)],
        state=state,
    )
    asyncio.run(task.score(trace))
    return trace.reward, dict(trace.metrics)


def main():
    taskset = load_tool_taskset(overrides=["execution.workers=1", "multi_turn.max_calls=2"], max_examples=3)
    task = next(iter(taskset))
    (toolset,) = type(task).toolsets(task.config)
    out = {"toolset": type(toolset).__name__, "system": task.data.prompt[0].content}

    async def episode():
        await toolset.setup_task(task.data)  # what a launched tool server receives
        answers = [
            await toolset.execute_sql(q) for q in ("SELECT count(*) FROM employees", "DROP TABLE employees", "SELECT 1")
        ]
        return answers, toolset.state

    answers, _ = asyncio.run(episode())
    out["answers"] = answers
    gold = json.loads(task.data.answer)["sql"]
    state = SqlToolState(tool_calls=2, tool_errors=1, tool_budget_spent=True)
    out["right"] = score(task, f"<think>x</think><answer>```sql\n{gold}\n```</answer>", state)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
