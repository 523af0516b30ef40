#!/usr/bin/env python
"""GRPO training for text-to-SQL on one 24 GB GPU, with our rewards; or an offline CPU demo.

    python train_colab.py --demo --config configs/demo_cpu.yaml --output-dir outputs/demo

The command lives in :mod:`extensions.training.cli`; ``python train_colab.py --help`` lists the flags.
"""

from extensions.training.cli import hub_token, main, parse_args, push_to_hub, resolve_config

__all__ = ["hub_token", "main", "parse_args", "push_to_hub", "resolve_config"]

if __name__ == "__main__":
    raise SystemExit(main())
