"""Strategies: built-in prompts, deterministic paraphrases, custom strategies from config."""

from __future__ import annotations

import pytest

from llmsde.config import StrategyConfig, build_config
from llmsde.errors import ConfigError
from llmsde.tasks import BUILTIN_STRATEGIES, available_strategies, builtin_tasks, get_strategy

TASK = builtin_tasks()[0]
CODE = "def group_duplicates(files):\n    return {}\n"


@pytest.mark.parametrize("name", BUILTIN_STRATEGIES)
def test_builtin_messages_hold_spec_and_fenced_code(name: str) -> None:
    msgs = get_strategy(name).messages(TASK, CODE, k=0, seed=0)
    assert [m.role for m in msgs] == ["system", "user"]
    assert TASK.spec in msgs[-1].content
    assert f"```python\n{CODE}\n```" in msgs[-1].content


def test_builtin_prompts_differ_and_name_their_focus() -> None:
    texts = {n: get_strategy(n).messages(TASK, CODE, 0, 0)[-1].content.lower() for n in BUILTIN_STRATEGIES}
    assert len(set(texts.values())) == 4
    assert "efficiency" in texts["EF"] and "vulnerabilit" in texts["SF"] and "features" in texts["FF"]
    for word in ("efficien", "secur", "feature", "faster"):
        assert word not in texts["AI"]


def test_ai_paraphrase_is_deterministic_in_seed_and_k() -> None:
    ai = get_strategy("AI")
    assert len(ai.paraphrases) >= 3
    drawn = [ai.prompt(TASK, CODE, k, seed=7) for k in range(12)]
    assert drawn == [ai.prompt(TASK, CODE, k, seed=7) for k in range(12)]
    assert len(set(drawn)) >= 2


def test_custom_strategy_with_paraphrases_and_system() -> None:
    custom = {
        "LEAN": StrategyConfig(prompt="Shorten it: {spec} {code}\n---\nMake it shorter:\n{code}\n", system="Be terse.")
    }
    strat = get_strategy("LEAN", custom)
    assert len(strat.paraphrases) == 2 and strat.system == "Be terse."
    texts = {strat.prompt(TASK, CODE, k, 1) for k in range(10)}
    assert any("```python" in t and CODE in t for t in texts)
    assert available_strategies(custom) == [*BUILTIN_STRATEGIES, "LEAN"]


def test_config_replaces_a_builtin_prompt() -> None:
    cfg = build_config({"strategy": {"SF": {"prompt": "Find every vulnerability.\n{code}"}}})
    strat = get_strategy("SF", cfg.custom_strategies)
    assert strat.paraphrases == ("Find every vulnerability.\n{code}",)
    assert strat.system is not None and strat.description.startswith("security")
    assert available_strategies(cfg.custom_strategies) == list(BUILTIN_STRATEGIES)


def test_unknown_strategy_lists_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_strategy("XX")
    assert "EF, SF, FF, AI" in err.value.hint


def test_prompt_without_code_placeholder_is_rejected() -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        get_strategy("X", {"X": StrategyConfig(prompt="improve {spec}")})
