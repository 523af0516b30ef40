"""``python -m extensions.data prepare --multi-turn``: the tool in the prompt, verl's tools_kwargs, no gold leak."""

from __future__ import annotations

from extensions.data.__main__ import main
from extensions.data.layout import read_parquet


def test_multi_turn_rows_name_the_tool_and_carry_tools_kwargs(tmp_path, capsys):
    assert (
        main(
            [
                "prepare",
                "--source",
                "demo",
                "--out",
                str(tmp_path),
                "--multi-turn",
                "--max-tool-calls",
                "3",
                "--max-examples",
                "4",
            ]
        )
        == 0
    )
    rows = read_parquet(str(tmp_path / "train.parquet"))
    assert len(rows) == 4
    for r in rows:
        system = r["prompt"][0]
        assert system["role"] == "system" and "`execute_sql(query)` up to 3 times" in system["content"]
        create = r["extra_info"]["tools_kwargs"]["execute_sql"]["create_kwargs"]
        gt = r["reward_model"]["ground_truth"]
        assert create == {"db_path": gt["db_path"], "db_id": gt["db_id"]} and r["agent_name"] == "tool_agent"
        assert gt["sql"] not in str(r["extra_info"]) and gt["sql"] not in str(r["prompt"])


def test_omnisql_prompts_get_a_system_message_and_single_turn_rows_are_unchanged(tmp_path):
    assert (
        main(
            [
                "prepare",
                "--source",
                "demo",
                "--out",
                str(tmp_path / "mt"),
                "--multi-turn",
                "--prompt-style",
                "omnisql",
                "--max-examples",
                "2",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "--source",
                "demo",
                "--out",
                str(tmp_path / "st"),
                "--prompt-style",
                "omnisql",
                "--max-examples",
                "2",
            ]
        )
        == 0
    )
    mt = read_parquet(str(tmp_path / "mt" / "train.parquet"))[0]
    st = read_parquet(str(tmp_path / "st" / "train.parquet"))[0]
    assert [m["role"] for m in mt["prompt"]] == ["system", "user"] and "up to 5 times" in mt["prompt"][0]["content"]
    assert mt["prompt"][1] == st["prompt"][0] and "tools_kwargs" not in st["extra_info"] and "agent_name" not in st
