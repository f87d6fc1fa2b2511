"""User catalogs: a config's `data: {catalog: ...}` naming files of one's own, in each vendor's
layout (all made here), read with the built-in datasets' guarantees. Every value is checked
against a plain reading of the text written (csv module, float(), a loop)."""

import csv
import functools
import hashlib
import http.server
import io
import json
import math
import threading
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import backtest
from backtest import data
from backtest.cli import main
from backtest.config import load_config, validate
from backtest.data import cache, load_returns, returns_csv, yahoo
from backtest.data.catalog import catalog, check_series_id, list_datasets, source_files
from backtest.data.fetch import fetch
from backtest.data.validate import validate as validate_data
from backtest.errors import ConfigError, DataError, StrategyError
from backtest.pipeline import run_backtest

# -------------------------------------------------------------------- the vendors' layouts, made here

# another vendor's adjusted history, as ../shared/data/etfs_total_return/ has it: lower case, CRLF
LOWER_CRLF = ("date,open,high,low,close,volume\r\n"
              "2024-01-02,99.5,100.5,99.0,100.0,1000.0\r\n"
              "2024-01-03,100.0,102.0,99.8,101.5,1100.0\r\n"
              "2024-01-04,101.0,101.2,99.1,99.47,900.0\r\n"
              "2024-01-05,99.5,100.3,99.2,100.0,950.0\r\n")
LOWER_CRLF_CLOSES = [100.0, 101.5, 99.47, 100.0]
LOWER_CRLF_OPENS = [99.5, 100.0, 101.0, 99.5]

# Yahoo's web table export: byte-order mark, CRLF, newest first, quoted thousands, event rows,
# no final newline
WEB_EXPORT = ('\ufeffDate,Open,High,Low,Close,Adj Close,Volume\r\n'
              '"Jan 5, 2024",181.99,182.76,180.17,181.18,180.5,"62,303,300"\r\n'
              '"Jan 4, 2024",182.15,183.09,180.88,181.91,181.2,"71,983,600"\r\n'
              '"Jan 4, 2024",0.24 Dividend,,,,,\r\n'
              '"Jan 3, 2024",184.22,185.88,183.43,184.25,183.6,"58,414,500"\r\n'
              '"Jan 2, 2024",187.15,188.44,183.89,185.64,185.0,"82,488,700"')
WEB_EXPORT_ADJ = [185.0, 183.6, 181.2, 180.5]  # oldest first

# Alpha Vantage's daily adjusted CSV: `timestamp`, newest first, an adjusted close column
TIMESTAMP = ("timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n"
             "2024-01-05,10.4,10.6,10.3,10.5,10.45,100,0.0000,1.0\n"
             "2024-01-04,10.1,10.5,10.0,10.4,10.35,100,0.0500,1.0\n"
             "2024-01-03,10.0,10.2,9.9,10.1,10.0,100,0.0000,1.0\n")

# the Ken French library's original download: preamble, titled blocks, monthly-free, CRLF, footer
KF_ORIGINAL = "\r\n".join([
    "This file was created by CMPT_ME_RETS_DAILY using the 202505 CRSP database.",
    "Missing data are indicated by -99.99 or -999.",
    "",
    "  Value Weighted Returns -- Daily",
    ",Lo 30,Med 40 ,Hi 30",
    "19260701,    0.38,   -0.14,    0.13",
    "19260702,   -0.10,    0.36,    0.48",
    "19260706,   -0.03,  -99.99,    0.16",
    "19260707,   -0.22,    0.10,    0.24",
    "",
    "  Equal Weighted Returns -- Daily",
    ",Lo 30,Med 40 ,Hi 30",
    "19260701,    1.01,    0.50,    0.25",
    "19260702,   -0.75,    0.20,    0.40",
    "19260706,    0.33,    0.05,    0.11",
    "19260707,   -0.60,   -0.02,    0.07",
    "",
    "  Number of Firms in Portfolios",
    ",Lo 30,Med 40 ,Hi 30",
    "19260701,     150,     200,     150",
    "19260702,     150,     200,     150",
    "19260706,     150,     200,     150",
    "19260707,     151,     199,     150",
    "",
    "Copyright 2025 Kenneth R. French",
    ""])

# a CSV of returns in percent: an empty field and a declared sentinel are missing
RETURNS_PERCENT = ("Date,Fund A,Fund B\n"
                   "2024-01-02,0.50,-1.25\n"
                   "2024-01-03,1.00,\n"
                   "2024-01-04,-99.99,0.75\n"
                   "2024-01-05,0.25,0.10\n")


