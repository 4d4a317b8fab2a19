"""Models as a study factor, without a run: the [[models]] config, the paired plan, the budget arithmetic and
the dry-run plan."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from llmsde.config import build_config, select_models
from llmsde.errors import BudgetExceeded, ConfigError
from llmsde.runner.budget import Budget, BudgetedProvider, budget_providers, message_tokens
from llmsde.runner.dryrun import plan_study
from llmsde.runner.plan import plan_sessions
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

TWO = {
    "provider": {"temperature": 0.5, "max_tokens": 900, "prices": {"prompt_per_mtok": 1.0}},
    "models": [{"label": "cold", "temperature": 0.2}, {"label": "hot", "temperature": 1.2, "prices": None}],
}


def test_models_inherit_unset_keys_from_provider() -> None:
    cfg = build_config(TWO)
    settings = cfg.model_providers()
    assert list(settings) == ["cold", "hot"]
    assert (settings["cold"].temperature, settings["hot"].temperature) == (0.2, 1.2)
    assert settings["cold"].max_tokens == settings["hot"].max_tokens == 900
    assert settings["cold"].prices is not None and settings["hot"].prices is None


def test_single_model_config_is_unchanged() -> None:
    cfg = build_config({"provider": {"temperature": 0.3}})
    assert cfg.models == [] and cfg.model_providers() == {"": cfg.provider}


@pytest.mark.parametrize(
    ("models", "fragment"),
    [
        ([{"label": "a/b"}], "no '/'"),
        ([{"label": "a", "temprature": 1.0}], "unknown key 'temprature'"),
        ([{"label": "a", "temperature": 5}], "'temperature'"),
        ([{"label": "a"}, {"label": "a"}], "unique"),
        ([{"temperature": 1.0}], "label"),
        ([{"label": "a", "extra": {"api_key": "sk-x"}}], "credential"),
    ],
)
def test_bad_models_table_is_one_config_error(models: list[dict[str, object]], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        build_config({"models": models})
    assert "\n" not in info.value.one_line()


def test_select_models_keeps_config_order_and_rejects_unknown_labels() -> None:
    cfg = build_config(TWO)
    assert [m.label for m in select_models(cfg, ["hot"]).models] == ["hot"]
    assert select_models(cfg, None) is cfg
    with pytest.raises(ConfigError, match="unknown model label 'warm'") as info:
        select_models(cfg, ["warm"])
    assert info.value.one_line().endswith("labels in the config: cold, hot")
    with pytest.raises(ConfigError, match=r"needs \[\[models\]\]"):
        select_models(build_config({}), ["cold"])


def test_plan_pairs_models_on_tasks_replicates_and_seeds() -> None:
    single = plan_sessions(["EF", "SF"], ["t1", "t2"], 3, 7)
    multi = plan_sessions(["EF", "SF"], ["t1", "t2"], 3, 7, ["a", "b"])
    assert [s.session_id for s in single][:2] == ["EF/t1/0", "SF/t1/0"]
    assert all(s.model == "" for s in single)
    assert len(multi) == 2 * len(single)
    for model in ("a", "b"):
        mine = [s for s in multi if s.model == model]
        assert [s.session_id for s in mine] == [f"{model}/{s.session_id}" for s in single]
        assert [(s.task_id, s.strategy, s.replicate, s.seed) for s in mine] == [
            (s.task_id, s.strategy, s.replicate, s.seed) for s in single
        ]
    assert [s.ordinal for s in multi] == list(range(len(multi)))
    with pytest.raises(ConfigError, match="must not repeat"):
        plan_sessions(["EF"], ["t1"], 1, 0, ["a", "a"])


class _Priced:
    """Answers with fixed usage and cost; records how many calls got through."""

    name = "priced"

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.calls = 0

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        self.calls += 1
        await asyncio.sleep(0)
        return Completion(text="ok", usage=Usage(100, 50), cost_usd=self.cost)

    async def aclose(self) -> None:
        return None


def test_budget_refuses_the_call_that_would_exceed_it_and_every_later_one() -> None:
    cfg = build_config({"provider": {"prices": {"prompt_per_mtok": 1000.0, "completion_per_mtok": 1000.0}}})
    inner = _Priced(cost=0.15)
    wrapped, budget = budget_providers(cfg.model_copy(update={"max_cost_usd": 0.5}), {"": inner}, 0.0)
    assert budget is not None
    provider = wrapped[""]
    msgs = [ChatMessage("user", "x" * 400)]  # 100 prompt tokens; reply estimate 0.5 * 1000 / 1e6 per token

    async def go() -> int:
        done = 0
        with pytest.raises(BudgetExceeded, match=r"budget reached: \$0\.4500 spent of \$0\.5000"):
            while True:
                await provider.complete(msgs, GenerationParams(model="m", max_tokens=50))
                done += 1
        with pytest.raises(BudgetExceeded):
            await provider.complete([ChatMessage("user", "")], GenerationParams(model="m", max_tokens=1))
        return done

    assert asyncio.run(go()) == inner.calls == 3
    assert budget.in_flight_usd == 0.0 and budget.spent_usd == pytest.approx(0.45)


def test_budget_counts_in_flight_estimates() -> None:
    budget = Budget(limit_usd=1.0, spent_usd=0.2)
    budget.reserve("a", 0.5)
    with pytest.raises(BudgetExceeded):
        budget.reserve("b", 0.31)  # 0.2 spent + 0.5 in flight + 0.31 > 1.0
    budget.settle("a", 0.5, Completion(text="", usage=Usage(1, 7), cost_usd=0.1))
    assert budget.spent_usd == pytest.approx(0.3) and budget.expected_reply("a", 99) == 7
    assert budget.expected_reply("b", 99) == 99


def test_budget_without_prices_is_a_config_error() -> None:
    cfg = build_config({**TWO, "max_cost_usd": 1.0})
    with pytest.raises(ConfigError, match="model 'hot' has none"):
        budget_providers(cfg, {"cold": _Priced(0.0), "hot": _Priced(0.0)}, 0.0)


def test_budgeted_provider_estimate_grows_with_the_prompt() -> None:
    cfg = build_config({"provider": {"prices": {"prompt_per_mtok": 1.0, "completion_per_mtok": 0.0}}})
    provider = BudgetedProvider(_Priced(0.0), Budget(1.0), "", cfg.provider.prices, None)  # type: ignore[arg-type]
    short, long = [ChatMessage("user", "x" * 40)], [ChatMessage("user", "x" * 4000)]
    assert message_tokens(long) == 1000
    assert provider.estimate_usd(long, 10) == pytest.approx(1000 / 1e6)
    assert provider.estimate_usd(short, 10) < provider.estimate_usd(long, 10)


def test_dry_run_plans_each_model_and_full_history_costs_more() -> None:
    base = {"sessions": 2, "iterations": 3, "strategies": ["SF", "EF"], "tasks": ["find_users", "parse_settings"]}
    cfg = build_config({**base, **TWO, "models": [*TWO["models"], {"label": "long", "history": "full"}]})
    plan = plan_study(cfg)
    by = {m.label: m for m in plan.models}
    assert list(by) == ["cold", "hot", "long"]
    for m in plan.models:
        assert (m.sessions, m.calls) == (4, 12)  # both tasks have seed code: iteration 0 makes no call
    assert by["cold"].est_prompt_tokens == by["hot"].est_prompt_tokens < by["long"].est_prompt_tokens
    assert by["cold"].est_cost_usd == pytest.approx(by["cold"].est_prompt_tokens / 1e6)
    assert by["hot"].est_cost_usd is None and plan.total.est_cost_usd is None
    assert plan.total.est_wall_s == max(m.est_wall_s for m in plan.models) > 0
    assert plan.total.calls == 36 and plan.total.est_prompt_tokens == sum(m.est_prompt_tokens for m in plan.models)
    data = plan.to_dict()
    assert set(data) == {"models", "total", "assumptions", "max_cost_usd", "over_budget"}
    assert data["over_budget"] is False  # no budget set
    assert {"label", "sessions", "calls", "est_prompt_tokens", "est_completion_tokens", "est_cost_usd"} <= set(
        data["models"][0]
    )
    cheap = cfg.model_copy(update={"models": cfg.models[:1], "max_cost_usd": 1e-6})
    assert plan_study(cheap).over_budget and not plan_study(cheap.model_copy(update={"max_cost_usd": 1.0})).over_budget
    fixed = plan_study(cfg.model_copy(update={"estimate": cfg.estimate.model_copy(update={"completion_tokens": 10})}))
    assert fixed.models[0].est_completion_tokens == 12 * 10


def test_shipped_models_config_loads_with_two_priced_models() -> None:
    from pathlib import Path

    from llmsde.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "models.toml")
    settings = cfg.model_providers()
    assert list(settings) == ["cold", "hot"] and all(p.prices is not None for p in settings.values())
    assert [p.temperature for p in settings.values()] == [0.2, 1.2]


def test_budgeted_provider_forwards_the_endpoint_concurrency_report() -> None:
    cfg = build_config({"provider": {"prices": {"prompt_per_mtok": 1.0, "completion_per_mtok": 0.0}}})

    class _Reporting(_Priced):
        def concurrency_report(self) -> dict[str, object]:
            return {"endpoint": "e", "settled": 2, "ceiling": 8}

    reporting = BudgetedProvider(_Reporting(0.0), Budget(1.0), "", cfg.provider.prices, None)  # type: ignore[arg-type]
    silent = BudgetedProvider(_Priced(0.0), Budget(1.0), "", cfg.provider.prices, None)  # type: ignore[arg-type]
    assert reporting.concurrency_report() == {"endpoint": "e", "settled": 2, "ceiling": 8}
    assert silent.concurrency_report() is None
