"""Where data files are looked for: an ordered list of directories.

Default: `<cwd>/data`, `<cwd>/../shared/data`, then the same two beside the repository (the
directory holding the `backtest` package), de-duplicated in order. `BACKTEST_DATA_PATH`
(os.pathsep-separated) replaces the default; callers may pass an explicit list instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

ENV_VAR = "BACKTEST_DATA_PATH"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _dedupe(paths: Sequence[Path]) -> list[Path]:
    seen: set[Path] = set()
    out: list[Path] = []
    for p in paths:
        p = Path(os.path.normpath(Path(p).expanduser().absolute()))
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def default_search_path() -> list[Path]:
    """The directories searched for data files, in order (they need not exist)."""
    env = os.environ.get(ENV_VAR, "")
    entries = [e for e in env.split(os.pathsep) if e.strip()]
    if entries:
        return _dedupe([Path(e.strip()) for e in entries])
    cwd = Path.cwd()
    return _dedupe([cwd / "data", cwd / ".." / "shared" / "data",
                    REPO_ROOT / "data", REPO_ROOT / ".." / "shared" / "data"])


def resolve_search_path(search_path: Sequence[Path | str] | None) -> list[Path]:
    """An explicit list (relative entries against the cwd), or the default."""
    if search_path is None:
        return default_search_path()
    return _dedupe([Path(p) for p in search_path])


def find_file(candidates: Sequence[str], directories: Sequence[Path]) -> Path | None:
    """The first existing candidate: directories in order, candidates in order within each."""
    for directory in directories:
        for name in candidates:
            path = directory / name
            if path.is_file():
                return path
    return None
