"""The hook against the real verl package on CPU (skipped when verl is not installed)."""

from __future__ import annotations

import json
import math
import os

import pytest

from tests.conftest import require

verl = require("verl")
torch = require("torch")

pytestmark = pytest.mark.slow  # trains or runs a real framework end to end

import numpy as np  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

from extensions import verl_hook  # noqa: E402
from extensions.config import dump_config, load_config  # noqa: E402
from extensions.data.layout import read_parquet  # noqa: E402
from extensions.data.prepare import prepare  # noqa: E402
from extensions.integrations.verl.hook import coalescer  # noqa: E402
from extensions.integrations.verl.launch import build_overrides, installed_verl_version, reward_overrides  # noqa: E402
from extensions.training.tiny import build_tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, demo_dir):
    with pytest.MonkeyPatch.context() as mp:  # undone after the module's tests
        mp.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
        yield prepare("demo", str(tmp_path_factory.mktemp("verl_data")), style="sql_r1", max_examples=16)


@pytest.fixture(scope="module")
def reward_config(tmp_path_factory):
    cfg = load_config(os.path.join(ROOT, "configs", "train_24gb.yaml"), overrides=["execution.workers=2"], env=False)
    path = str(tmp_path_factory.mktemp("cfg") / "reward.yaml")
    dump_config(cfg, path)
    return cfg, path


def compose_ppo(overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def test_launcher_overrides_compose_without_unknown_keys(reward_config, prepared):
    cfg, path = reward_config
    cfg = cfg.model_copy(
        update={"verl": cfg.verl.model_copy(update={"train_files": prepared["train"], "val_files": prepared["val"]})}
    )
    ov = build_overrides(cfg, path, installed_verl_version())
    c = compose_ppo(ov)  # hydra raises on unknown keys (no "+")
    assert c.algorithm.adv_estimator == "grpo"
    assert c.actor_rollout_ref.rollout.n == cfg.verl.rollout_n
    assert c.actor_rollout_ref.model.lora_rank == cfg.optimization.lora.r
    assert c.actor_rollout_ref.rollout.load_format == "safetensors"
    assert c.reward.custom_reward_function.path.endswith("verl_hook.py")
    assert c.reward.custom_reward_function.reward_kwargs.config == path
    assert c.trainer.use_v1 is False
    import asyncio
    import inspect

    from verl.trainer.ppo.reward import get_custom_reward_fn

    assert c.reward.custom_reward_function.name == "compute_score_async"
    fn = get_custom_reward_fn(c)
    assert inspect.iscoroutinefunction(fn)  # what verl's reward managers check to await it directly
    gt = read_parquet(prepared["val"])[0]["reward_model"]["ground_truth"]
    out = asyncio.run(
        fn(
            data_source="demo",
            solution_str=f"<think>x</think><answer>```sql\n{gt['sql']}\n```</answer>",
            ground_truth=gt,
            extra_info={},
        )
    )
    assert out["score"] >= 1.0 and out["acc"] == 1.0


def test_old_keys_for_old_verl(reward_config):
    _, path = reward_config
    assert reward_overrides(path, (0, 7, 0))[0].startswith("custom_reward_function.path=")
    assert reward_overrides(path, (0, 9, 1))[0].startswith("reward.custom_reward_function.path=")


def test_reward_hook_choice(reward_config):
    cfg, path = reward_config

    def hook(c, version):
        return [o for o in build_overrides(c, path, version) if "custom_reward_function.name=" in o]

    assert hook(cfg, (0, 9, 1)) == ["reward.custom_reward_function.name=compute_score_async"]
    assert hook(cfg, (0, 8, 0)) == ["reward.custom_reward_function.name=compute_score"]  # no async support assumed
    sync = load_config(path, overrides=["verl.reward_hook=compute_score"], env=False)
    assert hook(sync, (0, 9, 1)) == ["reward.custom_reward_function.name=compute_score"]
    from extensions.errors import ConfigError

    with pytest.raises(ConfigError, match="reward_hook"):
        load_config(path, overrides=["verl.reward_hook=compute_score_prime"], env=False)


def _data_proto(rows, responses, tokenizer):
    from verl import DataProto

    prompts, resps = [], []
    for r, text in zip(rows, responses):
        msgs = [dict(m) for m in r["prompt"]]
        p = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        prompts.append(tokenizer(p, add_special_tokens=False)["input_ids"][-64:])
        resps.append(tokenizer(text, add_special_tokens=False)["input_ids"][:256] or [tokenizer.pad_token_id])
    pl, rl = max(map(len, prompts)), max(map(len, resps))
    pad = tokenizer.pad_token_id
    P = torch.full((len(rows), pl), pad)
    R = torch.full((len(rows), rl), pad)
    M = torch.zeros((len(rows), pl + rl), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, resps)):
        P[i, pl - len(p) :] = torch.tensor(p)
        R[i, : len(r)] = torch.tensor(r)
        M[i, pl - len(p) : pl] = 1
        M[i, pl : pl + len(r)] = 1
    non_tensors = {
        "data_source": np.array([r["data_source"] for r in rows], dtype=object),
        "reward_model": np.array([r["reward_model"] for r in rows], dtype=object),
        "extra_info": np.array([dict(r["extra_info"]) for r in rows], dtype=object),
    }
    return DataProto.from_dict(
        tensors={"prompts": P, "responses": R, "attention_mask": M, "input_ids": torch.cat([P, R], 1)},
        non_tensors=non_tensors,
    )


