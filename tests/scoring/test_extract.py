"""Code extraction from the many shapes of model replies."""

from __future__ import annotations

import ast

import pytest

from llmsde.scoring.extract import extract_code

PROGRAM = "def add(a, b):\n    return a + b\n"


def test_single_python_block_with_prose_around() -> None:
    reply = f"Here is a faster version:\n\n```python\n{PROGRAM}```\n\nIt avoids the loop."
    assert extract_code(reply, "add") == PROGRAM


def test_block_without_language_tag() -> None:
    assert extract_code(f"Sure.\n```\n{PROGRAM}```\n", "add") == PROGRAM


@pytest.mark.parametrize("opening", ["```py", "```Python3", "~~~python", "````python", "```python:add.py"])
def test_fence_variants(opening: str) -> None:
    closing = opening[0] * (4 if opening.startswith("````") else 3)
    assert extract_code(f"{opening}\n{PROGRAM}{closing}\n", "add") == PROGRAM


def test_indented_fence_inside_a_list_is_dedented() -> None:
    reply = "1. Replace the function:\n\n   ```python\n   def add(a, b):\n       return a + b\n   ```\n"
    assert extract_code(reply, "add") == PROGRAM


def test_block_defining_entry_point_wins_over_longer_helper_block() -> None:
    helper = "import math\n\n\ndef unrelated(x):\n    y = math.sqrt(x)\n    z = y * 2\n    return z + 1\n"
    reply = f"```python\n{helper}```\nand the solution:\n```python\n{PROGRAM}```\n"
    assert extract_code(reply, "add") == PROGRAM


def test_without_entry_point_the_longest_python_block_wins() -> None:
    short = "print(add(1, 2))\n"
    reply = f"```python\n{PROGRAM}```\nUsage:\n```python\n{short}```\n"
    assert extract_code(reply, "missing_name") == PROGRAM
    assert extract_code(reply, None) == PROGRAM


def test_several_blocks_defining_entry_point_take_the_longest() -> None:
    old = "def add(a, b):\n    return a+b\n"
    new = 'def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'
    reply = f"Before:\n```python\n{old}```\nAfter:\n```python\n{new}```"
    assert extract_code(reply, "add") == new


def test_non_python_blocks_are_ignored() -> None:
    reply = f"Run:\n```bash\npip install numpy && python -c 'import numpy'\n```\n```python\n{PROGRAM}```\n"
    assert extract_code(reply, "add") == PROGRAM
    shell_only = '```bash\nls -la /tmp\n```\n```json\n{"a": [1, 2, 3, 4, 5]}\n```'
    assert extract_code(shell_only, "add") is None


def test_python_inside_a_mislabelled_block_is_found() -> None:
    assert extract_code(f"```text\n{PROGRAM}```", "add") == PROGRAM


def test_unterminated_fence_runs_to_the_end() -> None:
    reply = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a -"
    code = extract_code(reply, "add")
    assert code is not None
    assert code.startswith("def add(a, b):") and code.endswith("return a -\n")


def test_bare_code_reply() -> None:
    assert extract_code(PROGRAM, "add") == PROGRAM
    assert extract_code("\n\n" + PROGRAM + "\n\n", "add") == PROGRAM


def test_bare_code_with_prose_before_and_after() -> None:
    reply = f"Here is the improved code:\n\n{PROGRAM}\nThis version is shorter and just as fast."
    assert extract_code(reply, "add") == PROGRAM


def test_bare_code_with_imports_and_decorator() -> None:
    program = "import functools\n\n\n@functools.cache\ndef add(a, b):\n    return a + b\n"
    assert extract_code(f"I changed it as follows.\n{program}\nDone!", "add") == program


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   \n",
        "Sure.",
        "I cannot help with that request.",
        "The code is already optimal; no change needed.",
    ],
)
def test_no_code_gives_none(reply: str) -> None:
    assert extract_code(reply, "add") is None


def test_think_section_is_dropped() -> None:
    draft = "def add(a, b):\n    # draft, very long, many words here to be the longest block\n    return 0\n"
    reply = f"<think>Let me draft:\n```python\n{draft}```\n</think>\nFinal:\n```python\n{PROGRAM}```"
    assert extract_code(reply, "add") == PROGRAM


def test_result_always_ends_with_single_newline_and_parses() -> None:
    code = extract_code("```python\n\n\ndef add(a, b):\n    return a + b\n\n\n\n```", "add")
    assert code == PROGRAM
    ast.parse(code)


def test_entry_point_as_assignment_counts_as_definition() -> None:
    lam = "add = lambda a, b: a + b\n"
    long_other = "def helper(values):\n    total = 0\n    for v in values:\n        total += v\n    return total\n"
    reply = f"```python\n{long_other}```\n```python\n{lam}```"
    assert extract_code(reply, "add") == lam
