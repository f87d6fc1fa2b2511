"""Parquet cache: keyed by file content (+ parser options + version), atomic, self-healing."""

import shutil
import time

import pandas as pd
import pytest

from backtest.data import cache, kenfrench, load_returns
from backtest.errors import DataError
from tests.conftest import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "kenfrench" / "Portfolios_Formed_on_ME_Daily.CSV"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("BACKTEST_CACHE_DIR", str(path))
    return path


@pytest.fixture
def data_dir(tmp_path):
    """A private data directory holding the size fixture under the dataset's cleaned-CSV name."""
    root = tmp_path / "data"
    (root / "kenfrench").mkdir(parents=True)
    shutil.copy(FIXTURE, root / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv")
    return root


def _parquets(cache_dir):
    return sorted(cache_dir.glob("*.parquet"))


def _count_parses(monkeypatch):
    calls = []
    real = kenfrench.parse

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)
    monkeypatch.setattr(kenfrench, "parse", counting)
    return calls


def test_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKTEST_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "backtest"


def test_hit_returns_the_identical_frame_without_parsing(cache_dir, data_dir, monkeypatch):
    calls = _count_parses(monkeypatch)
    first = load_returns(["ff_size:Lo 30", "ff_size:Hi 30"], [data_dir])
    assert len(calls) == 1 and len(_parquets(cache_dir)) == 1
    second = load_returns(["ff_size:Lo 30", "ff_size:Hi 30"], [data_dir])
    assert len(calls) == 1  # served from the cache
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert second.index.dtype == first.index.dtype and second.index.name == "date"
    assert not list(cache_dir.glob(".tmp-*"))  # no temporary file left behind


def test_modified_file_gets_a_new_key(cache_dir, data_dir, monkeypatch):
    calls = _count_parses(monkeypatch)
    before = load_returns(["ff_size:Lo 30"], [data_dir])
    target = data_dir / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv"
    target.write_bytes(target.read_bytes().replace(b"   12.50,", b"   -5.00,"))
    after = load_returns(["ff_size:Lo 30"], [data_dir])
    assert len(calls) == 2 and len(_parquets(cache_dir)) == 2
    assert before.loc["1926-07-08", "ff_size:Lo 30"] == pytest.approx(0.125)
    assert after.loc["1926-07-08", "ff_size:Lo 30"] == pytest.approx(-0.05)


def test_real_file_copy_modified_invalidates(cache_dir, tmp_path, shared_data):
    (tmp_path / "etfs").mkdir()
    target = tmp_path / "etfs" / "SPY.csv"
    shutil.copy(shared_data / "etfs" / "SPY.csv", target)
    before = load_returns(["etf:SPY"], [tmp_path])
    with open(target, "a") as fh:
        fh.write("2026-08-24,800.0,801.0,799.0,800.5,1000\n")
    after = load_returns(["etf:SPY"], [tmp_path])
    assert len(after) == len(before) + 1
    assert after["etf:SPY"].iloc[-1] == pytest.approx(800.0 / 765.719970703125 - 1)
    pd.testing.assert_frame_equal(after.iloc[:-1], before)


def test_parser_options_and_version_are_part_of_the_key(cache_dir, monkeypatch):
    sha = cache.sha256_bytes(FIXTURE.read_bytes())
    keys = {cache.cache_key(sha, "kenfrench", {"block": None}), cache.cache_key(sha, "kenfrench", {"block": "equal"}),
            cache.cache_key(sha, "yahoo", {})}
    monkeypatch.setattr(cache, "PARSER_VERSION", cache.PARSER_VERSION + 1)
    keys.add(cache.cache_key(sha, "kenfrench", {"block": None}))
    assert len(keys) == 4
    vw = cache.cached_parse(FIXTURE, "kenfrench", {"block": None}, lambda b: kenfrench.parse(b, "f", None))
    ew = cache.cached_parse(FIXTURE, "kenfrench", {"block": "equal"}, lambda b: kenfrench.parse(b, "f", "equal"))
    assert vw.loc["1926-07-01", "Lo 30"] != ew.loc["1926-07-01", "Lo 30"] and len(_parquets(cache_dir)) == 2


@pytest.mark.parametrize("garbage", [b"", b"not parquet at all", b"PAR1\x00\x00PAR1"])
def test_corrupt_cache_file_is_ignored_and_rewritten(cache_dir, data_dir, monkeypatch, garbage):
    calls = _count_parses(monkeypatch)
    good = load_returns(["ff_size:Lo 30"], [data_dir])
    [entry] = _parquets(cache_dir)
    entry.write_bytes(garbage)
    again = load_returns(["ff_size:Lo 30"], [data_dir])
    pd.testing.assert_frame_equal(again, good)
    assert len(calls) == 2
    assert pd.read_parquet(entry).shape == (5, 4)  # rewritten whole
    load_returns(["ff_size:Lo 30"], [data_dir])
    assert len(calls) == 2


def test_unwritable_cache_only_warns(tmp_path, data_dir, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("BACKTEST_CACHE_DIR", str(blocker / "cache"))  # a directory under a file
    with pytest.warns(RuntimeWarning, match="data cache not written"):
        frame = load_returns(["ff_size:Lo 30"], [data_dir])
    assert len(frame) == 5


def test_parse_errors_are_not_cached(cache_dir, tmp_path):
    (tmp_path / "etfs").mkdir()
    (tmp_path / "etfs" / "IWM.csv").write_text("Date,Close\n2020-01-02,-1\n")
    for _ in range(2):
        with pytest.raises(DataError, match="IWM.csv: date 2020-01-02"):
            load_returns(["etf:IWM"], [tmp_path])
    assert not _parquets(cache_dir)


def test_second_load_of_all_size_columns_is_fast(cache_dir, shared_data):
    ids = [f"ff_size:{c}" for c in ["<= 0", "Lo 30", "Med 40", "Hi 30", "Lo 20", "Qnt 2", "Qnt 3", "Qnt 4", "Hi 20",
                                    "Lo 10", "2-Dec", "3-Dec", "4-Dec", "5-Dec", "6-Dec", "7-Dec", "8-Dec", "9-Dec", "Hi 10"]]
    t0 = time.perf_counter()
    cold = load_returns(ids, [shared_data])
    t1 = time.perf_counter()
    warm = load_returns(ids, [shared_data])
    t2 = time.perf_counter()
    pd.testing.assert_frame_equal(cold, warm, check_exact=True)
    assert (t2 - t1) < 0.5 and (t2 - t1) < (t1 - t0)


def test_manifest_hash_reuses_the_load_and_follows_a_changed_file(tmp_path, shared_data):
    """source_files after load_returns gives the same sha256 as hashing the bytes afresh, and a
    rewritten file gets its new hash (the per-process memo is keyed by size and mtime)."""
    import hashlib
    import os
    import shutil

    from backtest.data import load_returns, source_files

    data_dir = tmp_path / "data"
    (data_dir / "etfs").mkdir(parents=True)
    path = data_dir / "etfs" / "IWM.csv"
    shutil.copy(shared_data / "etfs" / "IWM.csv", path)
    load_returns(["etf:IWM"], [data_dir])
    assert source_files(["etf:IWM"], [data_dir]) == {str(path.resolve()): hashlib.sha256(path.read_bytes()).hexdigest()}
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    os.utime(path, ns=(1, 1))
    assert source_files(["etf:IWM"], [data_dir])[str(path.resolve())] == hashlib.sha256(path.read_bytes()).hexdigest()