def _responses(rows):
    out = []
    for i, r in enumerate(rows):
        gold = r["reward_model"]["ground_truth"]["sql"]
        out.append(
            [
                f"<think>ok</think><answer>```sql\n{gold}\n```</answer>",
                "<think>ok</think><answer>```sql\nSELECT 1\n```</answer>",
                "<think>x</think><answer>```sql\nDROP TABLE employees; ATTACH 'x' AS y\n```</answer>",
                "no sql at all \x00",
            ][i % 4]
        )
    return out


@pytest.mark.parametrize("hook", ["compute_score", "compute_score_async"])
def test_reward_loop_manager_run_single(reward_config, prepared, tokenizer, hook):
    """verl 0.9's reward loop: run_single per sample, all of a batch at once (as RewardLoopWorker gathers them)."""
    import asyncio

    cfg, path = reward_config
    from verl.trainer.ppo.reward import load_reward_manager

    c = compose_ppo(
        reward_overrides(path, installed_verl_version(), hook_name=hook) + ["reward.reward_manager.name=naive"]
    )
    rm = load_reward_manager(c, tokenizer)
    assert rm.is_async_reward_score == (hook == "compute_score_async")
    rows = read_parquet(prepared["val"])[:4] * 2
    data = _data_proto(rows, _responses(rows), tokenizer)

    async def gathered():
        return await asyncio.gather(*(rm.run_single(data[i : i + 1]) for i in range(len(data))))

    items, batches = coalescer.items, coalescer.batches
    outs = rm.loop.run_until_complete(gathered())
    if hook == "compute_score_async":
        assert coalescer.items - items == len(data) and coalescer.batches - batches < len(data)
    keys = None
    for i, out in enumerate(outs):
        info = out["reward_extra_info"]
        direct = verl_hook.compute_score(
            "demo", _responses(rows)[i], rows[i]["reward_model"]["ground_truth"], {}, config=path
        )
        assert out["reward_score"] == pytest.approx(direct["score"])
        keys = keys or sorted(info)
        assert sorted(info) == keys
        assert all(isinstance(v, float) and math.isfinite(v) for v in info.values())
        assert info["acc"] == (1.0 if i % 4 == 0 else 0.0)


