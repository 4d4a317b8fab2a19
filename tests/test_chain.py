"""The whole user path on the offline surrogate: run -> fit -> report -> check, as subprocesses, plus the HTML
report opened in a real headless Chromium (every figure decoded, no console error).

The browser part skips only when no chromium binary is found (install: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

PROBE = """<script>window.__errors=[];
window.addEventListener('error',function(e){
  window.__errors.push(String(e.message||(e.target&&e.target.tagName)||e.type));},true);
var __ce=console.error;console.error=function(){
  window.__errors.push('console.error: '+[].join.call(arguments,' '));__ce.apply(console,arguments);};
window.addEventListener('load',function(){
  var o=[].map.call(document.images,function(i){return [i.complete,i.naturalWidth,i.naturalHeight];});
  var p=document.createElement('pre');p.id='llmsde-probe';
  p.textContent=JSON.stringify({imgs:o,errors:window.__errors});document.body.appendChild(p);});
</script>"""
"""Injected into a copy of the page: records each image's decoded size and every error or console.error."""


def _llmsde(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "llmsde", *args], cwd=cwd, capture_output=True, text=True, timeout=240, env=env
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small surrogate study, fitted and reported; returns the run directory."""
    root = tmp_path_factory.mktemp("chain")
    res = _llmsde(
        "run",
        "--sessions",
        "5",
        "--iterations",
        "3",
        "--strategies",
        "SF,FF",
        "--out",
        str(root / "runs"),
        "--json",
        cwd=root,
    )
    assert res.returncode == 0, res.stderr
    run_dir = Path(json.loads(res.stdout)["run_dir"])
    res = _llmsde("fit", str(run_dir), "--bootstrap", "200", "--folds", "2", cwd=root)
    assert res.returncode == 0, res.stderr
    assert (run_dir / "fit.json").is_file()
    res = _llmsde("report", str(run_dir), cwd=root)
    assert res.returncode == 0, res.stderr
    return run_dir


def test_report_files(chain: Path) -> None:
    report = chain / "report"
    html = (report / "report.html").read_text(encoding="utf-8")
    md = (report / "report.md").read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 4
    assert "<script" not in html and "http://" not in html and "https://" not in html
    for name in ("trajectories", "phase_portraits", "interference", "eigenvalues"):
        png = report / "figures" / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG") and f"(figures/{name}.png)" in md
    assert "| SF |" in md and "| FF |" in md and "Tokens, cost and failures" in md


def test_check_exit_codes(chain: Path, tmp_path: Path) -> None:
    passing = tmp_path / "pass.toml"
    passing.write_text('[[rule]]\nmetric = "sigma.security"\nop = ">="\nvalue = 0\n', encoding="utf-8")
    failing = tmp_path / "fail.toml"
    failing.write_text(
        '[[rule]]\nmetric = "sigma.security"\nop = ">="\nvalue = 0\n'
        '[[rule]]\nname = "impossible"\nmetric = "rho"\nstrategy = "SF"\nop = ">"\nvalue = 50\n',
        encoding="utf-8",
    )
    invalid = tmp_path / "invalid.toml"
    invalid.write_text('[[rule]]\nmetric = "rho"\nstrategy = "ZZ"\nop = ">"\nvalue = 0\n', encoding="utf-8")

    ok = _llmsde("check", str(chain), "--rules", str(passing), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "all checks passed (2 of 2" in ok.stdout

    bad = _llmsde("check", str(chain / "fit.json"), "--rules", str(failing), cwd=tmp_path)
    assert bad.returncode == 1
    fail_lines = [ln for ln in bad.stdout.splitlines() if ln.startswith("FAIL")]
    assert len(fail_lines) == 1
    assert "impossible: rho > 50 [SF]: value " in fail_lines[0] and "threshold 50" in fail_lines[0]
    assert "Traceback" not in bad.stderr

    js = _llmsde("check", str(chain), "--rules", str(failing), "--json", cwd=tmp_path)
    assert js.returncode == 1
    assert json.loads(js.stdout)["n_failed"] == 1

    inv = _llmsde("check", str(chain), "--rules", str(invalid), cwd=tmp_path)
    assert inv.returncode == 2
    assert "unknown strategy 'ZZ'" in inv.stderr and "SF, FF" in inv.stderr and "Traceback" not in inv.stderr


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _probe(binary: str, page: Path, profile: Path) -> dict[str, Any]:
    probe_page = page.with_name(page.stem + ".probe.html")
    probe_page.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        probe_page.resolve().as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    start = res.stdout.index('<pre id="llmsde-probe">') + len('<pre id="llmsde-probe">')
    data: dict[str, Any] = json.loads(res.stdout[start : res.stdout.index("</pre>", start)])
    data["console"] = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    return data


def test_html_report_renders_in_headless_chromium(chain: Path, tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary found (apt-get install -y chromium)")
    result = _probe(binary, chain / "report" / "report.html", tmp_path / "profile")
    assert len(result["imgs"]) == 4
    for complete, width, height in result["imgs"]:
        assert complete and width > 300 and height > 300
    assert result["errors"] == [] and result["console"] == []

    broken = tmp_path / "broken.html"
    broken.write_text(
        '<html><head></head><body><img src="data:image/png;base64,iVBORw0KGgoAAAAbad">'
        '<script>console.error("x")</script></body></html>',
        encoding="utf-8",
    )
    control = _probe(binary, broken, tmp_path / "profile2")
    assert control["imgs"][0][1] == 0 and control["errors"], "the probe must see a broken image and an error"


def test_compare_two_runs_uses_independent_bootstraps(chain: Path, tmp_path: Path) -> None:
    res = _llmsde("compare", str(chain), str(chain), "--bootstrap", "30", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["mode"] == "bootstrap" and data["n_bootstrap"][0] > 0
    assert {d["strategy"] for d in data["differences"]} == {"SF", "FF"}
    assert all(d["diff"] == 0.0 for d in data["differences"] if d["diff"] is not None)
