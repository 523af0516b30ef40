"""``python -m extensions.ablation``: what each shaping component does.

The logic lives in :mod:`extensions.training.ablation`.
"""

from extensions.training.ablation import main

if __name__ == "__main__":
    raise SystemExit(main())
