"""``sandbox.require_isolation`` / ``--require-isolation`` / ``--require-layers``: the layers that must be present.

Runs in every mode (``conftest.py``); what a real pool refuses depends on what this machine gives the mode.
"""

from __future__ import annotations

import pytest

from llmsde.config import ISOLATION_LAYERS, SandboxConfig, load_config
from llmsde.errors import ConfigError, SandboxError
from llmsde.sandbox import LAYERS, SandboxPool
from tests.cli_helpers import run_main


def pool_with(required: bool | list[str]) -> SandboxPool:
    return SandboxPool(SandboxConfig.model_validate({"slots": 1, "require_isolation": required}))


def test_layer_names_are_one_list() -> None:
    assert tuple(LAYERS) == ISOLATION_LAYERS


def test_config_accepts_true_false_or_a_list_in_report_order() -> None:
    assert SandboxConfig.model_validate({"require_isolation": True}).required_layers() == ISOLATION_LAYERS
    assert SandboxConfig.model_validate({}).required_layers() == ()
    chosen = SandboxConfig.model_validate({"require_isolation": ["seccomp", "netns"]})
    assert chosen.required_layers() == ("netns", "seccomp")


@pytest.mark.parametrize("value", [["netns", "firewall"], []], ids=["unknown", "empty"])
def test_bad_layer_lists_are_one_line_config_errors_naming_the_known_layers(value: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {"sandbox.require_isolation": value})
    line = info.value.one_line()
    assert "\n" not in line and "known layers: netns, private-tmp," in line
    assert ("'firewall'" in line) if value else ("empty" in line)


def test_cli_bad_layer_name_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["run", "--require-layers", "netns,nosuch", "--sessions", "1"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'nosuch'" in err and "memory-cgroup" in err


def test_requiring_what_this_mode_has_succeeds_and_what_it_lacks_fails(mode: str) -> None:
    with pool_with(["rlimits", "seccomp", "subreaper"]) as pool:
        have = [name for name, ok in pool.isolation.layers.items() if ok]
        lacking = [name for name, ok in pool.isolation.layers.items() if not ok]
    with pool_with(have):
        pass
    if mode == "root":
        assert lacking == []
        with pool_with(True):
            pass
        return
    assert "uid" in lacking and ("netns" in lacking) == (mode == "fallback")
    with pytest.raises(SandboxError) as info:
        pool_with(["seccomp", lacking[0]])
    line = info.value.one_line()
    assert f"missing {lacking[0]}" in line and "seccomp" in line.split("offers", 1)[1]
    with pytest.raises(SandboxError, match="missing"):
        pool_with(True)
