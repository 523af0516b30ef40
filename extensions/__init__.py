"""Reward toolkit for text-to-SQL reinforcement learning (distribution ``text2sql-rewards``).

The package is split into subpackages, each one concern (README, "Layout"):

* ``extensions.sql``           pure text/AST work: extraction, the nesting guard, parsing, schemas
* ``extensions.execution``     sandboxed SQLite execution, worker pool, comparison
* ``extensions.rewards``       presets, shaping components, the combiner (``RewardComputer``)
* ``extensions.integrations``  adapters: verl, TRL, verifiers, OpenRLHF
* ``extensions.training``      the TRL runner, the CPU demo, the ablation
* ``extensions.cli``           evaluate, validate, bench, analyze

Importing the package is cheap: nothing heavy is imported here.
"""

__version__ = "0.1.0"
