"""Run inside a venv that has verifiers 0.4 and this package: the parity transcripts through verifiers.

Usage: ``python verifiers_v1_parity_check.py EPISODES_JSON HR_SQLITE``. Every call goes through an MCP server's
``call_tool`` (argument validation included) on the ``SqlToolset``; the final messages are scored by the
``SqlToolTask``. Prints one JSON line: per episode, its score, tool calls, failed calls and the tool answers.
"""

import asyncio
import json
import sys

import verifiers.v1 as vf
from mcp.server.mcpserver import MCPServer
from verifiers.v1.graph import MessageNode
from verifiers.v1.trace import AgentInfo, TraceTask

from extensions.integrations.verifiers_v1_tool import SqlToolState, SqlToolTask, load_tool_taskset


def _call(i, arguments):
    return vf.ToolCall(id=f"c{i}", name="execute_sql", arguments=json.dumps(arguments))


async def play(task, episode, hr):
    (toolset,) = type(task).toolsets(task.config)
    await toolset.setup_task(task.data)
    server = MCPServer("sql")
    toolset.register(server)
    nodes, answers = [], []
    for i, arguments in enumerate(episode["calls"]):
        result = await server.call_tool("execute_sql", arguments)
        text = "".join(getattr(c, "text", "") for c in result.content)
        answers.append(text)
        message = vf.AssistantMessage(content="", tool_calls=[_call(i, arguments)])
        reply = vf.ToolMessage(tool_call_id=f"c{i}", content=text)
        nodes += [MessageNode(message=message, sampled=True), MessageNode(message=reply)]
    final = episode["final"]
    tool_calls = [_call(99, final["unanswered_call"])] if "unanswered_call" in final else None
    reasoning = final.get("reasoning")
    last = vf.AssistantMessage(content=final["content"], reasoning_content=reasoning, tool_calls=tool_calls)
    nodes.append(MessageNode(message=last, sampled=True))
    s = toolset._session
    state = SqlToolState(tool_calls=s.calls, tool_errors=s.errors, tool_budget_spent=s.budget_spent)
    trace = vf.Trace(
        task=TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
        agent=AgentInfo(config=vf.AgentConfig()),
        nodes=nodes,
        state=state,
    )
    await task.score(trace)
    m = trace.metrics
    return {"score": trace.reward, "tool_calls": m["tool_calls"], "tool_errors": m["tool_errors"], "answers": answers}


def main():
    spec_path, hr = sys.argv[1:3]
    spec = json.load(open(spec_path))
    taskset = load_tool_taskset(overrides=spec["overrides"], max_examples=1)
    first = next(iter(taskset))
    data = first.data.model_copy(update={"answer": json.dumps({"sql": spec["gold"], "db_path": hr})})
    task = SqlToolTask(data, first.config)
    out = {e["name"]: asyncio.run(play(task, e, hr)) for e in spec["episodes"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
