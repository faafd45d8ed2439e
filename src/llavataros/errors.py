"""User-facing errors: a bad input is reported as one line naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user mistake (bad file, bad option). The CLI prints ``str(error)`` and exits with 2."""

    def __init__(self, source: str | Path | None, problem: str):
        self.source = None if source is None else str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)
