"""Providers: who answers the chat messages. Looked up by name; SDK-backed providers import lazily."""

from __future__ import annotations

import importlib

from llmsde.config import ProviderConfig
from llmsde.errors import ConfigError
from llmsde.providers.base import EndpointUnavailable, Provider

__all__ = ["PROVIDERS", "EndpointUnavailable", "Provider", "make_provider"]

PROVIDERS: dict[str, str] = {
    "surrogate": "llmsde.providers.surrogate:SurrogateProvider",
    "openai": "llmsde.providers.openai_compat:OpenAIProvider",
    "local": "llmsde.providers.local:LocalProvider",
}
"""Provider name -> ``module:Class``; each class is built as ``Class(config, seed)``."""


def make_provider(config: ProviderConfig, seed: int) -> Provider:
    """Build the provider the config names; an unknown name is a ConfigError listing the known ones."""
    target = PROVIDERS.get(config.name)
    if target is None:
        raise ConfigError(f"unknown provider '{config.name}'", f"known providers: {', '.join(sorted(PROVIDERS))}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    provider: Provider = cls(config, seed)
    return provider
