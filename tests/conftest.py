"""Shared fixtures: where the real data lives, and skipping cleanly where it is absent."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets in ../shared/data; tests that need them skip where they are absent."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (see README: Data)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test session gets its own Parquet cache, so tests never read a stale one."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("BACKTEST_CACHE_DIR", str(cache))
