"""The sandbox as a tool the model calls during rollouts: ``execute_sql(query)`` against the sample's database.

* :mod:`extensions.tool.limits`: the tool's knobs (:class:`ToolLimits`), standard library only.
* :mod:`extensions.tool.table`: the compact, deterministic text table a query answers with.
* :mod:`extensions.tool.sql_tool`: :func:`run_query` (one call) and :class:`SqlSession` (one episode, with its budget).
* :mod:`extensions.tool.prompt`: the system prompt naming the tool, and multi-turn prompts.
* :mod:`extensions.tool.episode`: the reward of a multi-turn episode, with its tool metrics.

The adapters live in :mod:`extensions.integrations` (verl ``SQLTool``, the TRL environment, verifiers 0.4).
"""
