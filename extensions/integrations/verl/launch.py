"""Build (and run) the ``python -m verl.trainer.main_ppo ...`` command from our config.

    python -m extensions.verl_launch --config configs/train_24gb.yaml --print
    python -m extensions.verl_launch --config configs/verl_8gpu.yaml --set verl.nnodes=2

The command runs GRPO (``algorithm.adv_estimator=grpo``) with ``rollout.n``
samples per prompt, the KL loss, LoRA (rank, alpha, target modules; vLLM then
needs ``load_format=safetensors``), gradient checkpointing, FSDP offload,
``gpu_memory_utilization`` and the single- or multi-node ``trainer.*`` keys,
and wires our reward in with the hook keys of the installed verl version:

* verl >= 0.8: ``reward.custom_reward_function.path/name`` and
  ``+reward.custom_reward_function.reward_kwargs.config=<yaml>``; on verl >= 0.9
  the name is ``verl.reward_hook`` (default ``compute_score_async``: verl's
  reward loop awaits it per sample and the calls of a batch are scored
  together);
* verl <= 0.7: the top-level ``custom_reward_function.*`` keys (0.9 accepts
  those but silently ignores them, and training then dies with
  ``NotImplementedError: Reward function is not implemented for data_source=...``).

The v1 trainer of verl 0.9 imports ``transfer_queue``, which ``pip install verl``
does not install, so ``trainer.use_v1=False`` is set unless ``verl.use_v1``
is true in the config.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from importlib import metadata

from extensions.config import Config, dump_config, load_config

HOOK_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verl_hook.py")
DEFAULT_VERSION = (0, 9, 1)


def installed_verl_version() -> tuple[int, ...] | None:
    """The installed verl version as a tuple, or None when verl is not installed."""
    try:
        v = metadata.version("verl")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def reward_overrides(config_path: str, version: tuple[int, ...], *, hook_name: str = "compute_score") -> list[str]:
    """The hook keys for ``version`` of verl."""
    prefix = "reward.custom_reward_function" if version >= (0, 8) else "custom_reward_function"
    return [
        f"{prefix}.path={HOOK_PATH}",
        f"{prefix}.name={hook_name}",
        f"+{prefix}.reward_kwargs.config={config_path}",
    ]


def _list(values: list[str]) -> str:
    return "[" + ",".join(values) + "]"


def build_overrides(cfg: Config, config_path: str, version: tuple[int, ...] = DEFAULT_VERSION) -> list[str]:
    """Hydra overrides for ``verl.trainer.main_ppo`` (without the program name)."""
    o, v, g = cfg.optimization, cfg.verl, cfg.grpo
    a = "actor_rollout_ref"
    out = [
        "algorithm.adv_estimator=grpo",
        "algorithm.use_kl_in_reward=False",
        f"data.train_files={os.path.abspath(v.train_files)}",
        f"data.val_files={os.path.abspath(v.val_files)}",
        f"data.train_batch_size={v.train_batch_size}",
        f"data.max_prompt_length={o.max_prompt_length}",
        f"data.max_response_length={o.max_response_length}",
        "data.filter_overlong_prompts=True",
        "data.truncation=error",
        f"{a}.model.path={o.model_name}",
        f"{a}.model.enable_gradient_checkpointing={o.gradient_checkpointing}",
        f"{a}.model.use_remove_padding=True",
        f"{a}.actor.optim.lr={o.learning_rate}",
        f"{a}.actor.ppo_mini_batch_size={v.ppo_mini_batch_size}",
        f"{a}.actor.ppo_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
        f"{a}.actor.use_kl_loss={v.kl_loss_coef > 0}",
        f"{a}.actor.kl_loss_coef={v.kl_loss_coef}",
        f"{a}.actor.kl_loss_type=low_var_kl",
        f"{a}.actor.entropy_coeff={v.entropy_coeff}",
        f"{a}.actor.clip_ratio={g.epsilon}",
        f"{a}.actor.fsdp_config.param_offload={v.param_offload}",
        f"{a}.actor.fsdp_config.optimizer_offload={v.optimizer_offload}",
        f"{a}.ref.fsdp_config.param_offload={v.param_offload}",
        f"{a}.ref.log_prob_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
        f"{a}.rollout.name={v.rollout_name}",
        f"{a}.rollout.n={v.rollout_n}",
        f"{a}.rollout.temperature={g.temperature}",
        f"{a}.rollout.gpu_memory_utilization={v.gpu_memory_utilization}",
        f"{a}.rollout.tensor_model_parallel_size={v.tensor_model_parallel_size}",
        f"{a}.rollout.log_prob_micro_batch_size_per_gpu={v.ppo_micro_batch_size_per_gpu}",
        f"reward.num_workers={v.reward_num_workers}" if version >= (0, 8) else None,
        f"trainer.n_gpus_per_node={v.n_gpus_per_node}",
        f"trainer.nnodes={v.nnodes}",
        "trainer.critic_warmup=0",
        "trainer.logger=" + _list(["console", "wandb"] if cfg.logging.wandb.enabled else ["console"]),
        f"trainer.project_name={v.project_name}",
        f"trainer.experiment_name={v.experiment_name}",
        f"trainer.save_freq={v.save_freq}",
        f"trainer.test_freq={v.test_freq}",
        f"trainer.total_epochs={v.total_epochs}",
        f"trainer.default_local_dir={os.path.abspath(os.path.join(cfg.logging.output_dir, 'verl_checkpoints'))}",
    ]
    if o.lora.enabled:
        out += [
            f"{a}.model.lora_rank={o.lora.r}",
            f"{a}.model.lora_alpha={o.lora.alpha}",
            f"{a}.model.target_modules={_list(o.lora.target_modules)}",
            f"{a}.rollout.load_format=safetensors",  # vLLM needs real weights to attach LoRA
        ]
    if version >= (0, 9) and not v.use_v1:
        out.append("trainer.use_v1=False")
    out += reward_overrides(config_path, version, hook_name=v.reward_hook if version >= (0, 9) else "compute_score")
    out += list(v.extra_overrides)
    return [x for x in out if x is not None]


def build_command(cfg: Config, config_path: str, version: tuple[int, ...] = DEFAULT_VERSION, python: str = sys.executable) -> list[str]:
    return [python, "-m", "verl.trainer.main_ppo", *build_overrides(cfg, config_path, version)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extensions.verl_launch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="our YAML config (see configs/)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. verl.nnodes=2")
    p.add_argument("--print", action="store_true", help="print the command instead of running it")
    p.add_argument("--verl-version", help="assume this verl version instead of the installed one (e.g. 0.7.0)")
    a = p.parse_args(argv)
    cfg = load_config(a.config, overrides=a.set)
    if a.verl_version:
        version = parse_version(a.verl_version)
    else:
        version = installed_verl_version() or DEFAULT_VERSION
        if installed_verl_version() is None:
            print(f"# verl is not installed; assuming {'.'.join(map(str, DEFAULT_VERSION))} (pip install 'extensions[verl]')", file=sys.stderr)
    if cfg.execution.workers == 0:
        # Every reward-loop worker (a Ray actor) starts its own sandbox pool: share the cores among them
        # instead of starting all-cores pools reward.num_workers times.
        cfg = cfg.model_copy(deep=True)
        cfg.execution.workers = max(1, (os.cpu_count() or 1) // cfg.verl.reward_num_workers)
    # The hook reads the fully resolved config (with --set applied) from a file next to the outputs.
    os.makedirs(cfg.logging.output_dir, exist_ok=True)
    resolved = os.path.abspath(os.path.join(cfg.logging.output_dir, "reward_config.yaml"))
    dump_config(cfg, resolved)
    cmd = build_command(cfg, resolved, version)
    if a.print:
        head = " ".join(shlex.quote(c) for c in cmd[:3])
        print(" \\\n    ".join([head] + [shlex.quote(c) for c in cmd[3:]]))
        return 0
    if installed_verl_version() is None:
        print("error: verl is not installed: pip install 'extensions[verl]'", file=sys.stderr)
        return 2
    return subprocess.call(cmd)


if __name__ == "__main__":
    raise SystemExit(main())
