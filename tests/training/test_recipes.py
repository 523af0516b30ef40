"""The recipes in configs/recipes.yaml: the numbers the docs and the ablations use, loud errors, --help defaults."""

from __future__ import annotations

import json
import pathlib

import pytest

from extensions.config import load_config
from extensions.errors import ConfigError
from extensions.training import ablation, cli
from extensions.training.recipes import RECIPES_FILE, load_recipes, recipes

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGED = ROOT / RECIPES_FILE


def test_the_packaged_recipes_hold_the_documented_numbers():
    r = recipes()
    demo = {k: (v.sft_steps, v.steps) for k, v in dict(r.demo).items()}
    assert demo == {"tiny": (400, 30), "smollm2": (40, 8), "multi_turn": (200, 30)}  # docs/training.md
    assert r.demo.smollm2.heldout == 64
    # docs/ablation.md; the Spider ablation in progress was planned with 30 GRPO and 60 SFT steps
    abl = {k: (v.steps, v.sft_steps, v.config) for k, v in dict(r.ablation).items()}
    assert abl == {
        "demo": (15, 50, "configs/demo_cpu.yaml"),
        "spider": (30, 60, "configs/spider_cpu.yaml"),
        "tiny": (20, 400, None),
    }
    assert r.ablation.tiny.overrides == ("optimization.batch_size=4", "grpo.num_generations=4")
    assert (r.tiny.max_response, dict(r.multi_turn_tiny)) == (
        64,
        {"max_response": 384, "tool_rows": 3, "tool_chars": 300},
    )


def test_the_sft_rules():
    cfg = load_config("configs/demo_cpu.yaml")  # GRPO lr 3e-5
    real, tiny, tools = (recipes().sft_rule(False), recipes().sft_rule(True), recipes().sft_rule(True, tools=True))
    assert (real.learning_rate(cfg), real.batch, real.cpu_micro_batch) == (3e-4, 8, 4)  # 10 x the GRPO rate
    spider = load_config("configs/spider_cpu.yaml")
    assert real.learning_rate(spider) == spider.optimization.sft_learning_rate == 3e-4  # the config's own wins
    assert (tiny.learning_rate(spider), tiny.batch) == (3e-3, 8)  # the tiny model's is fixed
    assert (tools.learning_rate(cfg), tools.batch) == (5e-3, 4)
    assert recipes().sft_rule(False, tools=True) is real


def _edited(tmp_path, old: str, new: str) -> pathlib.Path:
    text = PACKAGED.read_text()
    assert old in text
    path = tmp_path / "recipes.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_copy_of_the_packaged_file_loads_the_same():
    assert load_recipes(PACKAGED) == recipes()


@pytest.mark.parametrize(
    "old,new,needle",
    [
        (
            "tiny: {steps: 30, sft_steps: 400}",
            "tiny: {steps: 30, sft_step: 400}",
            "demo.tiny.sft_step: unknown key; did you mean sft_steps?",
        ),
        ("multi_turn_tiny:", "multi_turn_tine:", "multi_turn_tine: unknown key; did you mean multi_turn_tiny?"),
        (
            "lr_multiplier: 10,",
            "lr_multiplier: 10, lr: 1.0e-3,",
            "sft.real: Value error, give exactly one of lr and lr_multiplier",
        ),
        ("grpo.beta=0.02", "grpo.betta=0.02", "tiny.overrides: Value error, grpo.betta: unknown key"),
        (
            "{steps: 8, sft_steps: 40",
            "{steps: -8, sft_steps: 40",
            "demo.smollm2.steps: Input should be greater than or equal to 0",
        ),
    ],
)
def test_a_mistake_in_the_recipe_file_fails_loudly(tmp_path, old, new, needle):
    with pytest.raises(ConfigError) as exc:
        load_recipes(_edited(tmp_path, old, new))
    assert needle in str(exc.value) and str(exc.value).startswith(f"recipe file {tmp_path}")


def test_a_missing_recipe_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="recipe file not found"):
        load_recipes(tmp_path / "none.yaml")


def test_train_colab_help_shows_the_recipe_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    d = recipes().demo
    assert (
        f"{d.tiny.steps} for tiny, {d.smollm2.steps} for smollm2-135m, {d.multi_turn.steps} with --multi-turn" in text
    )
    sft = f"{d.tiny.sft_steps} for tiny, {d.smollm2.sft_steps} for smollm2-135m, {d.multi_turn.sft_steps} with"
    assert sft in text and f"(default: {d.smollm2.heldout} in the SmolLM2 demo" in text and RECIPES_FILE in text


def test_ablation_help_shows_the_recipe_defaults(capsys):
    with pytest.raises(SystemExit):
        ablation.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    a = recipes().ablation
    assert f"(default: {a.demo.steps}; --data spider {a.spider.steps}; tiny {a.tiny.steps})" in text
    assert f"(default: {a.demo.sft_steps}; --data spider {a.spider.sft_steps}; tiny {a.tiny.sft_steps})" in text
    assert f"(default: {a.demo.config}; --data spider {a.spider.config})" in text


@pytest.mark.parametrize("argv,steps,sft", [(["--data", "spider"], 30, 60), ([], 15, 50), (["--demo"], 20, 400)])
def test_the_ablation_plan_takes_its_defaults_from_the_recipes(capsys, argv, steps, sft):
    assert ablation.main(["--dry-run", *argv]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["steps"], plan["sft_warmup"]) == (steps, sft)
    shared = list(recipes().ablation.tiny.overrides) if "--demo" in argv else []
    assert plan["overrides"] == [*shared, "logging.save_every=100000"]


def test_the_tiny_model_gets_its_recipe_settings():
    args = cli.parse_args(["--demo", "--model", "tiny", "--config", "configs/demo_cpu.yaml"])
    cfg = cli.resolve_config(args)
    expected = load_config("configs/demo_cpu.yaml", overrides=list(recipes().tiny.overrides))
    assert cfg.optimization.learning_rate == expected.optimization.learning_rate == 3e-3
    assert (cfg.grpo.num_generations, cfg.grpo.beta, cfg.optimization.mixed_precision) == (8, 0.02, "no")


def test_the_docs_quote_the_recipes():
    def page(name: str) -> str:
        return " ".join((ROOT / "docs" / name).read_text().split())

    d, a, sizes = recipes().demo, recipes().ablation, recipes().multi_turn_tiny
    training, multi_turn, abl = page("training.md"), page("multi-turn.md"), page("ablation.md")
    assert f"`--sft-warmup {d.smollm2.sft_steps}`" in training and f"`--num-steps {d.smollm2.steps}`" in training
    assert f"`--heldout {d.smollm2.heldout}`" in training
    assert f"{d.tiny.sft_steps} SFT and {d.tiny.steps} GRPO steps" in training
    assert f"{d.multi_turn.sft_steps} steps by default with `--demo`" in multi_turn
    assert f"capped at {sizes.tool_rows} rows and {sizes.tool_chars} characters" in multi_turn
    assert f"cross-database ablation in [ablation.md](ablation.md) runs {a.spider.steps} steps per arm" in training
    assert f"SFT warm-up {a.spider.sft_steps} steps" in abl and f"then per arm {a.spider.steps} GRPO steps" in abl
    assert f"runs {d.smollm2.sft_steps} SFT steps and {d.smollm2.steps} GRPO steps" in abl
    assert f"runs {a.demo.sft_steps} and {a.demo.steps}." in abl
