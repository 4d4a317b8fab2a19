"""Pydantic models of a study's configuration, loaded from TOML and overridden by CLI flags.

Every model forbids unknown keys, so a typo is a one-line :class:`~llmsde.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmsde.errors import ConfigError

__all__ = [
    "FitConfig",
    "PriceConfig",
    "ProviderConfig",
    "SandboxConfig",
    "ScoringConfig",
    "StrategyConfig",
    "StudyConfig",
    "load_config",
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
    """``surrogate`` (offline simulator, the default) or ``openai`` (any OpenAI-compatible endpoint)."""
    model: str = "surrogate"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key; the key itself is never stored."""
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(2048, gt=0)
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


class SandboxConfig(_Strict):
    """Limits for every execution of candidate code."""

    cpu_s: float = Field(2.0, gt=0)
    wall_s: float = Field(5.0, gt=0)
    memory_mb: int = Field(512, ge=64)
    max_output_kb: int = Field(64, ge=1)
    max_procs: int = Field(32, ge=1)
    slots: int = Field(default=0, ge=0, le=64)
    """Warm fork servers (parallel executions); 0: one per CPU core, at most 4."""
    require_isolation: bool = False
    """Fail instead of warning when the machine cannot provide every isolation layer."""


class ScoringConfig(_Strict):
    """Weights and constants of the three scores (README section "Scores")."""

    severity_weights: dict[str, float] = Field(default_factory=lambda: {"LOW": 1.0, "MEDIUM": 3.0, "HIGH": 6.0})
    confidence_weights: dict[str, float] = Field(default_factory=lambda: {"LOW": 0.5, "MEDIUM": 0.8, "HIGH": 1.0})
    security_scale: float = Field(6.0, gt=0)
    """Weighted findings at which security has fallen to 10/e."""
    time_weight: float = Field(0.7, ge=0, le=1)
    """Share of the efficiency score given by run time; the rest comes from radon complexity."""
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
    """Options of ``llmsde fit``."""

    n_bootstrap: int = Field(1000, ge=0)
    ci_level: float = Field(0.95, gt=0, lt=1)
    folds: int = Field(5, ge=2)
    method: Literal["em", "exact"] = "em"
    seed: int = 0


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
    custom_strategies: dict[str, StrategyConfig] = Field(default_factory=dict, alias="strategy")
    """``[strategy.NAME]`` tables: new strategies, or new prompts for built-in ones."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


def _format_validation_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
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