def _plain_returns(prices):
    """r_t = p_t / p_{t-1} - 1 by a loop; the first is NaN (no previous price)."""
    out = [math.nan]
    for before, after in zip(prices[:-1], prices[1:]):
        out.append(after / before - 1)
    return out


def _plain_column(text: str, name: str, unit=100.0, missing=()):
    """A column of a returns CSV by the csv module and float()."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return [math.nan if r[name] == "" or float(r[name]) in missing else float(r[name]) / unit for r in rows]


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text.encode())
    return buffer.getvalue()


CATALOG = {
    "mytech": {"kind": "prices", "returns": "total", "symbols": {
        "IWM": {"file": "files/IWM.csv"},
        "XLK": {"file": "files/XLK.csv"},
        "AV": {"file": "files/av.csv"},
        "IWMOPEN": {"file": "files/IWM.csv", "column": "open"},
    }},
    "size": {"kind": "kenfrench", "returns": "total", "file": "files/Portfolios_Formed_on_ME_Daily_CSV.zip"},
    "size_ew": {"kind": "kenfrench", "returns": "total", "file": "files/Portfolios_Formed_on_ME_Daily_CSV.zip",
                "block": "equal"},
    "myreturns": {"kind": "returns", "returns": "total", "file": "files/my_returns.csv", "unit": "percent",
                  "missing": [-99.99]},
}


@pytest.fixture
def user_dir(tmp_path):
    """tmp/user: my_data.yaml (CATALOG) and files/ in each vendor's layout."""
    root = tmp_path / "user"
    files = root / "files"
    files.mkdir(parents=True)
    (files / "IWM.csv").write_bytes(LOWER_CRLF.encode())
    (files / "XLK.csv").write_bytes(WEB_EXPORT.encode("utf-8"))
    (files / "av.csv").write_text(TIMESTAMP)
    (files / "Portfolios_Formed_on_ME_Daily_CSV.zip").write_bytes(_zip("Portfolios_Formed_on_ME_Daily.CSV", KF_ORIGINAL))
    (files / "my_returns.csv").write_text(RETURNS_PERCENT)
    (root / "my_data.yaml").write_text(yaml.safe_dump(CATALOG, sort_keys=False))
    return root


def _load(user_dir, ids, period=None):
    return load_returns(ids, [user_dir / "no_data_here"], period, [user_dir / "my_data.yaml"])


# -------------------------------------------------------------------- each layout, value by value


def test_the_vendor_files_really_have_their_forms(user_dir):
    raw = (user_dir / "files" / "IWM.csv").read_bytes()
    assert raw.startswith(b"date,open,high,low,close,volume\r\n") and raw.count(b"\r\n") == 5
    web = (user_dir / "files" / "XLK.csv").read_bytes()
    assert web.startswith(b"\xef\xbb\xbf") and b"Dividend" in web and b'"62,303,300"' in web and not web.endswith(b"\n")
    with zipfile.ZipFile(user_dir / "files" / "Portfolios_Formed_on_ME_Daily_CSV.zip") as archive:
        text = archive.read("Portfolios_Formed_on_ME_Daily.CSV").decode()
    assert text.count("Weighted Returns -- Daily") == 2 and "\r\n" in text


def test_lower_case_crlf_prices(user_dir):
    frame = _load(user_dir, ["mytech:IWM", "mytech:IWMOPEN"])
    expected = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], name="date")
    assert frame.index.equals(expected.as_unit("us"))
    np.testing.assert_array_equal(frame["mytech:IWM"], _plain_returns(LOWER_CRLF_CLOSES))
    np.testing.assert_array_equal(frame["mytech:IWMOPEN"], _plain_returns(LOWER_CRLF_OPENS))  # column: open
    assert yahoo.read(user_dir / "files" / "IWM.csv").columns.tolist() == ["close"]


def test_yahoo_web_export(user_dir):
    frame = _load(user_dir, ["mytech:XLK"])
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    np.testing.assert_array_equal(frame["mytech:XLK"], _plain_returns(WEB_EXPORT_ADJ))  # Adj Close, events skipped


def test_timestamp_newest_first_adjusted_close(user_dir):
    frame = _load(user_dir, ["mytech:AV"])
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2024-01-03", "2024-01-04", "2024-01-05"]
    np.testing.assert_array_equal(frame["mytech:AV"], _plain_returns([10.0, 10.35, 10.45]))  # adjusted_close


