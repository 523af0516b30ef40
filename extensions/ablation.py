"""``python -m extensions.ablation``: what each shaping component does (logic in :mod:`extensions.training.ablation`)."""

from extensions.training.ablation import main

if __name__ == "__main__":
    raise SystemExit(main())