def test_legacy_naive_and_batch_managers(reward_config, prepared, tokenizer):
    _, path = reward_config
    from functools import partial

    from verl.workers.reward_manager import BatchRewardManager, NaiveRewardManager

    rows = read_parquet(prepared["val"])[:4] * 2
    data = _data_proto(rows, _responses(rows), tokenizer)
    naive = NaiveRewardManager(tokenizer, 0, partial(verl_hook.compute_score, config=path))
    out = naive(data, return_dict=True)
    scores = out["reward_tensor"].sum(-1)
    assert scores.shape == (len(rows),)
    assert list(out["reward_extra_info"]["acc"]) == [1.0, 0.0, 0.0, 0.0] * 2
    batch = BatchRewardManager(tokenizer, 0, verl_hook.compute_score_batch, config=path)
    out2 = batch(data, return_dict=True)
    assert torch.allclose(out2["reward_tensor"].sum(-1), scores)
    assert set(out2["reward_extra_info"]) == set(out["reward_extra_info"])


def _mixed_cases(demo_paths):
    good = {"sql": "SELECT count(*) FROM employees", "db_path": demo_paths["hr"]}
    return good, [
        ("<think>x</think><answer>```sql\nSELECT count(*) FROM employees\n```</answer>", good),
        ("SELECT count(*) FROM departments", good),
        ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM r) SELECT count(*) FROM r", good),
        ("SELECT randomblob(2000000000)", good),
        ("SELECT 1", None),
        ("SELECT 1", "not json {"),
        ("SELECT 1", json.dumps(good)),
        (None, good),
        ("SELECT 1", {"sql": "SELECT 1", "db_path": "/missing.sqlite"}),
        ("SELECT 1", {"sql": "SELECT 1", "db_id": "hr"}),
        ("SELECT 1", {"sql": "SELECT nope FROM employees", "db_path": demo_paths["hr"]}),
        (b"\xff\xfe", good),
        ("x" * 1_000_000, good),
    ]


def _no_timing(out):
    return {k: v for k, v in out.items() if k != "pred_time_ms"}


def test_mixed_batch_same_keys(reward_config, demo_paths):
    _, path = reward_config
    good, cases = _mixed_cases(demo_paths)
    outs = verl_hook.compute_score_batch(
        ["demo"] * len(cases), [c[0] for c in cases], [c[1] for c in cases], [{}] * len(cases), config=path
    )
    keys = sorted(outs[0])
    for o in outs:
        assert sorted(o) == keys
        assert all(isinstance(v, float) and math.isfinite(v) for v in o.values())
    assert [o["acc"] for o in outs][:2] == [1.0, 0.0]
    assert outs[2]["status_timeout"] == 1.0
    # The batch path gives what the per-sample hook gives (timings aside).
    singles = [verl_hook.compute_score("demo", c[0], c[1], {}, config=path) for c in cases]
    assert [_no_timing(o) for o in outs] == [_no_timing(o) for o in singles]
    assert verl_hook.compute_score_prime("demo", cases[0][0], good, {}) >= 1.0


def test_async_variant_scores_a_gathered_batch_together(reward_config, demo_paths, tmp_path):
    """verl's reward loop awaits compute_score_async per sample for a whole batch at once:
    the calls are scored as batches (one per configuration) with the per-sample results."""
    import asyncio

    _, path = reward_config
    _, cases = _mixed_cases(demo_paths)
    other = tmp_path / "sql_r1.yaml"
    dump_config(
        load_config(os.path.join(ROOT, "configs", "preset_sql_r1.yaml"), overrides=["execution.workers=1"], env=False),
        str(other),
    )
    configs = [path if i % 3 else str(other) for i in range(len(cases))]

    async def gathered():
        return await asyncio.gather(
            *(verl_hook.compute_score_async("demo", c[0], c[1], {}, config=cfg) for c, cfg in zip(cases, configs))
        )

    before = coalescer.batches
    outs = asyncio.run(gathered())
    assert coalescer.batches - before == 1  # one flush; two configurations inside it
    singles = [verl_hook.compute_score("demo", c[0], c[1], {}, config=cfg) for c, cfg in zip(cases, configs)]
    assert [_no_timing(o) for o in outs] == [_no_timing(o) for o in singles]
    assert outs[0]["acc"] == 1.0 and set(outs[0]) != set(outs[1])  # different presets, different keys


