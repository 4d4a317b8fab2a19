"""Pydantic models of a study's configuration, loaded from TOML and overridden by CLI flags.

Every model forbids unknown keys, so a typo is a one-line :class:`~llmsde.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmsde.errors import ConfigError

__all__ = [
    "EstimateConfig",
    "ExecutorConfig",
    "ISOLATION_LAYERS",
    "FitConfig",
    "ModelConfig",
    "PriceConfig",
    "ProviderConfig",
    "SandboxConfig",
    "ScoringConfig",
    "StrategyConfig",
    "StudyConfig",
    "load_config",
    "select_models",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceConfig(_Strict):
    """Prices in US dollars per million tokens, used to record the cost of each call."""

    prompt_per_mtok: float = Field(0.0, ge=0)
    completion_per_mtok: float = Field(0.0, ge=0)


class ProviderConfig(_Strict):
    """Which model answers, and how the runner treats the endpoint."""

    name: str = "surrogate"
    """``surrogate`` (offline simulator, the default), ``openai`` (any OpenAI-compatible endpoint) or ``local``
    (a GGUF file that llmsde serves with llama.cpp for the run; extra ``[local]``)."""
    model: str = "surrogate"
    """The model name sent to the endpoint; for ``local``, the path of the ``.gguf`` file."""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key; the key itself is never stored."""
    temperature: Annotated[float, Field(ge=0, le=2)] | Literal["omit"] = 0.7
    """Sampling temperature; ``"omit"`` sends none, for models that accept only their default."""
    top_p: Annotated[float, Field(gt=0, le=1)] | Literal["omit"] = 1.0
    """Nucleus sampling; ``"omit"`` sends none, for models that accept only their default."""
    max_tokens: int = Field(2048, gt=0)
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Request field that carries ``max_tokens``; OpenAI's reasoning models want ``max_completion_tokens``."""
    preflight: bool = True
    """Before the run directory exists, one small call checks key, model and parameters (``--no-preflight``)."""
    ctx: int | None = Field(None, ge=256)
    """``local``: context window the llama.cpp server is started with (default 4096); history is trimmed to it."""
    threads: int | None = Field(None, ge=1)
    """``local``: CPU threads of the llama.cpp server (default: llama.cpp's, half the cores)."""
    startup_timeout_s: float = Field(120.0, gt=0)
    """``local``: how long the llama.cpp server may take to load the model and answer."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields passed to the endpoint unchanged. Must not hold credentials: the config is stored
    with the run, and keys are read only from the environment variable named by ``api_key_env``."""
    timeout_s: float = Field(60.0, gt=0)
    """Timeout of an attempt before any answer was seen, and the least it ever is; once answers arrive it grows to
    4x the slowest recent one (a busy server is waited for), doubling after each timeout in a row."""
    timeout_max_s: float = Field(600.0, gt=0)
    """Upper bound of the grown timeout."""
    max_retries: int = Field(5, ge=0, le=20)
    backoff_base_s: float = Field(0.5, gt=0)
    """First retry waits about this long; each further retry doubles it (with jitter), up to ``backoff_max_s``."""
    backoff_max_s: float = Field(30.0, gt=0)
    """Cap on one backoff wait, and on a server's ``Retry-After`` that llmsde honours."""
    max_in_flight: int = Field(64, ge=1)
    """Ceiling on requests in flight to the endpoint at once, whatever the runner's session concurrency."""
    adaptive: bool = True
    """Learn how many requests the endpoint serves at once (start at 1, grow while latency stays flat, back off
    on queueing, 429, 503 and timeouts); ``false`` sends up to the ceiling from the start."""
    breaker_failures: int = Field(8, ge=1)
    """Consecutive failed calls (after retries) that stop the run cleanly."""
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    prices: PriceConfig | None = None
    history: Literal["full", "last"] = "last"
    """``last``: each prompt holds only the current code; ``full``: the whole conversation so far."""
    max_context_tokens: int = Field(16000, gt=0)

    @field_validator("extra")
    @classmethod
    def _no_credentials_in_extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in _credential_keys(value):
            raise ValueError(
                f"provider.extra.{key} looks like a credential; the config is stored with the run, so put the "
                "key in the environment variable named by provider.api_key_env instead"
            )
        return value