def test_kenfrench_original_blocks_and_trimmed_columns(user_dir):
    frame = _load(user_dir, ["size:Lo 30", "size:Med 40", "size_ew:Lo 30", "size_ew:Hi 30"])
    np.testing.assert_allclose(frame["size:Lo 30"], [0.0038, -0.0010, -0.0003, -0.0022], rtol=0, atol=1e-15)
    assert math.isnan(frame.loc["1926-07-06", "size:Med 40"])  # -99.99: missing ("Med 40 " trimmed)
    np.testing.assert_allclose(frame["size_ew:Lo 30"], [0.0101, -0.0075, 0.0033, -0.0060], rtol=0, atol=1e-15)
    np.testing.assert_allclose(frame["size_ew:Hi 30"], [0.0025, 0.0040, 0.0011, 0.0007], rtol=0, atol=1e-15)
    with pytest.raises(DataError) as err:
        _load(user_dir, ["size:Med 40"], (pd.Timestamp("1926-07-02"), None))
    assert str(err.value).startswith(str(user_dir / "files" / "Portfolios_Formed_on_ME_Daily_CSV.zip") + ": ")
    assert "size:Med 40 has a missing value" in str(err.value) and "1926-07-06" in str(err.value)
    assert len(_load(user_dir, ["size:Med 40"], (None, pd.Timestamp("1926-07-02")))) == 2  # outside: fine


def test_returns_csv_in_percent_with_missing_values(user_dir):
    frame = _load(user_dir, ["myreturns:Fund A", "myreturns:Fund B"])
    np.testing.assert_array_equal(frame["myreturns:Fund A"], _plain_column(RETURNS_PERCENT, "Fund A", missing=(-99.99,)))
    np.testing.assert_array_equal(frame["myreturns:Fund B"], _plain_column(RETURNS_PERCENT, "Fund B"))
    assert frame.loc["2024-01-02", "myreturns:Fund A"] == 0.005 and math.isnan(frame.loc["2024-01-04", "myreturns:Fund A"])
    for sid, date in (("myreturns:Fund A", "2024-01-04"), ("myreturns:Fund B", "2024-01-03")):
        with pytest.raises(DataError) as err:
            _load(user_dir, [sid], (pd.Timestamp("2024-01-02"), None))
        assert str(err.value).startswith(f"{user_dir / 'files' / 'my_returns.csv'}: {sid} has a missing value")
        assert f"on {date}" in str(err.value)
    assert len(_load(user_dir, ["myreturns:Fund B"], (pd.Timestamp("2024-01-04"), None))) == 2


def test_fraction_unit_and_named_date_column(tmp_path):
    (tmp_path / "r.csv").write_text("Day,x\n20240102,0.01\n20240103,-0.02\n")
    (tmp_path / "c.yaml").write_text("f: {kind: returns, returns: price, file: r.csv, unit: fraction, date: day}\n")
    frame = load_returns(["f:x"], [], catalogs=[tmp_path / "c.yaml"])
    assert frame["f:x"].tolist() == [0.01, -0.02] and list(frame.index.strftime("%Y%m%d")) == ["20240102", "20240103"]


def test_a_config_names_its_catalog_relative_to_itself(user_dir, tmp_path, monkeypatch):
    configs = user_dir / "configs"
    configs.mkdir()
    (configs / "hold.yaml").write_text(
        "strategy: {name: buy_and_hold, params: {weights: {'mytech:IWM': 0.5, 'mytech:XLK': 0.5}}}\n"
        "benchmark: null\ndata: {catalog: ../my_data.yaml}\n")
    monkeypatch.chdir(tmp_path)  # neither the config's nor the catalog's directory
    config = load_config(configs / "hold.yaml")
    assert data.from_config.catalog_files(config.data, config.base_dir) == (configs / ".." / "my_data.yaml",)
    result = run_backtest(config)
    assert (result.start, result.end) == ("2024-01-03", "2024-01-05")  # the first returns of both files on
    with pytest.raises(StrategyError, match="strategy.params.weights.mytech:IWN: unknown series id 'mytech:IWN'.*did you mean 'IWM'"):
        run_backtest(load_config(configs / "hold.yaml", ["strategy.params.weights={'mytech:IWN': 1.0}"]))
    # a list of catalogs is fine too
    (user_dir / "more.yaml").write_text("more: {kind: returns, returns: total, file: files/my_returns.csv, unit: percent}\n")
    config = load_config(configs / "hold.yaml", ["data.catalog=[../my_data.yaml, ../more.yaml]"])
    assert [p.name for p in data.from_config.catalog_files(config.data, config.base_dir)] == ["my_data.yaml", "more.yaml"]


