"""The surrogate's decision process: read the request, pick rewrite rules by intent, apply them, reply.

Intent comes from keywords in the system and user text outside code blocks (a leading ``Task:`` paragraph, the
task spec of the built-in prompts, is skipped so a spec that mentions "credentials" does not read as a
security
request). Each intent has a profile of probabilities over rule kinds; a prompt mixing intents mixes profiles.
Randomness comes only from a SHA-256 of (version, seed, temperature, messages), never Python's salted
``hash()``,
so the same request always gets the same reply, byte for byte. docs/surrogate.md documents the mapping.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence

from llmsde._ast_guard import AST_LOCK
from llmsde.providers.surrogate import rules_misc as misc
from llmsde.providers.surrogate._edit import Ctx, drop_unused_imports
from llmsde.providers.surrogate.rules_feature import add_feature
from llmsde.providers.surrogate.rules_security import SEC_DOWN, SEC_UP
from llmsde.providers.surrogate.rules_speed import SPEED_DOWN, SPEED_UP
from llmsde.types import ChatMessage

__all__ = ["INTENT_KEYWORDS", "KIND_RULES", "PROFILES", "VERSION", "read_intent", "surrogate_reply"]

VERSION = "1"

Rule = Callable[[str, Ctx, random.Random], "str | None"]

KIND_RULES: dict[str, tuple[Rule, ...]] = {
    "sec+": SEC_UP,
    "sec-": SEC_DOWN,
    "speed+": SPEED_UP,
    "speed-": SPEED_DOWN,
    "feat+": (add_feature,),
    "harden": misc.HARDEN,
    "simplify": misc.SIMPLIFY,
    "tidy": misc.TIDY,
    "regress": misc.REGRESS,
    "fix": misc.FIX,
    "corrupt": misc.CORRUPT,
}
"""Rule kinds and their rules; within a kind, an applicable rule is drawn uniformly."""

INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "security": (
        "secur",
        "vulnerab",
        "exploit",
        "injection",
        "sanitis",
        "sanitiz",
        "harden",
        "cwe",
        "attack",
        "unsafe",
        "insecure",
        "threat",
        "owasp",
        "bandit",
        "cve",
    ),
    "speed": (
        "efficien",
        "fast",
        "speed",
        "performance",
        "optimi",
        "latency",
        "leaner",
        "slow",
        "running time",
        "complexity",
        "memory",
        "throughput",
        "quick",
    ),
    "feature": (
        "feature",
        "capabilit",
        "option",
        "format",
        "extensib",
        "flexib",
        "configurab",
        "support more",
        "new function",
        "extend",
    ),
}
"""Intent -> keyword stems (matched case-insensitively as substrings of the instructions)."""

PROFILES: dict[str, dict[str, float]] = {
    "security": {
        "sec+": 0.58,
        "harden": 0.14,
        "fix": 0.08,
        "regress": 0.04,
        "speed-": 0.05,
        "simplify": 0.04,
        "tidy": 0.05,
        "sec-": 0.01,
        "corrupt": 0.01,
    },
    "speed": {
        "speed+": 0.28,
        "speed-": 0.13,
        "simplify": 0.10,
        "sec-": 0.09,
        "sec+": 0.03,
        "regress": 0.10,
        "fix": 0.10,
        "tidy": 0.12,
        "feat+": 0.03,
        "corrupt": 0.02,
    },
    "feature": {
        "feat+": 0.52,
        "sec-": 0.14,
        "speed-": 0.07,
        "harden": 0.04,
        "regress": 0.03,
        "fix": 0.10,
        "tidy": 0.08,
        "corrupt": 0.02,
    },
    "vague": {
        "tidy": 0.24,
        "sec+": 0.09,
        "sec-": 0.06,
        "speed+": 0.09,
        "speed-": 0.07,
        "feat+": 0.08,
        "harden": 0.07,
        "simplify": 0.08,
        "regress": 0.07,
        "fix": 0.13,
        "corrupt": 0.02,
    },
}
"""Intent -> probability of each rule kind per drawn edit."""

_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
_REPAIR_P = 0.85


def read_intent(text: str) -> dict[str, float]:
    """Weights over intents (summing to 1) from keyword hits; no hit at all means a vague request."""
    body = _FENCE.sub(" ", text).lower()
    body = re.sub(r"^(task|spec|problem):.*?(\n\s*\n|\Z)", " ", body, flags=re.S | re.M)
    hits = {k: sum(body.count(stem) for stem in stems) for k, stems in INTENT_KEYWORDS.items()}
    total = sum(hits.values())
    if total == 0:
        return {"vague": 1.0}
    return {k: v / total for k, v in hits.items() if v}


def _instructions_and_code(messages: Sequence[ChatMessage]) -> tuple[str, str | None]:
    instructions = " ".join(m.content for m in messages if m.role == "system")
    users = [m for m in messages if m.role == "user"]
    code = None
    if users:
        instructions += " " + users[-1].content
        blocks = _FENCE.findall(users[-1].content)
        code = max(blocks, key=len) if blocks else None
    if code is None:
        for m in reversed(messages):
            blocks = _FENCE.findall(m.content)
            if blocks:
                code = max(blocks, key=len)
                break
    return instructions, code


def _entry(tree: ast.Module, instructions: str) -> ast.FunctionDef | None:
    funcs = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    named = [f for f in funcs if re.search(rf"\b{re.escape(f.name)}\b", _FENCE.sub(" ", instructions))]
    if named:
        return named[0]
    public = [f for f in funcs if not f.name.startswith("_")]
    return public[-1] if public else (funcs[-1] if funcs else None)


def _rng(seed: int, temperature: float, messages: Sequence[ChatMessage]) -> random.Random:
    payload = json.dumps([VERSION, seed, round(temperature, 4), [[m.role, m.content] for m in messages]])
    return random.Random(int.from_bytes(hashlib.sha256(payload.encode()).digest()[:16], "big"))


def _kind_weights(intent: dict[str, float], temperature: float) -> dict[str, float]:
    weights: dict[str, float] = {}
    for name, share in intent.items():
        for kind, p in PROFILES[name].items():
            weights[kind] = weights.get(kind, 0.0) + share * p
    if temperature <= 0:
        top = max(weights, key=lambda k: weights[k])
        return {top: 1.0}
    return {k: w ** (1.0 / max(temperature, 0.05)) for k, w in weights.items()}


def _try_parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _edit(code: str, instructions: str, rng: random.Random, temperature: float) -> tuple[str, list[str]]:
    """Apply 1-3 rules drawn by intent; the tree is parsed once per version of the code."""
    applied: list[str] = []
    tree = _try_parse(code)
    if tree is None:
        fixed = misc.repair(code) if rng.random() < _REPAIR_P or temperature <= 0 else None
        return (fixed, ["repair"]) if fixed else (code, [])
    weights = _kind_weights(read_intent(instructions), temperature)
    n_edits = 1 if temperature <= 0 else rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
    for _ in range(n_edits):
        ctx = Ctx(tree=tree, entry=_entry(tree, instructions))
        tried: set[str] = set()
        while len(tried) < len(weights):
            kinds = [k for k in weights if k not in tried]
            kind = rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
            tried.add(kind)
            rules = list(KIND_RULES[kind])
            rng.shuffle(rules)
            for rule in rules:
                new = rule(code, ctx, rng)
                if new is None or new == code:
                    continue
                if kind == "corrupt":
                    applied.append(f"{kind}:{rule.__name__}")
                    return new, applied
                new_tree = _try_parse(new)
                if new_tree is None:
                    continue
                applied.append(f"{kind}:{rule.__name__}")
                cleaned = drop_unused_imports(new, new_tree)
                code, tree = (new, new_tree) if cleaned == new else (cleaned, ast.parse(cleaned))
                break
            else:
                continue
            break
    return code, applied


def surrogate_reply(messages: Sequence[ChatMessage], seed: int, temperature: float = 0.7) -> str:
    """The surrogate's reply to a chat request: a short note naming the edits, then the edited code.

    Pure and synchronous: the same (messages, seed, temperature) give the same text in any process.
    """
    instructions, code = _instructions_and_code(messages)
    rng = _rng(seed, temperature, messages)
    header = f"(llmsde surrogate v{VERSION}: an offline simulator that edits code by rules, not a language model.)"
    if code is None or not code.strip():
        return f"{header}\nI can only edit existing code, and the request contains none.\n"
    with AST_LOCK:
        edited, applied = _edit(code.rstrip() + "\n", instructions, rng, temperature)
    note = ", ".join(applied) if applied else "no applicable edit; code unchanged"
    return f"{header}\nEdits: {note}.\n\n```python\n{edited}```\n"
