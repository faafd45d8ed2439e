"""Every ```python block of README.md runs as written (#14.5), in a folder holding the shipped
example under the names the README uses (``hello.wav``, ``hello.txt``)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def test_the_readme_has_python_blocks_to_run():
    assert readme_blocks()  # the runner below has something to check


@pytest.mark.slow
@pytest.mark.parametrize("number", range(len(readme_blocks())))
def test_readme_python_block_runs_as_written(number, tmp_path, monkeypatch):
    for name in ("hello.wav", "hello.txt"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    code = readme_blocks()[number]
    exec(compile(code, f"README.md python block {number + 1}", "exec"), {"__name__": "readme"})
