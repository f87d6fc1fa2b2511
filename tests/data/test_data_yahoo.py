"""Yahoo price parser: every file form, checked against plain csv-module reading."""

import csv
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from backtest.data import load_returns, yahoo
from backtest.errors import DataError
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "yahoo"


def _reference_prices(path):
    """Independent reading: csv module, skip event rows, float() by hand, ascending dates."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    if header[0] == "Price":
        header, rows = ["Date", *header[1:]], rows[3:]
    else:
        rows = rows[1:]
    col = header.index("Adj Close") if "Adj Close" in header else header.index("Close")
    out = {}
    for row in rows:
        if not row or row[2] == "":  # dividend / split rows leave the price columns empty
            continue
        date = row[0]
        day = dt.datetime.strptime(date, "%Y-%m-%d" if "-" in date else "%b %d, %Y")
        out[day] = float("nan") if row[col] == "null" else float(row[col].replace(",", ""))
    return dict(sorted(out.items()))


def test_web_export_fixture_really_is_messy():
    raw = (FIXTURES / "web_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and not raw.endswith(b"\n")
    assert b"Dividend" in raw and b"Stock Splits" in raw and b'"12,345,678"' in raw


def test_web_export_newest_first_dividends_and_splits_skipped_adj_close():
    frame = yahoo.read(FIXTURES / "web_export.csv")
    assert list(frame.columns) == ["Adj Close"] and frame.index.name == "date"
    assert list(frame.index) == list(pd.to_datetime(["2024-12-30", "2024-12-31", "2025-01-02", "2025-01-03", "2025-01-06"]))
    assert frame["Adj Close"].tolist() == [97.5, 98.25, 99.5, 100.8, 101.8]
    assert frame["Adj Close"].tolist() == list(_reference_prices(FIXTURES / "web_export.csv").values())


def test_yfinance_three_line_header():
    frame = yahoo.read(FIXTURES / "yfinance.csv")
    assert yahoo.price_field(frame) == "Adj Close"
    assert frame.index[0] == pd.Timestamp("1927-12-30") and len(frame) == 4
    assert frame["Adj Close"].iloc[1] == 17.760000228881836


def test_classic_with_null_row_stays_missing():
    frame = yahoo.read(FIXTURES / "classic.csv")
    prices = frame["Adj Close"]
    assert math.isnan(prices["1987-09-14"]) and prices.notna().sum() == 4
    returns = yahoo.to_returns(prices)
    assert math.isnan(returns.iloc[0])  # no previous close
    assert returns["1987-09-11"] == pytest.approx(170.54 / 168.97 - 1)
    assert math.isnan(returns["1987-09-14"]) and math.isnan(returns["1987-09-15"])  # never a 0 % return
    assert returns["1987-09-16"] == pytest.approx(167.50 / 169.20 - 1)


def test_etf_column_order_uses_close():
    frame = yahoo.read(FIXTURES / "etf.csv")
    assert yahoo.price_field(frame) == "Close"
    assert frame["Close"].tolist() == [45.71875, 47.40625, 47.578125, 48.65625]


def _parse(text):
    return yahoo.parse(text.encode(), "t.csv")


@pytest.mark.parametrize("text, fragment", [
    ("Date,Close\n2020-01-02,10\n2020-01-03,0\n", "t.csv: date 2020-01-03: Close 0 is not a positive price"),
    ("Date,Close\n2020-01-02,10\n2020-01-03,-1\n", "date 2020-01-03: Close -1 is not a positive price"),
    ("Date,Close\n2020-01-02,10\n2020-01-02,11\n", "date 2020-01-02 listed twice with different values"),
    ("Date,Close\n2020-01-02,0.5 Capital Gain\n2020-01-03,11\n", ""),  # an event row, skipped
    ("Date,Close\n2020-01-02,ten dollars\n2020-01-03,11\n", "date 2020-01-02: Close 'ten dollars' is not a number"),
    ("Date,Close,Volume\n2020-01-02,abc,5\n", "date 2020-01-02: Close 'abc' is not a number"),
    ("Date,Close\n2020-13-45,10\n", "'2020-13-45' is not a date"),
    ("When,Close\n2020-01-02,10\n", "not a Yahoo price file"),
    ("Date,Open,Volume\n2020-01-02,10,5\n", "no 'Adj Close' or 'Close' column"),
    ("Date,Close,Volume\n2020-01-02,10\n", "line 2 (date 2020-01-02) has 2 fields, expected 3"),
])
def test_bad_prices_are_errors_naming_file_and_date(text, fragment):
    if not fragment:
        assert len(_parse(text)) == 1
        return
    with pytest.raises(DataError) as err:
        _parse(text)
    assert fragment in str(err.value) and str(err.value).startswith("t.csv: ")


def test_identical_duplicate_rows_kept_once_and_newest_first_sorted():
    frame = _parse("Date,Close\n2020-01-06,12\n2020-01-03,11\n2020-01-03,11\n2020-01-02,10\n")
    assert frame["Close"].tolist() == [10.0, 11.0, 12.0]


def test_dates_that_turn_back_are_rejected():
    with pytest.raises(DataError) as err:
        _parse("Date,Close\n2020-01-02,10\n2020-01-06,12\n2020-01-03,11\n")
    assert str(err.value) == "t.csv: line 4: date 2020-01-03 is out of order after 2020-01-06 (the file runs oldest first)"


def test_empty_price_is_missing():
    frame = _parse("Date,Open,Close,Volume\n2020-01-02,1,10,5\n2020-01-03,,,\n2020-01-06,1,12,5\n")
    assert frame["Close"].isna().tolist() == [False, True, False]


def test_yfinance_datetime_index_with_time_and_zone():
    frame = _parse("Price,Close\nTicker,SPY\nDate,\n2020-01-02 00:00:00-05:00,10\n2020-01-03 00:00:00-05:00,11\n")
    assert list(frame.index) == list(pd.to_datetime(["2020-01-02", "2020-01-03"]))


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize("series, path", [
    ("sector:XLK", "sectors/XLK.csv"),  # web export, Adj Close, newest first, dividends
    ("sector:XLF", "sectors/XLF.csv"),  # also a "Stock Splits" row
    ("index:SPX", "indices/SPX.csv"),  # yfinance 3-line header
    ("index:RUT", "indices/RUT.csv"),  # classic
    ("etf:IWM", "etfs/IWM.csv"),  # Date,Close,High,Low,Open,Volume
])
def test_real_returns_match_independent_reading(shared_data, series, path):
    prices = _reference_prices(shared_data / path)
    dates = list(prices)
    values = np.array(list(prices.values()))
    returns = load_returns([series], [shared_data])[series]
    assert len(returns) == len(dates) and list(returns.index) == dates
    assert math.isnan(returns.iloc[0])
    for k in (1, 2, len(dates) // 2, len(dates) - 1):
        assert returns.iloc[k] == pytest.approx(values[k] / values[k - 1] - 1, rel=1e-12)
    np.testing.assert_allclose(returns.to_numpy()[1:], values[1:] / values[:-1] - 1, rtol=1e-12)


def test_real_sector_file_uses_adj_close_and_skips_events(shared_data):
    path = shared_data / "sectors" / "SPY.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert sum("Dividend" in line for line in lines) == 40
    frame = yahoo.read(path)
    assert yahoo.price_field(frame) == "Adj Close" and len(frame) == 2515
    assert frame.index.is_monotonic_increasing
    assert frame.loc["2024-12-20", "Adj Close"] == 589.38  # the price row, not the 1.966 dividend
    assert frame.loc["2015-01-02", "Adj Close"] == 172.08 and frame.loc["2024-12-30", "Adj Close"] == 586.46
    xlf = yahoo.read(shared_data / "sectors" / "XLF.csv")
    assert len(xlf) == 2515 and xlf.loc["2016-09-19", "Adj Close"] == 16.43  # split row skipped
