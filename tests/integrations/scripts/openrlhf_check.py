"""Run with OpenRLHF 0.11 on the path: read our JSONL and score through OpenRLHF's own loading code.

Usage: openrlhf_check.py TRAIN_JSONL. Prints one JSON line with what the test asserts.
"""

import asyncio
import json
import sys

import datasets
from openrlhf.datasets.prompts_dataset import preprocess_data
from openrlhf.utils.agent import SingleTurnAgentExecutor

import extensions.integrations.openrlhf as ours
from extensions.training.tiny import build_tokenizer


def main():
    rows = datasets.load_dataset("json", data_files=sys.argv[1], split="train")
    tok = build_tokenizer()
    executor = SingleTurnAgentExecutor(remote_rm_url=ours.__file__)  # loads reward_func by path, as OpenRLHF does
    out = {"loaded": executor.reward_func.__module__, "cases": []}
    for i, data in enumerate(rows.select(range(4))):
        prompt, label = preprocess_data(data, None, "prompt", "label", tok.apply_chat_template)
        gold = json.loads(label)["sql"]
        response = [
            f"<think>ok</think><answer>```sql\n{gold}\n```</answer>",
            "<think>ok</think><answer>```sql\nSELECT 1\n```</answer>",
            "<think>x</think><answer>```sql\nDROP TABLE employees\n```</answer>",
            "no sql \x00",
        ][i]
        query = prompt + response + "<|im_end|>"
        info = asyncio.run(executor._fetch_rewards_via_func([query], [prompt], [label]))[0]
        out["cases"].append(
            {
                "reward": info["rewards"].tolist(),
                "score": info["scores"].tolist(),
                "extra": {k: v.tolist() for k, v in info["extra_logs"].items()},
            }
        )
    bad = ours.reward_func(["x"], ["y"], [None])
    out["bad_label"] = {
        "reward": bad["rewards"].tolist(),
        "gold_error": bad["extra_logs"]["status_gold_error"].tolist(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
