"""Config validation: unknown keys, bad values and credentials give one line, and never echo a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsde.config import build_config, load_config
from llmsde.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_and_dotted_overrides() -> None:
    cfg = load_config(None, {"sessions": 3, "provider.model": "m", "seed": None})
    assert cfg.sessions == 3 and cfg.provider.model == "m" and cfg.seed == 0


def test_unknown_key_names_it_and_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"sandbox": {"cpu_seconds": 1}})
    line = err.value.one_line()
    assert "unknown key 'sandbox.cpu_seconds'" in line and "cpu_s" in line and "\n" not in line


def test_out_of_range_value_names_key_and_value() -> None:
    with pytest.raises(ConfigError, match=r"'sessions'.*got 0"):
        build_config({"sessions": 0})


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"api_key": "sk-test-LEAKCHECK-1234"}, "provider.extra.api_key"),
        ({"extra_headers": {"Authorization": "Bearer sk-test-LEAKCHECK-1234"}}, "extra_headers.Authorization"),
    ],
)
def test_credentials_in_extra_are_refused_without_echoing_them(extra: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"provider": {"extra": extra}})
    line = err.value.one_line()
    assert path in line and "api_key_env" in line and "LEAKCHECK" not in line


def test_token_limits_in_extra_are_not_mistaken_for_credentials() -> None:
    cfg = build_config({"provider": {"extra": {"max_completion_tokens": 64, "stop": ["```"]}}})
    assert cfg.provider.extra["max_completion_tokens"] == 64


def test_bad_toml_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("sessions = [1,\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize("name", ["demo.toml", "paper.toml"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(ROOT / "configs" / name)
    assert cfg.strategies == ["EF", "SF", "FF", "AI"]
