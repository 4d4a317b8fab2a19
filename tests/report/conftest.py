"""A fit of synthetic trajectories with known parameters (DESIGN.md's reference figures), shared by report tests."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from llmsde.dynamics import LinearSdeEstimator, SdeFit, reference_truth, simulate_panel


class Fitted(NamedTuple):
    fit: SdeFit
    x: np.ndarray
    labels: tuple[str, ...]


def make_fit(seed: int, sessions: int = 60, n_bootstrap: int = 200) -> Fitted:
    """Fit a synthetic panel drawn from the reference truth (EF, SF, FF, AI) with a given seed."""
    truth = reference_truth(iterations=10)
    x, labels = simulate_panel(truth, sessions, 10, np.random.default_rng(seed))
    fit = LinearSdeEstimator(n_bootstrap=n_bootstrap, folds=3, random_state=seed, compare_models=False).fit(x, labels)
    return Fitted(fit, x, labels)


@pytest.fixture(scope="session")
def reference_fit() -> Fitted:
    return make_fit(seed=1)
