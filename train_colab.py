#!/usr/bin/env python
"""GRPO training for text-to-SQL on one 24 GB GPU, with our rewards; or an offline CPU demo.

    python train_colab.py --model Qwen/Qwen2.5-Coder-3B-Instruct --config configs/train_24gb.yaml \\
        --output-dir ./outputs --num-steps 10 --batch-size 2 [--demo]

Backends:
  trl   (default) TRL's GRPOTrainer; LoRA via PEFT, optional 4-bit, gradient checkpointing,
        bf16 on GPU; every reward component is logged as rewards/<name>/mean.
  verl  builds and launches the single-GPU VERL command (extensions.verl_launch).

--demo: on a machine without a GPU (or when the model cannot be loaded offline) a tiny
Qwen2-architecture model and a tokenizer trained on the bundled corpus are built locally,
and real GRPO steps run on the bundled demo databases. With a GPU, --demo runs the real
model for --num-steps.

Outputs in --output-dir: metrics.jsonl (one line per step), reward_curves.png, final/
(the LoRA adapter or model), checkpoint-<step>/ (resumable), config.yaml (resolved);
in the demo also base/ (the tiny base model the adapter applies to) and sft_metrics.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

from extensions.config import Config, dump_config, load_config
from extensions.errors import ConfigError, DataError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model name or local path (default: optimization.model_name from the config)")
    p.add_argument("--config", default="configs/train_24gb.yaml", help="YAML config (default: %(default)s)")
    p.add_argument("--output-dir", default="./outputs", help="where metrics, plots, checkpoints and the adapter go")
    p.add_argument("--num-steps", type=int, default=10, help="GRPO optimizer steps")
    p.add_argument("--batch-size", type=int, help="prompts per step (overrides optimization.batch_size)")
    p.add_argument("--demo", action="store_true", help="offline demo: tiny local model on CPU, bundled databases")
    p.add_argument("--backend", choices=["trl", "verl"], default="trl")
    p.add_argument("--data", help="folder with train.parquet from `python -m extensions.data prepare` (default: the demo set)")
    p.add_argument("--resume", nargs="?", const="latest", help="resume from the latest checkpoint in --output-dir, or from PATH")
    p.add_argument("--wandb", action="store_true", help="log to Weights & Biases (offline mode unless WANDB_MODE says otherwise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sft-warmup", type=int, default=0, metavar="N", help="first fine-tune N steps on gold SQL (published recipes do)")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the final adapter to this Hub repo (needs HF_TOKEN)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config value")
    p.add_argument("--dry-run", action="store_true", help="with --backend verl: print the command instead of running it")
    return p.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> Config:
    overrides = list(args.set)
    if args.model:
        overrides.append(f"optimization.model_name={args.model}")
    if args.batch_size:
        overrides.append(f"optimization.batch_size={args.batch_size}")
    if args.wandb:
        overrides.append("logging.wandb.enabled=true")
    overrides.append(f"logging.output_dir={args.output_dir}")
    return load_config(args.config, overrides=overrides)


def hub_token() -> str | None:
    tok = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if tok:
        return tok
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return None


def set_seed(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    import torch

    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- data
def demo_rows(style: str, seed: int) -> tuple[list[dict], list[dict]]:
    """Demo train/val rows: prompt (chat), ground_truth {sql, db_path}."""
    from extensions.data.demo import build_demo_databases, demo_examples
    from extensions.data.prepare import Example, split_examples
    from extensions.data.templates import build_prompt, compact_schema, render_schema
    from extensions.execution.introspect import sample_values
    from extensions.execution.introspect import load_schema

    paths = build_demo_databases()
    ex = [Example(e["db_id"], e["question"], e["query"], os.path.abspath(paths[e["db_id"]])) for e in demo_examples()]
    out = []
    for split in ("train", "val"):
        rows = []
        for e in split_examples(ex, split, 0.1, seed):
            schema = load_schema(e.db_path)
            text = compact_schema(schema) if style == "compact" else render_schema(schema, sample_values(e.db_path, 2))
            rows.append({"prompt": build_prompt(style, text, e.question), "ground_truth": {"sql": e.sql, "db_path": e.db_path}})
        out.append(rows)
    return out[0], out[1]


def parquet_rows(folder: str) -> list[dict]:
    from extensions.data.prepare import read_parquet

    path = os.path.join(folder, "train.parquet") if os.path.isdir(folder) else folder
    rows = []
    for r in read_parquet(path):
        gt = r["reward_model"]["ground_truth"]
        rows.append({"prompt": [dict(m) for m in r["prompt"]], "ground_truth": {"sql": gt["sql"], "db_path": gt["db_path"]}})
    return rows


def gold_completion(sql: str) -> str:
    return f"<think>Find the tables and columns the question needs.</think><answer>```sql\n{sql}\n```</answer>"


# ----------------------------------------------------------------------------- model
def load_model(cfg: Config, args: argparse.Namespace, gpu: bool) -> tuple[Any, Any, bool]:
    """(model, tokenizer, is_tiny). Falls back to the tiny model in --demo when needed."""
    from extensions.tiny import build_tiny_model, build_tokenizer

    o = cfg.optimization
    if args.demo and not gpu:
        tok = build_tokenizer()
        base = os.path.join(os.path.abspath(args.output_dir), "base")
        if args.resume and os.path.exists(os.path.join(base, "config.json")):
            from transformers import AutoModelForCausalLM

            print(f"[demo] resuming: tiny base model from {base}")
            return AutoModelForCausalLM.from_pretrained(base), tok, True
        print("[demo] no GPU: building a tiny Qwen2 model and a tokenizer from the bundled corpus (offline)")
        return build_tiny_model(tok, seed=args.seed), tok, True
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if gpu:
        kwargs["torch_dtype"] = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(o.mixed_precision, torch.float32)
        if o.load_in_4bit:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=kwargs["torch_dtype"],
            )
            kwargs["device_map"] = {"": 0}
    try:
        tok = AutoTokenizer.from_pretrained(o.model_name)
        model = AutoModelForCausalLM.from_pretrained(o.model_name, **kwargs)
    except Exception as exc:
        if not args.demo:
            raise SystemExit(f"error: cannot load model {o.model_name!r}: {exc}\n(use --demo for the offline tiny model)") from exc
        print(f"[demo] cannot load {o.model_name!r} ({type(exc).__name__}); using the tiny offline model")
        tok = build_tokenizer()
        return build_tiny_model(tok), tok, True
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if o.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=o.gradient_checkpointing)
    return model, tok, False


def lora_config(cfg: Config) -> Any:
    from peft import LoraConfig

    lo = cfg.optimization.lora
    return LoraConfig(r=lo.r, lora_alpha=lo.alpha, lora_dropout=lo.dropout, target_modules=list(lo.target_modules), task_type="CAUSAL_LM")


def sft_warmup(model: Any, tok: Any, rows: list[dict], steps: int, *, lr: float, batch: int, out_dir: str, seed: int) -> list[float]:
    """Supervised warm-up on gold SQL (prompt tokens masked). Returns the loss per step."""
    import torch
    from tqdm import tqdm

    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()
    losses = []
    device = next(model.parameters()).device
    with open(os.path.join(out_dir, "sft_metrics.jsonl"), "w") as log:
        for step in tqdm(range(steps), desc="sft warm-up", file=sys.stderr):
            items = rng.sample(rows, min(batch, len(rows)))
            seqs, labels = [], []
            for r in items:
                p = tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True)
                p_ids = tok(p, add_special_tokens=False)["input_ids"]
                t_ids = tok(gold_completion(r["ground_truth"]["sql"]) + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
                seqs.append(p_ids + t_ids)
                labels.append([-100] * len(p_ids) + t_ids)
            n = max(map(len, seqs))
            pad = tok.pad_token_id
            ids = torch.tensor([s + [pad] * (n - len(s)) for s in seqs], device=device)
            lab = torch.tensor([s + [-100] * (n - len(s)) for s in labels], device=device)
            att = torch.tensor([[1] * len(s) + [0] * (n - len(s)) for s in seqs], device=device)
            loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            log.write(json.dumps({"step": step + 1, "loss": losses[-1]}) + "\n")
    return losses


# ----------------------------------------------------------------------------- TRL
def make_callbacks(cfg: Config, out_dir: str, resume: bool) -> list[Any]:
    from transformers import TrainerCallback

    from extensions.checkpoint import CheckpointManager
    from extensions.logging_enhanced import MetricsLogger

    logger = MetricsLogger(out_dir, resume=resume)
    ckpts = CheckpointManager(out_dir, cfg.logging.keep_best_k)

    class MetricsCallback(TrainerCallback):
        last_reward: float | None = None

        def on_log(self, args, state, control, logs=None, **kw):  # noqa: ANN001
            if logs and any(k.startswith("rewards/") for k in logs):
                row = dict(logs)
                row.setdefault("kl", 0.0)  # TRL omits KL when beta == 0
                logger.log(state.global_step, row)
                self.last_reward = logs.get("rewards/sql_reward/mean", logs.get("reward"))

        def on_save(self, args, state, control, **kw):  # noqa: ANN001
            ckpts.record(state.global_step, self.last_reward)
            ckpts.prune()

    return [MetricsCallback()]


def grpo_args(cfg: Config, args: argparse.Namespace, gpu: bool, out_dir: str, weights: list[float], tiny: bool) -> Any:
    from trl import GRPOConfig

    o, g = cfg.optimization, cfg.grpo
    report = []
    if cfg.logging.wandb.enabled:
        try:
            import wandb  # noqa: F401

            os.environ.setdefault("WANDB_MODE", cfg.logging.wandb.mode)
            os.environ.setdefault("WANDB_PROJECT", cfg.logging.wandb.project)
            report = ["wandb"]
        except ImportError:
            print("warning: wandb is not installed; continuing without W&B logging", file=sys.stderr)
    return GRPOConfig(
        output_dir=out_dir,
        max_steps=args.num_steps,
        per_device_train_batch_size=o.batch_size * g.num_generations,
        gradient_accumulation_steps=1 if tiny else o.gradient_accumulation_steps,
        num_generations=g.num_generations,
        max_completion_length=o.max_response_length,
        temperature=g.temperature,
        top_p=g.top_p,
        beta=g.beta,
        epsilon=g.epsilon,
        learning_rate=o.learning_rate,
        weight_decay=o.weight_decay,
        warmup_steps=0 if tiny else max(0, int(o.warmup_ratio * args.num_steps)),
        max_grad_norm=o.max_grad_norm,
        gradient_checkpointing=o.gradient_checkpointing and gpu,
        bf16=gpu and o.mixed_precision == "bf16",
        fp16=gpu and o.mixed_precision == "fp16",
        use_cpu=not gpu,
        use_vllm=g.use_vllm and gpu,
        vllm_mode="colocate",
        vllm_gpu_memory_utilization=g.vllm_gpu_memory_utilization,
        reward_weights=weights,
        logging_steps=1,
        save_strategy="steps",
        save_steps=min(cfg.logging.save_every, max(1, args.num_steps)),
        report_to=report,
        seed=args.seed,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def run_trl(cfg: Config, args: argparse.Namespace, out_dir: str) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from trl import GRPOTrainer

    from extensions.integrations.trl import make_reward_funcs
    from extensions.logging_enhanced import plot_metrics
    from extensions.rewards.combine import EnhancedRewardComputer
    from extensions.validation import check_config, check_training_rows

    gpu = torch.cuda.is_available()
    check_config(cfg, need_gpu=not args.demo)
    set_seed(args.seed)
    model, tok, tiny = load_model(cfg, args, gpu)
    if tiny:  # CPU demo sizes
        cfg = cfg.model_copy(deep=True)
        cfg.optimization.max_response_length = min(cfg.optimization.max_response_length, 64)
    style = "compact" if tiny else cfg.data.prompt_style
    if args.data:
        train_rows = parquet_rows(args.data)
    else:
        train_rows, _ = demo_rows(style, args.seed)
    computer = EnhancedRewardComputer.from_config(cfg)
    # Fail fast on broken data; drop rows whose gold fails or returns nothing (always-zero reward).
    train_rows, report = check_training_rows(train_rows, engine=computer.engine)
    print(f"[data] {len(train_rows)} training rows ({report.total - len(train_rows)} dropped: "
          f"{len(report.gold_errors)} gold errors, {len(report.empty_results)} empty results, "
          f"{len(report.missing_databases)} missing databases)")
    if args.sft_warmup and not args.resume:
        lr = 3e-3 if tiny else cfg.optimization.learning_rate * 10
        if cfg.optimization.lora.enabled and not tiny:
            from peft import get_peft_model

            model = get_peft_model(model, lora_config(cfg))
        losses = sft_warmup(model, tok, train_rows, args.sft_warmup, lr=lr, batch=8, out_dir=out_dir, seed=args.seed)
        print(f"[sft] loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps")
    if tiny and not args.resume:
        # The tiny model's own weights (SFT-trained or not) are the base the LoRA adapter applies to:
        # keep them so final/ and checkpoints reload and --resume continues on the same base.
        model.save_pretrained(os.path.join(out_dir, "base"))
        tok.save_pretrained(os.path.join(out_dir, "base"))
    funcs, weights = make_reward_funcs(computer)
    targs = grpo_args(cfg, args, gpu, out_dir, weights, tiny)
    peft_cfg = lora_config(cfg) if cfg.optimization.lora.enabled and not hasattr(model, "peft_config") else None
    dataset = Dataset.from_list(train_rows).shuffle(seed=args.seed)
    trainer = GRPOTrainer(
        model=model, reward_funcs=funcs, args=targs, train_dataset=dataset, processing_class=tok,
        peft_config=peft_cfg, callbacks=make_callbacks(cfg, out_dir, resume=bool(args.resume)),
    )
    resume: bool | str | None = None
    if args.resume:
        resume = True if args.resume == "latest" else args.resume
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    final = os.path.join(out_dir, "final")
    trainer.save_model(final)
    tok.save_pretrained(final)
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    plot = plot_metrics(metrics_path, os.path.join(out_dir, "reward_curves.png")) if os.path.exists(metrics_path) else None
    return {"final": final, "metrics": metrics_path, "plot": plot, "seconds": time.perf_counter() - t0, "tiny_model": tiny}


# ----------------------------------------------------------------------------- VERL
def run_verl(cfg: Config, args: argparse.Namespace, out_dir: str) -> int:
    from extensions import verl_launch
    from extensions.data.prepare import prepare

    data = args.data
    if not data:
        data = os.path.join(out_dir, "data")
        prepare("demo", data, style=cfg.data.prompt_style)
    cfg = cfg.model_copy(deep=True)
    cfg.verl.train_files = os.path.join(data, "train.parquet")
    cfg.verl.val_files = os.path.join(data, "val.parquet")
    resolved = os.path.abspath(os.path.join(out_dir, "config.yaml"))
    dump_config(cfg, resolved)
    argv = ["--config", resolved] + (["--print"] if args.dry_run else [])
    return verl_launch.main(argv)


def push_to_hub(folder: str, repo: str, token: str) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo, exist_ok=True, private=True)
    info = api.upload_folder(folder_path=folder, repo_id=repo, commit_message="Upload GRPO text-to-SQL adapter")
    return str(getattr(info, "commit_url", repo))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = resolve_config(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(args.output_dir)
    os.makedirs(out_dir, exist_ok=True)
    token = None
    if args.push_to_hub:
        token = hub_token()
        if not token:
            print("error: --push-to-hub needs a Hugging Face token: set HF_TOKEN (or run `huggingface-cli login`)", file=sys.stderr)
            return 2
    dump_config(cfg, os.path.join(out_dir, "config.yaml"))
    if args.backend == "verl":
        return run_verl(cfg, args, out_dir)
    try:
        result = run_trl(cfg, args, out_dir)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    if args.push_to_hub and token:
        print("pushed:", push_to_hub(result["final"], args.push_to_hub, token))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
