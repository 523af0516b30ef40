"""The sandbox as a tool the model calls during rollouts: ``execute_sql(query)`` against the sample's database.

* :mod:`extensions.tool.table`: the compact, deterministic text table a query answers with.
* :mod:`extensions.tool.sql_tool`: :func:`run_query` (one call) and :class:`SqlSession` (one episode, with its budget).
* :mod:`extensions.tool.prompt`: the system prompt naming the tool, and multi-turn prompts.

The tool's knobs are :class:`extensions.defaults.tool.ToolLimits`; the reward of a multi-turn episode is
:mod:`extensions.rewards.episode`. The adapters live in :mod:`extensions.integrations` (verl ``SQLTool``, the
TRL environment, verifiers 0.4).
"""
