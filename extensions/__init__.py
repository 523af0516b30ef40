"""Reward toolkit for text-to-SQL reinforcement learning.

The package is split into small rooms (see README, "Architecture"):

* ``extensions.sql``        pure text/AST work (extraction, parsing, schemas)
* ``extensions.execution``  sandboxed SQLite execution, worker pool, comparison
* ``extensions.rewards``    reward components, baseline presets, the combiner
* adapters                  ``verl_hook``, ``integrations.trl``, ``integrations.verifiers``

Importing the package is cheap: nothing heavy is imported here.
"""

__version__ = "0.1.0"
