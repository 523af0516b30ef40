"""The final answer of an episode and whether it is one: the same text on every stack."""

from __future__ import annotations

import pytest

from extensions.rewards.episode import final_answer, is_sql_answer

RESPONSE = "</tool_response>"


@pytest.mark.parametrize(
    "decoded",
    [
        f"{RESPONSE}\nassistant\nSELECT 1",  # verl, Qwen2.5 ChatML, skip_special_tokens=True
        f"{RESPONSE}<|im_end|>\n<|im_start|>assistant\nSELECT 1<|im_end|>",  # the special tokens kept
        f"{RESPONSE}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nSELECT 1<|eot_id|>",  # Llama 3
        f"{RESPONSE}<end_of_turn>\n<start_of_turn>model\nSELECT 1<end_of_turn>",  # Gemma
        f'{RESPONSE}\nassistant\nSELECT 1<tool_call>\n{{"name": "execute_sql"}}\n</tool_call>',  # a call left
    ],
)
def test_role_markers_and_unanswered_calls_are_not_part_of_the_answer(decoded):
    assert final_answer("<tool_call>{}</tool_call>\nuser\n<tool_response>\nx\n" + decoded) == "SELECT 1"


def test_an_empty_final_turn_is_empty_on_every_stack():
    assert final_answer(f"{RESPONSE}\nassistant\n") == ""
    assert final_answer([{"role": "assistant", "content": "", "tool_calls": [{"type": "function"}]}]) == ""
    assert final_answer([{"role": "assistant", "content": None}]) == ""


def test_reasoning_kept_apart_by_a_parser_is_put_back():
    m = {"role": "assistant", "content": "<answer>SELECT 1</answer>", "reasoning_content": "why"}
    assert final_answer([m]) == final_answer(f"{RESPONSE}\nassistant\n<think>why</think><answer>SELECT 1</answer>")


@pytest.mark.parametrize(
    "text,answer",
    [
        ("SELECT name FROM employees", True),
        ("WITH a AS (SELECT 1) SELECT * FROM a", True),
        ("DROP TABLE employees", True),  # a statement: an answer, scored as forbidden
        ("I do not know.", False),
        ("error: schema error (no such column: nme)", False),
        ("assistant", False),
        ("Sorry", False),
        ("", False),
        (None, False),
    ],
)
def test_an_answer_is_sql_only_when_it_parses_as_a_statement(text, answer):
    assert is_sql_answer(text) is answer