def test_series_ids_are_checked_without_reading_data(user_dir, monkeypatch):
    catalogs = [user_dir / "my_data.yaml"]
    monkeypatch.setattr("backtest.data.catalog.read_source", lambda *a: pytest.fail("file I/O"))
    check_series_id("mytech:XLK", catalogs)
    check_series_id("size:anything", catalogs)  # the file's own columns: checked when it is read
    with pytest.raises(DataError, match="mytech has no column 'XLKK' \\(did you mean 'XLK'\\?\\)"):
        check_series_id("mytech:XLKK", catalogs)
    with pytest.raises(DataError, match="no dataset 'mytech'"):
        check_series_id("mytech:XLK")  # not without its catalog


def test_an_open_datasets_unknown_column_names_the_file(user_dir):
    with pytest.raises(DataError) as err:
        _load(user_dir, ["size:Lo30"])
    message = str(err.value)
    assert "Portfolios_Formed_on_ME_Daily_CSV.zip: no column 'Lo30' for series size:Lo30 (did you mean 'Lo 30'?)" in message
    assert "file columns: Lo 30, Med 40, Hi 30" in message


# -------------------------------------------------------------------- catalogs that are wrong


@pytest.mark.parametrize("text, fragments", [
    ("x: {kind: prices, symbols: {A: {file: a.csv}}}", ["x.returns: required: one of total | price"]),
    ("x: {kind: price, returns: total}", ["x.kind: expected one of kenfrench | prices | returns, got 'price'", "did you mean 'prices'"]),
    ("x: {kind: returns, returns: total, file: r.csv}", ["x.unit: required: one of percent | fraction"]),
    ("x: {kind: returns, returns: total, file: r.csv, unit: percent, colums: [a]}", ["x.colums: unknown key", "did you mean 'columns'"]),
    ("x: {kind: prices, returns: total, symbols: {A: {fiel: a.csv}}}", ["x.symbols.A.fiel: unknown key", "did you mean 'file'"]),
    ("x: {kind: prices, returns: total, symbols: {A: {}}}", ["x.symbols.A: give the data file"]),
    ("x: {kind: prices, returns: total, symbols: {ON: {file: a.csv}}}", ["x.symbols: True is not a symbol", "'ON'"]),
    ("x: {kind: kenfrench, returns: total, name: F-F_Momentum_Factor_daily, file: m.zip}", ["x.name: give either name:"]),
    ("x: {kind: returns, returns: total, file: r.csv, unit: percent, missing: -99.99}", ["x.missing: expected a list of numbers"]),
    ("etf: {kind: returns, returns: total, file: r.csv, unit: percent}", ["dataset 'etf' shadows the built-in dataset 'etf'"]),
    ("x: [1, 2]", ["x: expected a mapping"]),
    ("- x", ["a data catalog is a mapping of dataset names"]),
    ("x: {kind: prices\n  returns: total", ["line 2", "invalid YAML"]),
    ("'a:b': {kind: returns, returns: total, file: r.csv, unit: percent}", ["'a:b': a dataset name is a non-empty word without ':'"]),
])
def test_bad_catalog_is_one_line_naming_file_and_key(tmp_path, text, fragments):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(DataError) as err:
        catalog([path])
    message = str(err.value)
    assert message.startswith(f"{path}:") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_two_user_catalogs_may_not_share_a_name_and_a_missing_one_is_named(user_dir, tmp_path):
    (tmp_path / "other.yaml").write_text("size: {kind: returns, returns: total, file: r.csv, unit: percent}\n")
    with pytest.raises(DataError, match=f"{tmp_path / 'other.yaml'}: dataset 'size' shadows the dataset of .*my_data.yaml 'size'"):
        catalog([user_dir / "my_data.yaml", tmp_path / "other.yaml"])
    with pytest.raises(DataError, match=f"{tmp_path / 'nope.yaml'}: cannot read the data catalog"):
        catalog([tmp_path / "nope.yaml"])


def test_a_declared_file_that_is_missing(user_dir):
    (user_dir / "files" / "XLK.csv").unlink()
    with pytest.raises(DataError) as err:
        _load(user_dir, ["mytech:XLK"])
    assert str(err.value) == (f"{user_dir / 'files' / 'XLK.csv'}: no such data file (dataset mytech:XLK, "
                              f"declared in {user_dir / 'my_data.yaml'})")