def test_rlhf_dataset_roundtrip(prepared, tokenizer):
    from omegaconf import OmegaConf

    RLHFDataset = require("verl.utils.dataset.rl_dataset").RLHFDataset
    cfg = OmegaConf.create(
        {
            "prompt_key": "prompt",
            "max_prompt_length": 4096,
            "filter_overlong_prompts": False,
            "truncation": "right",
            "return_raw_chat": True,
        }
    )
    ds = RLHFDataset(data_files=[prepared["val"]], tokenizer=tokenizer, config=cfg)
    item = ds[0]
    assert item["reward_model"]["ground_truth"]["sql"] and item["data_source"] == "demo"
    # verl 0.9 tokenizes in the agent loop; the raw chat must render with the tokenizer's template.
    chat = item.get("raw_prompt") or item.get("prompt")
    text = tokenizer.apply_chat_template(list(chat), tokenize=False, add_generation_prompt=True)
    assert "Question:" in text and text.endswith("assistant\n")


def test_launcher_print_writes_only_when_asked(tmp_path, capsys, monkeypatch):
    from extensions.integrations.verl.launch import main as launch

    monkeypatch.chdir(tmp_path)
    args = [
        "--config",
        os.path.join(ROOT, "configs", "train_24gb.yaml"),
        "--print",
        "--set",
        f"logging.output_dir={tmp_path / 'out'}",
    ]
    assert launch(args) == 0
    assert not (tmp_path / "out").exists()
    out, err = capsys.readouterr()
    assert "-m verl.trainer.main_ppo \\\n" in out and "reward_kwargs.config=" + os.path.join(ROOT, "configs") in out
    target = tmp_path / "cfg" / "reward.yaml"
    assert launch(args + ["--write-config", str(target)]) == 0
    out, err = capsys.readouterr()
    assert load_config(str(target), env=False).execution.workers == 0  # sized on the node, by the hook
    assert f"reward_kwargs.config={target}" in out and f"wrote the reward config the hook reads: {target}" in err


def test_printed_command_composes_and_its_hook_kwargs_build_the_same_reward(tmp_path, capsys, monkeypatch, demo_dir):
    """Without --write-config, verl's hydra accepts the printed command and the hook gets the --set values."""
    import shlex

    from extensions.integrations.verl.launch import main as launch

    monkeypatch.setenv("EXTENSIONS_DEMO_DIR", demo_dir)
    monkeypatch.setenv("EXTENSIONS__REWARD__SYNTAX_WEIGHT", "0.15")
    overrides = ["--set", "reward.schema_weight=-0.3", "--set", "optimization.lora.target_modules=[q_proj,v_proj]"]
    assert launch(["--config", os.path.join(ROOT, "configs", "train_24gb.yaml"), "--print", *overrides]) == 0
    argv = shlex.split(capsys.readouterr().out.replace("\\\n", " "))
    c = compose_ppo(argv[3:])
    kwargs = dict(c.reward.custom_reward_function.reward_kwargs)
    monkeypatch.delenv("EXTENSIONS__REWARD__SYNTAX_WEIGHT")  # the node does not see the launching shell's environment
    computer = verl_hook.get_computer(**kwargs)
    assert computer.schema_reward.weight == -0.3 and computer.syntax_weight == 0.15
    assert list(kwargs["overrides"])[-1] == "optimization.lora.target_modules=[q_proj,v_proj]"


def _engine_children(actor_title: str) -> dict[int, set[int]]:
    """``{actor pid: pids of its descendant processes}`` for the Ray actors.

    Only actors whose process title starts with ``actor_title`` are included.
    """
    import psutil

    out = {}
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if cmd.startswith(actor_title):
            out[p.info["pid"]] = {c.pid for c in p.children(recursive=True)}
    return out


