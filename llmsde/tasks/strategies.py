"""Improvement strategies: how the model is asked to change the code at every iteration.

The four built-ins follow DESIGN.md section 2: ``EF`` (efficiency), ``SF`` (security), ``FF`` (features) and
``AI`` (an ambiguous "make it better", drawn from paraphrases so no single wording dominates). A config's
``[strategy.NAME]`` table adds a strategy or replaces a built-in's prompt. Only ``{spec}`` and ``{code}`` are
substituted (with ``str.replace``, so braces in code or prose need no escaping). A template without a fence
around ``{code}`` gets the code fenced, so the model always sees where the program starts and ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from llmsde.config import StrategyConfig
from llmsde.errors import ConfigError
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage

__all__ = ["BUILTIN_STRATEGIES", "Strategy", "available_strategies", "get_strategy"]

BUILTIN_STRATEGIES: tuple[str, ...] = ("EF", "SF", "FF", "AI")

_REPLY_FORMAT = "Reply with the complete program in a single ```python block."
_SYSTEM = "You are an experienced Python developer. You answer with complete, runnable Python code."

_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "EF": (
        "efficiency-focused: make the code faster and leaner",
        (
            "Task: {spec}\n\nImprove the efficiency of this code: reduce its running time and memory use "
            "(better algorithms and data structures, no repeated work) while keeping its behaviour.\n\n"
            "```python\n{code}\n```\n" + _REPLY_FORMAT,
        ),
    ),
    "SF": (
        "security-focused: find and fix vulnerabilities",
        (
            "Task: {spec}\n\nReview this code for security vulnerabilities (injection, unsafe "
            "deserialisation, use of eval or shell commands, weak cryptography, insecure randomness, "
            "unsafe temporary files, hard-coded secrets) and fix them while keeping its behaviour."
            "\n\n```python\n{code}\n```\n" + _REPLY_FORMAT,
        ),
    ),
    "FF": (
        "feature-focused: add capability such as more input formats or options",
        (
            "Task: {spec}\n\nAdd useful features to this code: support more input formats, add options and "
            "extensibility, make it more flexible for users, while keeping the existing behaviour as the "
            "default.\n\n```python\n{code}\n```\n" + _REPLY_FORMAT,
        ),
    ),
    "AI": (
        "ambiguous improvement: a vague request to make the code better",
        tuple(
            "Task: {spec}\n\n" + ask + "\n\n```python\n{code}\n```\n" + _REPLY_FORMAT
            for ask in (
                "Improve this code.",
                "Make this code better.",
                "Please make the following code better.",
                "Can you improve this code?",
                "Refine this code and give me a better version.",
            )
        ),
    ),
}
"""Built-in name -> (description, paraphrases). Wordings are ours; AI paraphrases avoid any focus keyword."""


@dataclass(frozen=True)
class Strategy:
    """A named way of asking for an improvement: one or more prompt paraphrases and an optional system
    prompt."""

    name: str
    description: str
    paraphrases: tuple[str, ...]
    system: str | None = None

    def prompt(self, task: Task, code: str, k: int, seed: int) -> str:
        """The user prompt for iteration ``k`` of the session with replicate ``seed``."""
        template = self.paraphrases[_pick(len(self.paraphrases), self.name, seed, k)]
        if "```" not in template:
            code = f"```python\n{code}\n```"
        return template.replace("{spec}", task.spec).replace("{code}", code)

    def messages(self, task: Task, code: str, k: int, seed: int) -> list[ChatMessage]:
        """System message (if any) plus one user message; the paraphrase is a pure function of (seed, k)."""
        out = [ChatMessage("system", self.system)] if self.system else []
        out.append(ChatMessage("user", self.prompt(task, code, k, seed)))
        return out


def _pick(n: int, name: str, seed: int, k: int) -> int:
    """A stable index in [0, n): sha256, not hash(), so it is the same in every process."""
    if n == 1:
        return 0
    digest = hashlib.sha256(f"{name}:{seed}:{k}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def _from_config(name: str, cfg: StrategyConfig, base: Strategy | None) -> Strategy:
    lines = cfg.prompt.splitlines()
    parts: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip() == "---":
            parts.append("\n".join(current).strip("\n"))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current).strip("\n"))
    paraphrases = tuple(p for p in parts if p.strip())
    if not paraphrases:
        raise ConfigError(f"strategy '{name}' has an empty prompt", "write the prompt text in [strategy.NAME] prompt")
    missing = [p for p in paraphrases if "{code}" not in p]
    if missing:
        raise ConfigError(
            f"strategy '{name}': a prompt has no {{code}} placeholder",
            "every paraphrase must contain {code} (and usually {spec}), where the current code goes",
        )
    description = cfg.description or (base.description if base else f"custom strategy {name}")
    system = cfg.system if cfg.system is not None else (base.system if base else None)
    return Strategy(name=name, description=description, paraphrases=paraphrases, system=system)


def available_strategies(custom: Mapping[str, StrategyConfig] | None = None) -> list[str]:
    """Built-in names first (in their fixed order), then custom ones in config order."""
    extra = [n for n in (custom or {}) if n not in BUILTIN_STRATEGIES]
    return [*BUILTIN_STRATEGIES, *extra]


def get_strategy(name: str, custom: Mapping[str, StrategyConfig] | None = None) -> Strategy:
    """The strategy called ``name``: a config entry overrides or extends the built-ins; unknown ->
    ConfigError."""
    base = None
    if name in _TEMPLATES:
        description, paraphrases = _TEMPLATES[name]
        base = Strategy(name=name, description=description, paraphrases=paraphrases, system=_SYSTEM)
    if custom and name in custom:
        return _from_config(name, custom[name], base)
    if base is None:
        known = ", ".join(available_strategies(custom))
        raise ConfigError(f"unknown strategy '{name}'", f"known strategies: {known}; or add a [strategy.{name}] table")
    return base