@pytest.mark.parametrize("text, fragments", [
    ("date,open,high,low,volume\r\n2024-01-02,1,1,1,1\r\n", ["no 'Adj Close' or 'Close' column", "columns: date, open, high, low, volume"]),
    ("date,close\n2024-01-03,1\n2024-01-02,2\n2024-01-04,3\n", ["line 3", "date 2024-01-02 is out of order after 2024-01-03"]),
    ("date,close\n2024-01-02,1\n2024-13-02,2\n", ["line 3", "'2024-13-02' is not a date"]),
    ("date,close\n2024-01-02,1\n2024-01-03,-2\n", ["date 2024-01-03", "close -2 is not a positive price"]),
    ("Day,close\n2024-01-02,1\n", ["not a Yahoo price file", "header 'Day,close'"]),
])
def test_bad_price_files(tmp_path, text, fragments):
    (tmp_path / "p.csv").write_text(text)
    (tmp_path / "c.yaml").write_text("p: {kind: prices, returns: total, symbols: {A: {file: p.csv}}}\n")
    with pytest.raises(DataError) as err:
        load_returns(["p:A"], [], catalogs=[tmp_path / "c.yaml"])
    assert str(err.value).startswith(f"{tmp_path / 'p.csv'}: ") and "\n" not in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


@pytest.mark.parametrize("text, fragments", [
    ("Date,a\n2024-01-02,0.5\n2024-01-03,1.2x\n", ["line 3 (date 2024-01-03), column 'a': '1.2x' is not a number"]),
    ("Date,a\n2024-01-02,0.5\n2024-01-03,inf\n", ["line 3 (date 2024-01-03), column 'a': 'inf' is not a number"]),
    ("Date,a,b\n2024-01-02,0.5\n", ["line 2 has 2 fields, expected 3"]),
    ("Date,a\n2024-01-02,0.5\n2024-01-02,0.6\n", ["date 2024-01-02 listed twice with different values"]),
    ("Date,a,a\n2024-01-02,0.5,1\n", ["line 1: duplicate column names"]),
    ("a,b\n1,2\n", ["no date column in the header 'a,b'"]),
    ("Date,a\n", ["no rows of returns"]),
])
def test_bad_returns_files(tmp_path, text, fragments):
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(DataError) as err:
        returns_csv.parse((tmp_path / "r.csv").read_bytes(), str(tmp_path / "r.csv"), "percent")
    assert str(err.value).startswith(f"{tmp_path / 'r.csv'}: ") and "\n" not in str(err.value)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


# -------------------------------------------------------------------- the same guarantees


