"""``compare RUN --by model``: differences between the models of one run, per strategy and metric, with
paired bootstrap CIs.

The models of a run answer the same tasks with the same seeds (the plan leaves the model out of every seed), so
their estimates are not independent: a hard task drags every model down. Each resample therefore draws tasks
with replacement, per strategy, and takes *every model's* sessions of the drawn tasks; all models are refitted
on that one resample and the difference of their metrics is one draw. Task-to-task variation cancels in the
differences, so the CIs are narrower than two independent bootstraps would give (and honest about the
pairing). Metrics are those of ``compare A B`` (:data:`~llmsde.checks.compare.COMPARED_METRICS`), refitted by
the public estimator as in :mod:`llmsde.checks.resample`.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.checks.compare import COMPARED_METRICS, Comparison, Difference
from llmsde.checks.resample import _fit_points
from llmsde.errors import FitInputError

__all__ = ["ModelComparison", "compare_models_paired"]


@dataclass(frozen=True, slots=True)
class ModelComparison:
    """Every pair of models of one run (B minus A, in config order), per strategy and metric."""

    models: tuple[str, ...]
    pairs: tuple[Comparison, ...]
    """One :class:`Comparison` per pair (A the earlier model); its mode is ``paired_bootstrap``."""
    ci_level: float
    n_bootstrap: int
    n_valid: int
    """Resamples whose refit succeeded; the CIs rest on these."""

    @property
    def method_note(self) -> str:
        """How the CIs were made, in one sentence."""
        return (
            f"CIs from a paired task bootstrap ({self.n_valid} of {self.n_bootstrap} resamples valid): each "
            "resample draws tasks with replacement and refits every model on the same tasks; a difference is "
            "significant when its CI excludes 0."
        )

    def sentences(self) -> list[str]:
        """One plain-language line per significant difference, over all pairs."""
        return [s for pair in self.pairs for s in pair.sentences()]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``llmsde compare RUN --by model --json``)."""
        return {
            "by": "model",
            "models": list(self.models),
            "mode": "paired_bootstrap",
            "ci_level": self.ci_level,
            "n_bootstrap": self.n_bootstrap,
            "n_valid": self.n_valid,
            "method": self.method_note,
            "pairs": [
                {
                    "a": p.a_name,
                    "b": p.b_name,
                    "differences": [d.to_dict() for d in p.differences],
                    "significant": p.sentences(),
                }
                for p in self.pairs
            ],
            "significant": self.sentences(),
        }

    def to_markdown(self) -> str:
        """Significant differences first, then one table per pair."""
        lines = [f"# Comparison of models: {', '.join(self.models)}", "", self.method_note, "", "## Significant"]
        lines += [""] + ([f"- {s}" for s in self.sentences()] or ["- none: every CI of a difference includes 0."])
        for pair in self.pairs:
            lines += [
                "",
                f"## {pair.b_name} - {pair.a_name}",
                "",
                "| strategy | metric | A | B | B - A | CI | significant |",
                "|---|---|---:|---:|---:|---|:---:|",
            ]
            for d in pair.differences:
                ci = f"[{d.lo:+.3g}, {d.hi:+.3g}]" if math.isfinite(d.lo) and math.isfinite(d.hi) else "n/a"
                lines.append(
                    f"| {d.strategy} | {d.metric} | {d.a:.3g} | {d.b:.3g} | {d.diff:+.3g} | {ci} | "
                    f"{'yes' if d.significant else ''} |"
                )
        return "\n".join(lines) + "\n"


def compare_models_paired(
    x: NDArray[np.float64],
    models: Sequence[str],
    strategies: Sequence[str],
    tasks: Sequence[str],
    *,
    metrics: Sequence[str] = COMPARED_METRICS,
    n_bootstrap: int = 200,
    seed: int = 0,
    ci_level: float = 0.95,
) -> ModelComparison:
    """Paired differences between every pair of models, per strategy and metric.

    ``x`` has shape (n_sessions, n_steps, 3); ``models``, ``strategies`` and ``tasks`` give each session's
    model label, strategy and task id. Needs at least two models; the full-panel fit must succeed.
    """
    model_order = tuple(dict.fromkeys(models))
    if len(model_order) < 2:
        raise FitInputError(
            f"compare --by model needs a run with two or more models; this one has {len(model_order)}",
            "list several [[models]] in the study config, or compare two runs with `llmsde compare A B`",
        )
    labels = np.asarray([f"{m}/{s}" for m, s in zip(models, strategies, strict=True)])
    cells: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (m, s, t) in enumerate(zip(models, strategies, tasks, strict=True)):
        cells[(s, t)][m].append(i)
    strategy_order = tuple(dict.fromkeys(strategies))
    task_lists = {s: sorted({t for (s2, t) in cells if s2 == s}) for s in strategy_order}
    point, held = _fit_points(x, labels.tolist(), metrics, "em", "full", 2, seed)
    pairs = list(itertools.combinations(model_order, 2))
    draws: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    rng = np.random.default_rng(seed)
    n_valid = 0
    for b in range(n_bootstrap):
        idx: list[int] = []
        for s in strategy_order:
            for t in rng.choice(task_lists[s], size=len(task_lists[s]), replace=True):
                for m in model_order:
                    idx += cells[(s, str(t))].get(m, [])
        chosen = np.asarray(idx)
        try:
            values, held_b = _fit_points(x[chosen], labels[chosen].tolist(), metrics, "em", "full", 2, seed + b + 1)
        except FitInputError:
            continue
        n_valid += 1
        for (ma, mb), s in itertools.product(pairs, strategy_order):
            la, lb = f"{ma}/{s}", f"{mb}/{s}"
            if not all(lab in values and lab in held and held_b[lab] == held[lab] for lab in (la, lb)):
                continue
            for metric in metrics:
                draws[(ma, mb, s, metric)].append(values[lb][metric] - values[la][metric])
    alpha = (1.0 - ci_level) / 2.0
    out = []
    for ma, mb in pairs:
        diffs = []
        for s in strategy_order:
            la, lb = f"{ma}/{s}", f"{mb}/{s}"
            if la not in point or lb not in point:
                continue
            for metric in metrics:
                delta = np.asarray(draws.get((ma, mb, s, metric), []), dtype=np.float64)
                delta = delta[np.isfinite(delta)]
                lo, hi = (math.nan, math.nan)
                if delta.size >= 2:
                    lo, hi = (float(q) for q in np.quantile(delta, [alpha, 1.0 - alpha]))
                pa, pb = point[la][metric], point[lb][metric]
                diffs.append(Difference(s, metric, pa, pb, pb - pa, lo, hi))
        out.append(Comparison(ma, mb, "paired_bootstrap", ci_level, tuple(diffs)))
    return ModelComparison(model_order, tuple(out), ci_level, n_bootstrap, n_valid)
