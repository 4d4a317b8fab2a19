"""``CensoredSdeEstimator``: the Euler-Maruyama SDE with the [0, 10] bounds in its likelihood (``--model censored``).

Latent z_{k+1} = x_k + A x_k + b + e_k, e_k ~ N(0, Sigma); observed x_{k+1} = clip(z_{k+1}, 0, 10); the regressor
is the observed previous state. Estimation (documented and calibrated in docs/fit-bounded.md):

1. equation by equation, a two-sided Tobit of x_{k+1,j} on (x_k, 1) (:func:`llmsde.dynamics.tobit.tobit`) gives
   row j of Phi = I + A, b_j and sigma_j; each equation's marginal likelihood is exact, so this is consistent;
2. for each pair of objectives, the correlation of the noise maximises the bivariate censored likelihood of the
   pair with the two marginal fits fixed (a density when both are inside, density times a conditional normal
   probability when one is on a bound, a bivariate normal probability when both are); Sigma = D R D, with R
   moved to the nearest positive semi-definite correlation matrix if the pairwise values are not jointly one.

The full trivariate likelihood would need a trivariate normal probability per state with all three objectives on
bounds, per resample and per Newton step; the pairwise route needs only univariate and bivariate ones and is
what the calibration justifies. Uncertainty: the session bootstrap, vectorised (every resample is a row of
observation weights through the same Newton iterations, warm-started at the point estimate, which itself starts
from OLS). Broken states (``broken``) are removed first: only working -> working transitions enter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics import stability as stab
from llmsde.dynamics._censored_fit import BOUNDS, Data, estimate, held_out
from llmsde.dynamics._checks import check_panel, strategy_problem
from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics._held import fill_missing, find_held, held_json
from llmsde.dynamics._spectrum import half_life_estimate
from llmsde.dynamics.censored_results import CensoredFit, FirstPassage
from llmsde.dynamics.first_passage import LONG_HORIZON, data_shares, summarise_paths
from llmsde.dynamics.tobit import censor_codes
from llmsde.errors import FitInputError

Array = NDArray[np.float64]
OBJECTIVES = ("security", "efficiency", "functionality")
SIM_DRAWS = 200
"""Bootstrap draws simulated for the CIs of bound shares, long-run figures and first passage."""


class CensoredResult(NamedTuple):
    """Fits per strategy and the strategies that could not be fitted (-> why)."""

    strategies: dict[str, CensoredFit]
    skipped: dict[str, str]


class CensoredSdeEstimator:
    """Fit the censored SDE per strategy label, with session-bootstrap CIs (scikit-learn style contract).

    Parameters
    ----------
    n_bootstrap : int
        Session resamples (0: point estimates only).
    ci_level : float
        Nominal coverage of the percentile intervals.
    folds : int
        k of the k-fold by session for the held-out R^2 and log-likelihood.
    thresholds : sequence of 3 floats
        First-passage thresholds per objective (P(score <= threshold by k)).
    horizon : int or None
        Iterations of the first-passage curve (default: the panel's iterations).
    random_state : None, int or numpy.random.Generator
    simulate : bool
        Compute bound shares, long-run figures and first passage by simulation (off in calibration).
    """

    def __init__(
        self,
        n_bootstrap: int = 1000,
        ci_level: float = 0.95,
        folds: int = 5,
        thresholds: Sequence[float] = (5.0, 5.0, 5.0),
        horizon: int | None = None,
        random_state: int | np.random.Generator | None = None,
        simulate: bool = True,
    ) -> None:
        self.n_bootstrap = n_bootstrap
        self.ci_level = ci_level
        self.folds = folds
        self.thresholds = thresholds
        self.horizon = horizon
        self.random_state = random_state
        self.simulate = simulate

    def fit(self, x: Any, labels: Sequence[str], broken: Any = None) -> CensoredResult:
        """Fit every strategy; ``broken`` (n_sessions, n_steps) marks broken states, which are set aside."""
        arr, labs = check_panel(x, labels)
        n_boot, folds = self.n_bootstrap, self.folds
        if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
            raise FitInputError(f"n_bootstrap must be an integer >= 0; got {n_boot!r}", "e.g. --bootstrap 1000")
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise FitInputError(f"folds must be an integer >= 2; got {folds!r}", "e.g. --folds 5")
        if not 0.0 < float(self.ci_level) < 1.0:
            raise FitInputError(f"ci_level must be in (0, 1); got {self.ci_level!r}", "e.g. 0.95")
        thr = np.asarray(self.thresholds, dtype=np.float64)
        if thr.shape != (3,) or not np.isfinite(thr).all():
            raise FitInputError(f"thresholds must be 3 numbers; got {self.thresholds!r}", "e.g. --threshold 5,5,5")
        if broken is not None:
            mask = np.asarray(broken, dtype=bool)
            if mask.shape != arr.shape[:2]:
                raise FitInputError(f"broken must have shape {arr.shape[:2]}; got {mask.shape}", "one flag per state")
            arr = np.where(mask[..., None], np.nan, arr)
        rng = np.random.default_rng(self.random_state)
        fits: dict[str, CensoredFit] = {}
        skipped: dict[str, str] = {}
        for name in dict.fromkeys(labs):
            sel = np.array([lab == name for lab in labs])
            try:
                fits[name] = self._fit_one(name, arr[sel], thr, rng)
            except _Skip as why:
                skipped[name] = str(why)
        return CensoredResult(fits, skipped)

    def _fit_one(self, name: str, xs: Array, thr: Array, rng: np.random.Generator) -> CensoredFit:
        held = find_held(xs)
        if len(held) == 3:
            raise _Skip("every objective is constant or missing")
        mov = np.array([j for j in range(3) if j not in held], dtype=np.int64)
        work = fill_missing(xs, held)
        valid = np.isfinite(work[:, :-1]).all(axis=2) & np.isfinite(work[:, 1:]).all(axis=2)
        problem = strategy_problem(np.asarray(valid), len(mov) + 1)
        if problem is not None:
            raise _Skip(problem)
        s_idx, k_idx = np.nonzero(valid)
        prev = work[s_idx, k_idx]
        data = Data(np.c_[prev[:, mov], np.ones(len(s_idx))], work[s_idx, k_idx + 1], s_idx.astype(np.int64))
        for j in mov:
            codes = censor_codes(data.y[:, j], *BOUNDS)
            for code, bound in ((-1, "0"), (1, "10")):
                if (codes == code).all():
                    raise _Skip(
                        f"{OBJECTIVES[j]} is on {bound} after every transition: its latent drift is not identified "
                        f"(it is absorbed at {bound}); the linear fit describes the rest"
                    )
        n_sess = len(xs)
        n_boot = int(self.n_bootstrap)
        w_sess = np.vstack([np.ones(n_sess), _multinomial(n_sess, n_boot, rng)])
        phi, c, sig, ok = estimate(data, mov, w_sess[:, data.session])
        if not ok[0]:
            raise _Skip("the censored likelihood has no finite maximum (e.g. an objective almost always on a bound)")
        a = phi - np.eye(3)
        a, c, sig = _hold(a, c, sig, held)
        ok_b = ok[1:]
        notes: list[str] = []
        if n_boot and ok_b.mean() < 0.9:
            notes.append(f"only {int(ok_b.sum())}/{n_boot} bootstrap resamples converged")
        level = float(self.ci_level)

        def est(v: Array) -> Estimate:
            if not n_boot:
                return Estimate.point(v[0])
            draws = np.where(ok_b.reshape(-1, *([1] * (v.ndim - 1))), v[1:], np.nan)
            return Estimate.from_draws(v[0], draws, level)

        sub = (..., mov[:, None], mov[None, :])
        lam0 = stab.sorted_eigenvalues(a[0][sub[1:]])
        safe = np.where(ok[:, None, None], a[sub], -np.eye(len(mov)))
        lam = stab.matched_eigenvalues(safe, lam0)
        lam[0] = lam0
        eig = np.stack([lam.real, lam.imag], axis=-1)
        rates = stab.rates(lam)
        eq_m, eq_ok = stab.equilibrium(safe, np.where(ok[:, None], c[:, mov], 0.0))
        eq = np.full((len(ok), 3), np.nan)
        eq[:, mov] = np.where((eq_ok & ok)[:, None], eq_m, np.nan)
        for j, v in held.items():
            eq[:, j] = v
        absorbed = tuple("absorbed at 0" if e < BOUNDS[0] else "absorbed at 10" if e > BOUNDS[1] else "" for e in eq[0])
        sd = np.sqrt(np.clip(np.diagonal(sig, axis1=-2, axis2=-1), 0.0, None))
        firsts = _first_states(work)
        x0 = np.nanmean(firsts, axis=0)
        observed: NDArray[np.bool_] = np.asarray(np.isfinite(work).all(axis=2), dtype=bool)
        data_share = data_shares(np.where(observed[..., None], work, np.nan))
        sims = self._simulate(a, c, sig, ok, w_sess, firsts, observed, thr, work.shape[1], held, rng)
        r2, ll = held_out(data, mov, int(self.folds), rng)
        fp = tuple(
            FirstPassage(
                OBJECTIVES[j],
                float(thr[j]),
                est(sims.passage_by_k[:, j]),
                est(sims.expected_tau[:, j]),
                est(sims.reached[:, j]),
                sims.long_horizon,
            )
            for j in mov
        )
        return CensoredFit(
            label=name,
            n_sessions=int(np.asarray(valid, dtype=bool).any(axis=1).sum()),
            n_transitions=int(valid.sum()),
            A=est(a),
            b=est(c),
            Sigma=est(sig),
            sigma=est(sd),
            eigenvalues=est(eig),
            rho=est(rates.rho),
            half_life=half_life_estimate(est(rates.decay)),
            discrete_modulus=est(stab.discrete_modulus(lam, 1.0)),
            latent_equilibrium=est(eq),
            absorbed=absorbed,
            bound_share_data=tuple((float(p[0]), float(p[1])) for p in data_share),
            bound_share_model=est(sims.design_share),
            stationary_bound_share=est(sims.final_share),
            stationary_mean=est(sims.final_mean),
            r2_held_out=r2,
            loglik_held_out=ll,
            first_passage=fp,
            x0_mean=(float(x0[0]), float(x0[1]), float(x0[2])),
            held=held_json(held),
            notes=tuple(notes),
            bootstrap_valid=int(ok_b.sum()),
            bootstrap_total=n_boot,
        )

    def _simulate(
        self,
        a: Array,
        c: Array,
        sig: Array,
        ok: NDArray[np.bool_],
        w_sess: Array,
        firsts: Array,
        observed: NDArray[np.bool_],
        thr: Array,
        n_steps: int,
        held: dict[int, float],
        rng: np.random.Generator,
    ) -> _Sims:
        horizon = int(self.horizon) if self.horizon is not None else max(n_steps - 1, 1)
        idx = np.flatnonzero(ok)
        if not self.simulate:
            idx = idx[:1]
        draws = np.r_[0, rng.choice(idx[1:], size=min(SIM_DRAWS, len(idx) - 1), replace=False)] if len(idx) > 1 else idx
        keep = np.flatnonzero(np.isfinite(firsts).all(axis=1))
        picks = [np.repeat(keep, w_sess[d, keep].astype(np.int64)) for d in draws]
        pick = np.stack([np.resize(p, len(keep)) if len(p) else keep for p in picks])
        starts, obs = np.nan_to_num(firsts[pick]), observed[pick]
        ca, cc, cs = (np.nan_to_num(v[draws]) for v in (a, c, sig))
        point = summarise_paths(ca[:1], cc[:1], cs[:1], starts[:1], obs[:1], thr, horizon, 40, rng)
        rest = None
        if len(draws) > 1:
            rest = summarise_paths(ca[1:], cc[1:], cs[1:], starts[1:], obs[1:], thr, horizon, 5, rng)
        n_all = len(ok)
        out: list[Array] = []
        for field in point._fields:
            p = getattr(point, field)
            full = np.full((n_all, *p.shape[1:]), np.nan)
            full[0] = p[0]
            if rest is not None:
                full[draws[1:]] = getattr(rest, field)
            for j, v in held.items():
                if math.isnan(v):
                    full[:, j] = np.nan
            out.append(full)
        return _Sims(out[0], out[1], out[2], out[3], out[4], out[5], max(LONG_HORIZON, horizon))


class _Sims(NamedTuple):
    design_share: Array
    passage_by_k: Array
    expected_tau: Array
    reached: Array
    final_share: Array
    final_mean: Array
    long_horizon: int


class _Skip(Exception):
    """A strategy that cannot be fitted (the message says why)."""


def _multinomial(n: int, n_boot: int, rng: np.random.Generator) -> Array:
    if n_boot == 0:
        return np.zeros((0, n))
    draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def _first_states(x: Array) -> Array:
    ok = np.asarray(np.isfinite(x).all(axis=2), dtype=bool)
    first = x[np.arange(len(x)), ok.argmax(axis=1)].copy()
    first[~ok.any(axis=1)] = np.nan
    return np.asarray(first, dtype=np.float64)


def _hold(a: Array, c: Array, sig: Array, held: dict[int, float]) -> tuple[Array, Array, Array]:
    for j, v in held.items():
        fill = math.nan if math.isnan(v) else 0.0
        a[:, j, :] = a[:, :, j] = fill
        sig[:, j, :] = sig[:, :, j] = fill
        c[:, j] = fill
    return a, c, sig