def test_parsed_user_files_are_cached_with_their_options(user_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKTEST_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = returns_csv.parse
    monkeypatch.setattr(returns_csv, "parse", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    first = _load(user_dir, ["myreturns:Fund A"])
    again = _load(user_dir, ["myreturns:Fund A"])
    assert len(calls) == 1  # served from the cache
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    spec = dict(CATALOG)
    spec["myreturns"] = {**spec["myreturns"], "unit": "fraction"}
    (user_dir / "my_data.yaml").write_text(yaml.safe_dump(spec))
    fraction = _load(user_dir, ["myreturns:Fund A"])  # another unit: another cache entry, not the old one
    assert len(calls) == 2 and fraction.iloc[0, 0] == pytest.approx(first.iloc[0, 0] * 100)
    sha = cache.sha256_bytes((user_dir / "files" / "my_returns.csv").read_bytes())
    assert (cache.cache_key(sha, "returns", {"unit": "percent", "date": None, "missing": [-99.99]})
            != cache.cache_key(sha, "returns", {"unit": "fraction", "date": None, "missing": [-99.99]}))


def test_source_files_hash_data_files_and_their_catalog(user_dir):
    files = source_files(["mytech:IWM", "size:Lo 30", "mytech:IWMOPEN"], [], [user_dir / "my_data.yaml"])
    expected = [user_dir / "files" / "IWM.csv", user_dir / "my_data.yaml",
                user_dir / "files" / "Portfolios_Formed_on_ME_Daily_CSV.zip"]
    assert list(files) == [str(p.resolve()) for p in expected]
    for path in expected:
        assert files[str(path.resolve())] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_list_and_validate_user_datasets(user_dir):
    catalogs = [user_dir / "my_data.yaml"]
    infos = {i.name: i for i in list_datasets([], catalogs)}
    size = infos["size"]
    assert size.series == ["size:Lo 30", "size:Med 40", "size:Hi 30"] and size.rows == 4 and size.error is None
    assert size.catalog == user_dir / "my_data.yaml" and size.returns == "total" and size.price_field == "returns"
    assert infos["mytech:IWM"].price_field == "close" and infos["mytech:XLK"].price_field == "Adj Close"
    assert infos["mytech:IWMOPEN"].price_field == "open"
    assert infos["ff_size"].found_path is None  # the built-in ones are listed too (not on this search path)
    findings = validate_data(["size", "myreturns"], [], catalogs=catalogs)
    assert {(f.source, f.check, f.column, f.count) for f in findings} == {
        ("size", "sentinel", "Med 40", 1), ("myreturns", "sentinel", "Fund A", 1), ("myreturns", "sentinel", "Fund B", 1)}


def _long_prices(path, seed, start="2019-01-01", end="2021-12-31"):
    """A lower-case CRLF price file of business days with a seeded random walk; its closes."""
    dates = pd.bdate_range(start, end)
    closes = 100 * np.cumprod(1 + np.random.default_rng(seed).normal(0.0004, 0.01, len(dates)))
    lines = ["date,open,high,low,close,volume"] + [f"{d:%Y-%m-%d},{c:.4f},{c:.4f},{c:.4f},{c:.4f},1000.0"
                                                   for d, c in zip(dates, closes)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return dates, np.round(closes, 4)


@pytest.fixture
def long_user(tmp_path):
    """Three years of two synthetic funds in a user catalog, and a first10 config on them."""
    root = tmp_path / "long"
    (root / "files").mkdir(parents=True)
    _long_prices(root / "files" / "SMALL.csv", 1)
    _long_prices(root / "files" / "LARGE.csv", 2)
    _long_prices(root / "files" / "MID.csv", 3)
    (root / "funds.yaml").write_text(yaml.safe_dump({"funds": {"kind": "prices", "returns": "total", "symbols": {
        "SMALL": {"file": "files/SMALL.csv"}, "LARGE": {"file": "files/LARGE.csv"}, "MID": {"file": "files/MID.csv"}}}}))
    (root / "first10.yaml").write_text(
        "strategy: {name: first10, params: {small: 'funds:SMALL', large: 'funds:LARGE', lookback: 10, tilt: 0.7}}\n"
        "benchmark: {name: buy_and_hold, params: {weights: {'funds:SMALL': 0.5, 'funds:LARGE': 0.5}}}\n"
        "data: {catalog: funds.yaml, path: []}\n")
    return root


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_and_rerun_on_user_data(long_user, tmp_path):
    out = tmp_path / "results"
    ran = _cli("run", long_user / "first10.yaml", "--out", out, "--json")
    assert ran.exit_code == 0, ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    manifest = json.loads((out / run_id / "manifest.json").read_text())
    for path in (long_user / "files" / "SMALL.csv", long_user / "files" / "LARGE.csv", long_user / "funds.yaml"):
        assert manifest["data_files"][str(path.resolve())] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["return_types"] == {"funds:SMALL": "total", "funds:LARGE": "total"}
    again = _cli("rerun", run_id, "--out", out)
    assert again.exit_code == 0 and again.stdout.startswith(f"{run_id}: identical"), again.output
    # the catalog reads another column (equal to the close in these files): the catalog is named,
    # the figures are the same
    catalog_file = long_user / "funds.yaml"
    text = catalog_file.read_text()
    old = hashlib.sha256(catalog_file.read_bytes()).hexdigest()
    catalog_file.write_text(text.replace("file: files/SMALL.csv", "file: files/SMALL.csv\n      column: open"))
    changed = _cli("rerun", run_id, "--out", out)
    new = hashlib.sha256(catalog_file.read_bytes()).hexdigest()
    assert f"input changed: data file {catalog_file.resolve()}: sha256 {old} -> {new}" in changed.stdout
    assert changed.exit_code == 0 and f"{run_id}: identical" in changed.stdout
    # SMALL now read from another file: not reproduced (exit 3), the catalog and both files named
    catalog_file.write_text(text.replace("file: files/SMALL.csv", "file: files/MID.csv"))
    moved = _cli("rerun", run_id, "--out", out)
    assert moved.exit_code == 3, moved.output
    assert f"data file {catalog_file.resolve()}: sha256 {old} -> " in moved.stdout
    assert f"data file {(long_user / 'files' / 'SMALL.csv').resolve()}: no longer read" in moved.stdout
    assert moved.stderr.startswith(f"{run_id}: not reproduced")


def test_run_with_a_bad_user_file_is_one_line_and_writes_nothing(long_user, tmp_path):
    (long_user / "files" / "LARGE.csv").write_bytes(b"date,close\r\n2019-01-02,100\r\n2019-01-03,abc\r\n")
    out = tmp_path / "results"
    result = _cli("run", long_user / "first10.yaml", "--out", out)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {long_user / 'files' / 'LARGE.csv'}: date 2019-01-03: close 'abc' is not a number"]
    assert not out.exists() or not any(out.iterdir())


def test_sweep_check_compare_on_user_data(long_user, tmp_path):
    out = tmp_path / "results"
    swept = _cli("sweep", long_user / "first10.yaml", "--grid", "strategy.params.lookback=5,10",
                 "--grid", "strategy.params.small=funds:SMALL,funds:MID", "--out", out, "--json")
    assert swept.exit_code == 0, swept.output
    rows = json.loads(swept.stdout)["results"]
    assert len(rows) == 4
    # each combination equals a run of the same config
    for lookback in (5, 10):
        single = run_backtest(load_config(long_user / "first10.yaml", [f"strategy.params.lookback={lookback}"]))
        row = next(r for r in rows if r["params"] == {"strategy.params.lookback": lookback, "strategy.params.small": "funds:SMALL"})
        assert row["stats"]["sharpe"] == pytest.approx(single.strategy.stats["sharpe"], rel=1e-9)
    checked = _cli("check", long_user / "first10.yaml", "--cuts", "4")
    assert checked.exit_code == 0 and "no look-ahead" in checked.output, checked.output
    compared = _cli("compare", long_user / "first10.yaml", f"{long_user / 'first10.yaml'} --set strategy.params.lookback=5",
                    "--out", out, "--format", "json", "--resamples", "50")
    assert compared.exit_code == 0, compared.output
    assert [e["strategy"] for e in json.loads(compared.stdout)["entries"]] == ["first10", "first10"]


def test_data_list_and_validate_with_config(long_user):
    listed = CliRunner().invoke(main, ["data", "list", "--config", str(long_user / "first10.yaml")], env={"COLUMNS": "1000"})
    assert listed.exit_code == 0, listed.output
    assert "funds:SMALL" in listed.output and "SMALL.csv" in listed.output and "ff_size" in listed.output
    checked = _cli("data", "validate", "--config", long_user / "first10.yaml", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout) == []  # the two files share every session
    (long_user / "files" / "LARGE.csv").write_bytes(b"date,close\r\n2019-01-03,100\r\n2019-01-02,101\r\n2019-01-04,102\r\n")
    bad = _cli("data", "validate", "--config", long_user / "first10.yaml", "--json")
    assert bad.exit_code == 2
    (finding,) = [f for f in json.loads(bad.stdout) if f["severity"] == "error"]
    assert finding["source"] == "funds:LARGE" and finding["check"] == "unsorted" and "on line 3" in finding["detail"]


def test_the_api_takes_user_catalogs_in_a_dict_config(user_dir, long_user):
    config = validate({"strategy": {"name": "buy_and_hold", "params": {"weights": {"funds:SMALL": 1.0}}},
                       "benchmark": None, "data": {"catalog": "funds.yaml", "path": []}}, base_dir=long_user)
    result = run_backtest(config)
    closes = pd.read_csv(long_user / "files" / "SMALL.csv")["close"].to_numpy()
    # buy and hold one fund with fees on the first purchase only: equity grows with its price
    equity = result.strategy.simulation.equity
    np.testing.assert_allclose(equity.iloc[-1] / equity.iloc[1], closes[-1] / closes[2], rtol=1e-9)
    frame = backtest.load(["myreturns:Fund A"], end="2024-01-03", catalog=user_dir / "my_data.yaml")
    np.testing.assert_array_equal(frame["myreturns:Fund A"], _plain_column(RETURNS_PERCENT, "Fund A", missing=(-99.99,))[:2])
    with pytest.raises(DataError, match="myreturns:Fund A has a missing value .* on 2024-01-04, inside the period"):
        backtest.load(["myreturns:Fund A"], catalog=user_dir / "my_data.yaml")
    (user_dir / "c.yaml").write_text("strategy: {name: buy_and_hold, params: {weights: {'myreturns:Fund A': 1.0}}}\n"
                                     "data: {catalog: my_data.yaml}\n")
    pd.testing.assert_frame_equal(backtest.load(["myreturns:Fund A"], end="2024-01-03", config=user_dir / "c.yaml"), frame)
    with pytest.raises(ConfigError, match="config: data.catalog"):
        backtest.load(["myreturns:Fund A"], config={"data": {"catalog": 3}})
    with pytest.raises(ConfigError, match="config: data.catalogue"):
        backtest.load(["myreturns:Fund A"], config={"data": {"catalogue": "my_data.yaml"}})


# -------------------------------------------------------------------- a Ken French file by its library name


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_fetch_a_kenfrench_file_by_its_library_name(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    momentum = "\r\n".join(["This file was created using the 202505 CRSP database.", "", ",Mom   ",
                            "19261103,    0.56", "19261104,   -0.50", "19261105,    1.17", "",
                            "Copyright 2025 Kenneth R. French", ""])
    (www / "F-F_Momentum_Factor_daily_CSV.zip").write_bytes(_zip("F-F_Momentum_Factor_daily.CSV", momentum))
    (tmp_path / "c.yaml").write_text("mom: {kind: kenfrench, returns: total, name: F-F_Momentum_Factor_daily}\n"
                                     "mine: {kind: returns, returns: total, file: r.csv, unit: percent}\n")
    catalogs, dest = [tmp_path / "c.yaml"], tmp_path / "data"
    with pytest.raises(DataError, match="dataset mom not found: tried kenfrench/F-F_Momentum_Factor_daily.csv, "
                                        "kenfrench/F-F_Momentum_Factor_daily_CSV.zip .*backtest data fetch mom"):
        load_returns(["mom:Mom"], [dest], catalogs=catalogs)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        saved = fetch(["mom"], dest, base_url=f"http://127.0.0.1:{httpd.server_address[1]}/", catalogs=catalogs)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert saved == [dest / "kenfrench" / "F-F_Momentum_Factor_daily_CSV.zip"]
    frame = load_returns(["mom:Mom"], [dest], catalogs=catalogs)  # "Mom   " trimmed
    np.testing.assert_allclose(frame["mom:Mom"], [0.0056, -0.0050, 0.0117], rtol=0, atol=1e-15)
    with pytest.raises(DataError, match="dataset mine is read from its own file, not downloaded"):
        fetch(["mine"], dest, catalogs=catalogs)


@pytest.mark.parametrize("header, expected", [
    ("date,close,adjClose", "adjClose"),  # Tiingo
    ("Date,Close,Adj_Close", "Adj_Close"),
    ("DateTime,Close,Adjusted Close", "Adjusted Close"),
    ("Open,CLOSE,Date", "CLOSE"),  # the date column anywhere, any case
])
def test_the_price_column_by_name(header, expected):
    columns = header.split(",")
    row = ",".join("2024-01-02" if c.lower().startswith("date") else str(10 + i) for i, c in enumerate(columns))
    frame = yahoo.parse(f"{header}\n{row}\n".encode(), "f")
    assert frame.columns.tolist() == [expected] and frame.iloc[0, 0] == 10 + columns.index(expected)


@pytest.mark.parametrize("repeat,severity,detail", [
    ("2024-01-03,1.5", "warning", "1 repeated date(s) (each read once), first 2024-01-03 on line 4"),
    ("2024-01-03,1.7", "error", "1 date(s) listed twice with different values, first 2024-01-03 on line 4"),
    # the same price written another way is another row for the reader: validate says what a run will
    ("2024-01-03,1.50", "error", "1 date(s) listed twice with different values, first 2024-01-03 on line 4"),
])
def test_validate_judges_a_repeated_date_as_runs_read_it(tmp_path, repeat, severity, detail):
    (tmp_path / "F.csv").write_text(f"Date,Close\n2024-01-02,1.0\n2024-01-03,1.5\n{repeat}\n2024-01-04,1.6\n")
    catalog = tmp_path / "cat.yaml"
    catalog.write_text("fund:\n  kind: prices\n  returns: price\n  symbols:\n    F: {file: F.csv}\n")
    [finding] = validate_data(["fund"], [], catalogs=[catalog])
    assert (finding.check, finding.severity, finding.detail) == ("duplicate", severity, detail)
    if severity == "warning":  # runs read the repeated row once: three sessions, two returns
        assert len(backtest.load(["fund:F"], catalog=catalog)) == 2
    else:
        with pytest.raises(DataError, match="date 2024-01-03 listed twice with different values"):
            backtest.load(["fund:F"], catalog=catalog)


@pytest.mark.parametrize("sid", ["mine:a", "mine:s"])
def test_a_series_with_no_data_is_named_derived_or_not(tmp_path, sid):
    """Every value empty: one line naming the series, for a column of the file and for a sum of
    columns (`derived`: it has no column of its own; a KeyError before)."""
    (tmp_path / "r.csv").write_text("date,a,b\n2024-01-02,,\n2024-01-03,,\n2024-01-04,,\n")
    catalog = tmp_path / "cat.yaml"
    catalog.write_text("mine:\n  kind: returns\n  returns: total\n  unit: percent\n  file: r.csv\n  derived: {s: [a, b]}\n")
    with pytest.raises(DataError, match=f"{sid} has no data: every value in the file is missing"):
        backtest.load([sid], start="2024-01-02", catalog=catalog)
