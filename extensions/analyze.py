"""``python -m extensions.analyze ROLLOUTS``: shaping signal and ordering without training.

The logic lives in :mod:`extensions.cli.analyze`.
"""

from extensions.cli.analyze import main

if __name__ == "__main__":
    raise SystemExit(main())