@pytest.mark.slow
def test_ray_reward_loop_manager_two_workers(prepared, tokenizer, tmp_path):
    """verl 0.9's real Ray path: RewardLoopManager starts 2 RewardLoopWorker actors.

    Each actor scores its chunk with our hook.
    """
    ray = require("ray")
    psutil = require("psutil")
    from verl.experimental.reward_loop import RewardLoopManager
    from verl.experimental.reward_loop.reward_loop import migrate_legacy_reward_impl

    cfg = load_config(
        os.path.join(ROOT, "configs", "train_24gb.yaml"),
        env=False,
        overrides=[
            "execution.workers=1",
            "execution.inline_budget_ms=0",
            "verl.reward_num_workers=2",
            f"verl.train_files={prepared['train']}",
            f"verl.val_files={prepared['val']}",
        ],
    )
    path = str(tmp_path / "reward.yaml")
    dump_config(cfg, path)
    tok_dir = str(tmp_path / "tokenizer")
    tokenizer.save_pretrained(tok_dir)
    c = migrate_legacy_reward_impl(
        compose_ppo(build_overrides(cfg, path, installed_verl_version()) + [f"actor_rollout_ref.model.path={tok_dir}"])
    )
    rows = read_parquet(prepared["val"])[:4] * 2
    data = _data_proto(rows, _responses(rows), tokenizer)
    env_vars = {"PYTHONPATH": ROOT, "EXTENSIONS_DEMO_DIR": os.environ.get("EXTENSIONS_DEMO_DIR", "")}
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env_vars}, log_to_driver=False)
    try:
        manager = RewardLoopManager(c)
        out = manager.compute_rm_score(data)
        pools = _engine_children("ray::RewardLoopWorker")
    finally:
        ray.shutdown()
    direct = [
        verl_hook.compute_score("demo", text, r["reward_model"]["ground_truth"], {}, config=path)
        for r, text in zip(rows, _responses(rows))
    ]
    assert out.batch["rm_scores"].sum(-1).tolist() == pytest.approx([d["score"] for d in direct])
    assert set(out.meta_info["reward_extra_keys"]) == set(direct[0])
    assert list(out.non_tensor_batch["acc"]) == [d["acc"] for d in direct] == [1.0, 0.0, 0.0, 0.0] * 2
    assert len(pools) == 2 and all(pools.values())  # each actor started its own worker pool ...
    first, second = pools.values()
    assert not first & second  # ... of distinct processes
    _, alive = psutil.wait_procs(_processes(first | second), timeout=60)
    assert alive == []  # after ray.shutdown() no engine worker is left


def _processes(pids):
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.NoSuchProcess:  # already gone
            pass
    return out


def test_the_config_variable_is_read_on_every_call(monkeypatch):
    """``$EXTENSIONS_CONFIG`` set, changed, unset, or ``os.environ`` replaced: each call sees it as it is now."""
    import os

    from extensions.config import CONFIG_ENV
    from extensions.integrations import computers

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert computers.config_env() is None
    monkeypatch.setenv(CONFIG_ENV, "/x/a.yaml")
    assert computers.config_env() == "/x/a.yaml"
    assert computers.config_key({})[0] == "/x/a.yaml"
    monkeypatch.setenv(CONFIG_ENV, "/x/b.yaml")
    assert computers.config_key({})[0] == "/x/b.yaml"
    monkeypatch.setattr(os, "environ", {CONFIG_ENV: "/x/c.yaml"})
    assert computers.config_env() == "/x/c.yaml"


def test_the_config_key_follows_the_keywords_as_they_are_now(monkeypatch):
    """The last call's key is reused only for equal keywords: a list changed in place gives a new key."""
    from extensions.config import CONFIG_ENV
    from extensions.integrations import computers

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    overrides = ["reward.baseline=arctic"]
    kwargs = {"overrides": overrides}
    assert computers.config_key(kwargs, ("x",))[1] == ("reward.baseline=arctic",)
    overrides.append("reward.enable_enhanced=false")  # the same list object, changed
    assert computers.config_key(kwargs, ("x",))[1] == ("reward.baseline=arctic", "reward.enable_enhanced=false")
    assert computers.config_key({**kwargs, "db_root": "/d"}, ("x",))[2] == "/d"
    monkeypatch.setenv(CONFIG_ENV, "/x/a.yaml")
    assert computers.config_key(kwargs, ("x",))[0] == "/x/a.yaml"
    from extensions.errors import ConfigError

    with pytest.raises(ConfigError):
        computers.config_key({"overides": []}, ("x",))