_CREDENTIAL = re.compile(r"(?i)(api[_-]?key|secret|token|password|authorization|bearer)")


def _credential_keys(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of keys in a nested mapping whose names look like credentials (max_tokens is not one)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            if _CREDENTIAL.search(str(key)) and not str(key).lower().endswith(("_tokens", "tokens")):
                found.append(path)
            found += _credential_keys(inner, path + ".")
    return found


ISOLATION_LAYERS: tuple[str, ...] = (
    "netns", "private-tmp", "subreaper", "rlimits", "uid", "landlock", "landlock-net", "landlock-scope",
    "seccomp", "pids-cgroup", "memory-cgroup",
)  # fmt: skip
"""Every isolation layer the sandbox tries, in report order (docs/safety.md describes each)."""


_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ModelConfig(BaseModel):
    """One ``[[models]]`` table: a label plus any ``[provider]`` key; keys left unset come from ``[provider]``.

    The overrides are kept as given (not filled with defaults) so that ``[provider]`` stays the one place for
    shared settings; :meth:`StudyConfig.model_providers` merges and validates them.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    label: str
    """Names the model in session ids, fit labels (``LABEL/STRATEGY``), reports and ``--models``."""

    @field_validator("label")
    @classmethod
    def _plain_label(cls, value: str) -> str:
        if not _LABEL.match(value):
            raise ValueError(
                f"models.label {value!r} must be letters, digits, '_', '.' or '-' (no '/'), e.g. 'gpt4o-mini'"
            )
        return value

    def overrides(self) -> dict[str, Any]:
        """The ``[provider]`` keys this model sets."""
        return dict(self.model_extra or {})


class EstimateConfig(_Strict):
    """Assumptions of ``llmsde run --dry-run`` and of the ``--max-cost`` budget where nothing is measured yet."""

    completion_tokens: int | None = Field(None, gt=0)
    """Expected tokens per reply; None: the size of the code being refined (seed code) plus a short preamble."""
    latency_s: float = Field(5.0, ge=0)
    """Assumed seconds per model call, for the estimated wall time."""
    code_growth: float = Field(0.06, ge=0, le=1)
    """Assumed growth of the code per iteration (refined code gets longer: 6-8% per iteration measured with
    the surrogate); it enlarges both the replies and the prompts that carry the code back."""


class SandboxConfig(_Strict):
    """Limits for every execution of candidate code."""

    cpu_s: float = Field(2.0, gt=0)
    wall_s: float = Field(5.0, gt=0)
    memory_mb: int = Field(512, ge=64)
    max_output_kb: int = Field(64, ge=1)
    max_procs: int = Field(32, ge=1)
    slots: int = Field(default=0, ge=0, le=64)
    """Warm fork servers (parallel executions); 0: one per CPU core, at most 4."""
    require_isolation: bool | list[str] = False
    """Fail instead of warning when layers are missing: ``true`` for every layer, or a list of layer names
    (:data:`ISOLATION_LAYERS`, e.g. ``["netns", "private-tmp", "seccomp"]``)."""

    @field_validator("require_isolation")
    @classmethod
    def _known_layers(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            unknown = [name for name in value if name not in ISOLATION_LAYERS]
            if unknown or not value:
                what = f"unknown layer {unknown[0]!r}" if unknown else "empty list of layers"
                raise ValueError(
                    f"sandbox.require_isolation: {what}; known layers: {', '.join(ISOLATION_LAYERS)} "
                    "(or true for all of them)"
                )
        return value

    def required_layers(self) -> tuple[str, ...]:
        """The layers that must be present, in :data:`ISOLATION_LAYERS` order."""
        if self.require_isolation is True:
            return ISOLATION_LAYERS
        if self.require_isolation is False:
            return ()
        return tuple(name for name in ISOLATION_LAYERS if name in self.require_isolation)


class ScoringConfig(_Strict):
    """Weights and constants of the three scores (README section "Scores")."""

    severity_weights: dict[str, float] = Field(default_factory=lambda: {"LOW": 1.0, "MEDIUM": 3.0, "HIGH": 6.0})
    confidence_weights: dict[str, float] = Field(default_factory=lambda: {"LOW": 0.5, "MEDIUM": 0.8, "HIGH": 1.0})
    security_scale: float = Field(6.0, gt=0)
    """Weighted findings at which security has fallen to 10/e."""
    time_weight: float = Field(0.7, ge=0, le=1)
    """Share of the efficiency score given by run time; the rest comes from radon complexity."""
    cc_scale: float = Field(5.0, gt=0)
    """Mean cyclomatic complexity above 1 at which the complexity score has halved."""
    complexity_weight: float = Field(0.5, ge=0, le=1)
    """Share of the radon score given by cyclomatic complexity; the rest comes from the maintainability index."""
    reference_every: int = Field(1, ge=1)
    """Re-time the task's reference every N scores of that task; 1 (default): right after every candidate, so
    machine load cancels in the candidate/reference ratio."""
    timing_repeats: int = Field(5, ge=1)
    test_timeout_s: float = Field(2.0, gt=0)
    max_source_kb: int = Field(256, ge=1)


class StrategyConfig(_Strict):
    """A custom strategy, or a replacement prompt for a built-in one."""

    prompt: str
    """The user prompt; ``{spec}`` and ``{code}`` are filled in. Several paraphrases may be separated by a line
    holding only ``---``; one is drawn per iteration."""
    system: str | None = None
    description: str = ""


class FitConfig(_Strict):
    """Settings of the fit, stored with a run: ``llmsde fit``, ``report`` and ``compare`` of a run directory take
    them from its stored config, and their flags override them (docs/fit.md, "Settings")."""

    n_bootstrap: int = Field(1000, ge=0)
    """Session-bootstrap resamples of ``fit`` and ``report`` (``compare`` keeps its own ``--bootstrap``, since
    each of its resamples is a refit)."""
    ci_level: float = Field(0.95, gt=0, lt=1)
    folds: int = Field(5, ge=2)
    """k of the k-fold cross-validation by session (``report`` caps it by the smallest strategy)."""
    method: Literal["em", "exact"] = "em"
    model: str = "full"
    """``full``, ``diagonal`` or ``pooled`` (checked by the estimator, which knows every model)."""
    ci: str = "percentile"
    """Interval method: ``percentile``, ``basic`` or ``bca`` (checked by the estimator)."""
    seed: int = 0


class ExecutorConfig(_Strict):
    """Where scoring runs: in this process (``local``) or on Ray actors (``ray``); see docs/scale.md.

    Not part of what a study measures: the same seed gives the same trajectories on either executor, so
    ``--resume`` may pick another executor than the run started with.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = None
    """Ray cluster to join (``HOST:PORT`` or ``ray://HOST:PORT``); None: start a local Ray instance for the
    run and stop it afterwards."""
    workers: int = Field(0, ge=0)
    """Scoring actors; 0: one per CPU the cluster offers (one per local core when Ray is started here)."""
    cpus_per_worker: float = Field(1.0, gt=0)
    """CPUs Ray reserves for each actor (its sandbox runs one candidate at a time)."""
    in_flight_per_worker: int = Field(2, ge=1, le=16)
    """Scorings queued on one actor at once, so it never waits for the driver between two candidates."""
    runtime_env: dict[str, Any] = Field(default_factory=dict)
    """Ray runtime environment for the actors (e.g. ``pip``, ``env_vars``) when the nodes lack llmsde."""


class StudyConfig(_Strict):
    """A whole study: which tasks, strategies, model, and how many sessions of how many iterations."""

    name: str = "study"
    seed: int = 0
    sessions: int = Field(12, ge=1)
    """Sessions per strategy, spread over the selected tasks round-robin."""
    iterations: int = Field(8, ge=1)
    """Iterations T after iteration 0 (which scores the seed code)."""
    strategies: list[str] = Field(default_factory=lambda: ["EF", "SF", "FF", "AI"])
    tasks: list[str] = Field(default_factory=lambda: ["builtin"])
    """``builtin``, a directory of imported tasks, or individual task ids."""
    concurrency: int = Field(8, ge=1)
    out: str = "runs"
    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    fit: FitConfig = Field(default_factory=FitConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    custom_strategies: dict[str, StrategyConfig] = Field(default_factory=dict, alias="strategy")
    """``[strategy.NAME]`` tables: new strategies, or new prompts for built-in ones."""
    models: list[ModelConfig] = Field(default_factory=list)
    """``[[models]]`` tables: the model becomes a factor of the study; empty: ``[provider]`` alone answers."""
    max_cost_usd: float | None = Field(None, gt=0)
    """Budget for the whole run (all invocations): no call starts that would take the spend above it."""
    estimate: EstimateConfig = Field(default_factory=EstimateConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _models_resolve(self) -> StudyConfig:
        labels = [m.label for m in self.models]
        if len(set(labels)) != len(labels):
            raise ValueError(f"models: labels must be unique; got {', '.join(labels)}")
        self.model_providers()
        return self

    def model_providers(self) -> dict[str, ProviderConfig]:
        """Label -> the model's full provider settings; ``{"": provider}`` for a single-model study."""
        if not self.models:
            return {"": self.provider}
        base = self.provider.model_dump()
        out: dict[str, ProviderConfig] = {}
        for m in self.models:
            extra = m.overrides()
            unknown = sorted(set(extra) - set(ProviderConfig.model_fields))
            if unknown:
                valid = ", ".join(["label", *sorted(ProviderConfig.model_fields)])
                raise ValueError(f"models '{m.label}': unknown key '{unknown[0]}' (valid keys: {valid})")
            try:
                out[m.label] = ProviderConfig.model_validate({**base, **extra})
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"] if not _UNION_MEMBER.match(str(p)))
                msg = str(first["msg"]).removeprefix("Value error, ")
                raise ValueError(f"models '{m.label}': '{where}': {msg} (got {first.get('input')!r})") from None
        return out


def select_models(config: StudyConfig, labels: list[str] | None) -> StudyConfig:
    """The config with only the ``[[models]]`` named in ``labels`` (in config order); None keeps them all."""
    if labels is None:
        return config
    known = [m.label for m in config.models]
    if not known:
        raise ConfigError("--models needs [[models]] tables in the config", "add [[models]] tables, or drop --models")
    unknown = [name for name in labels if name not in known]
    if unknown:
        raise ConfigError(f"unknown model label '{unknown[0]}'", f"labels in the config: {', '.join(known)}")
    return config.model_copy(update={"models": [m for m in config.models if m.label in labels]})


def _valid_keys(parent: tuple[int | str, ...]) -> str:
    """`` (valid keys: a, b, ...)`` for the table at ``parent``, so a typo's message lists the choices."""
    import typing

    model: Any = StudyConfig
    skip_key = False
    for part in parent:
        if skip_key:
            skip_key = False
            continue
        info = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if info is None:
            return ""
        ann = info.annotation
        args = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        if typing.get_origin(ann) is dict and args:
            model, skip_key = args[-1], True
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif args:
            model = args[0]
        else:
            return ""
    names = sorted(f.alias or n for n, f in model.model_fields.items())
    return f" (valid keys: {', '.join(names)})"


_UNION_MEMBER = re.compile(r"^(constrained-\w+|literal\[.*\])$")
"""Pydantic's names for the members of a union (``temperature = 0.7 | "omit"``), left out of key paths."""


def _format_validation_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if not _UNION_MEMBER.match(str(p))) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{where}'{_valid_keys(tuple(first['loc'][:-1]))}"
    if first["type"] == "value_error":
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{source}: {message}"
    return f"{source}: '{where}': {first['msg']} (got {first.get('input')!r})"


def build_config(data: dict[str, Any], source: str = "config") -> StudyConfig:
    """Validate a mapping into a :class:`StudyConfig`, turning pydantic's report into one line."""
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source), "see configs/demo.toml for every valid key") from None


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> StudyConfig:
    """Read a TOML config (None: the defaults) and apply flag overrides given as dotted keys.

    ``overrides`` maps e.g. ``"sessions"`` or ``"provider.model"`` to values; None values are ignored.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}", "pass an existing .toml file, e.g. configs/demo.toml")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{p} is not valid TOML: {err}", "fix the syntax of the file") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return build_config(data, source)
