"""`backtest data validate`: the checks on hand-made cases, on the broken fixtures of the bad-input
corpus, and on every real data file against an independent pandas reading of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import main
from backtest.data import validate as v
from backtest.data.catalog import all_sources
from tests.conftest import REPO_ROOT
from backtest.data.paths import find_file

BAD_DATA = REPO_ROOT / "tests" / "bad_inputs" / "data"


def _dates(*isos):
    return pd.DatetimeIndex(pd.to_datetime(list(isos)))


# ------------------------------------------------------------------ the checks, by hand


def test_duplicates_counts_repeats_and_names_the_first():
    assert v.duplicates(_dates("2020-01-02", "2020-01-03", "2020-01-03", "2020-01-06", "2020-01-02")) == (2, pd.Timestamp("2020-01-03"))
    assert v.duplicates(_dates("2020-01-02", "2020-01-03")) == (0, None)


def test_gaps_over_ten_days_except_known_closures():
    assert v.gaps(_dates("1933-03-02", "1933-03-03", "1933-03-15")) == []  # 12 days around the 1933 bank holiday
    assert v.gaps(_dates("1933-02-20", "1933-03-03")) == [(pd.Timestamp("1933-02-20"), pd.Timestamp("1933-03-03"), 11)]
    # 1950-01-03 -> 13: 10 days (not over 10); 1950-01-14 -> 25: 11 days (flagged)
    sessions = _dates("1950-01-03", "1950-01-13", "1950-01-14", "1950-01-25")
    assert v.gaps(sessions) == [(pd.Timestamp("1950-01-14"), pd.Timestamp("1950-01-25"), 11)]


def test_big_moves_beyond_half_either_way():
    returns = pd.DataFrame({"a": [0.1, 0.5, 0.51, -0.6, np.nan], "b": [0.0] * 5},
                           index=_dates("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"))
    moves = v.big_moves(returns)
    assert list(moves) == ["a"] and moves["a"].tolist() == [0.51, -0.6]


def test_calendar_mismatch_on_the_common_span_only():
    a = _dates("2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07")
    b = _dates("2020-01-02", "2020-01-06", "2020-01-07", "2020-01-08")  # lacks 01-03; 01-01 and 01-08 are outside the span
    lacking = v.calendar_mismatch({"a": a, "b": b})
    assert list(lacking) == ["b"] and list(lacking["b"]) == [pd.Timestamp("2020-01-03")]
    assert v.calendar_mismatch({"a": a}) == {}


# ------------------------------------------------------------------ the broken fixtures


def _findings(tmp_data: Path, *names):
    return v.validate(list(names), [tmp_data])


@pytest.mark.parametrize("case, name, check, severity, date, column, count", [
    ("kf_duplicate_dates", "ff_factors", "duplicate", "error", "1926-07-07", None, 1),
    ("kf_unsorted_dates", "ff_factors", "unsorted", "error", "1926-07-14", None, 1),
    ("yahoo_unsorted_dates", "etf:IWM", "unsorted", "error", "2000-06-13", None, 1),
    ("kf_sentinel_9999", "ff_factors", "sentinel", "warning", "1926-07-26", "Mkt-RF", 1),
    ("kf_sentinel_999", "ff_factors", "sentinel", "warning", "1926-07-31", "Mkt-RF", 1),
    ("kf_nan_run", "ff_factors", "sentinel", "warning", "1926-07-20", "Mkt-RF", 4),
    ("yahoo_nan_run", "etf:IWM", "sentinel", "warning", "2000-06-23", "Close", 4),
    ("kf_zip_corrupt", "ff_factors", "parse", "error", None, None, 1),
    ("kf_unparseable_date", "ff_factors", "parse", "error", None, None, 1),
])
def test_broken_fixture_findings(case, name, check, severity, date, column, count):
    findings = _findings(BAD_DATA / case, name)
    assert [(f.check, f.severity, f.date, f.column, f.count) for f in findings] == [(check, severity, date, column, count)]
    assert findings[0].file.endswith(("F-F_Research_Data_Factors_daily.csv", "F-F_Research_Data_Factors_daily_CSV.zip", "IWM.csv"))


def test_clean_fixtures_have_no_findings():
    assert _findings(BAD_DATA / "good", "ff_factors") == []
    assert _findings(BAD_DATA / "yahoo_good", "etf:IWM") == []


def _kf_file(directory: Path, rows: list[tuple[str, float]]) -> None:
    (directory / "kenfrench").mkdir(parents=True)
    lines = ["Date,Mkt-RF,SMB,HML,RF", *(f"{d},{r:.2f},0.10,0.10,0.01" for d, r in rows)]
    (directory / "kenfrench" / "F-F_Research_Data_Factors_daily.csv").write_text("\n".join(lines) + "\n")


def test_gap_move_and_calendar_through_the_cli(tmp_path):
    # ff_factors: a 15-day gap (1990-01-05 -> 01-20), a +60 % day and, against a one-day-longer
    # IWM calendar, a missing session
    _kf_file(tmp_path, [("19900102", 0.5), ("19900103", 60.0), ("19900104", -1.0), ("19900105", 0.2),
                        ("19900120", 0.1), ("19900122", 0.3)])
    (tmp_path / "etfs").mkdir()
    prices = ["Date,Close", "1990-01-02,10", "1990-01-03,10.5", "1990-01-04,10.4", "1990-01-05,10.6",
              "1990-01-08,10.7", "1990-01-20,10.6", "1990-01-22,10.9"]
    (tmp_path / "etfs" / "IWM.csv").write_text("\n".join(prices) + "\n")
    env = {"BACKTEST_DATA_PATH": str(tmp_path)}
    result = CliRunner().invoke(main, ["data", "validate", "ff_factors:Mkt", "etf:IWM", "--json"], env=env)
    assert result.exit_code == 0, result.output  # warnings only
    found = {(f["source"], f["check"], f["date"], f["column"], f["count"]) for f in json.loads(result.stdout)}
    assert found == {
        ("ff_factors", "gap", "1990-01-05", None, 1),
        ("ff_factors", "move", "1990-01-03", "Mkt-RF", 1),
        ("ff_factors", "calendar", "1990-01-08", None, 1),
        ("etf:IWM", "gap", "1990-01-08", None, 1),  # 12 days
    }
    strict = CliRunner().invoke(main, ["data", "validate", "ff_factors:Mkt", "etf:IWM", "--strict"], env=env)
    assert strict.exit_code == 2 and strict.stderr.strip() == \
        "error: data validate: 0 error(s), 4 warning(s) in 2 file(s) (--strict: warnings fail too)"
    assert "1990-01-05 to 1990-01-20" in strict.stdout


def test_errors_exit_2_with_one_line(tmp_path):
    result = CliRunner().invoke(main, ["data", "validate", "ff_factors"], env={"BACKTEST_DATA_PATH": str(BAD_DATA / "kf_duplicate_dates")})
    assert result.exit_code == 2
    assert result.stderr == "error: data validate: 1 error(s), 0 warning(s) in 1 file(s)\n"
    assert "duplicate" in result.stdout and "line 6" in result.stdout


def test_unknown_dataset_suggests():
    result = CliRunner().invoke(main, ["data", "validate", "ff_sise"])
    assert result.exit_code == 2 and "did you mean 'ff_size'" in result.stderr


# ------------------------------------------------------------------ the real data, independently


def _independent_read(path: Path) -> tuple[pd.DatetimeIndex, pd.DataFrame, bool]:
    """(dates in file order, values, whether values are prices) read with plain pandas."""
    parent = path.parent.name
    if parent == "kenfrench":
        frame = pd.read_csv(path, skipinitialspace=True)
        dates = pd.to_datetime(frame.iloc[:, 0].astype(str), format="%Y%m%d")
        values = frame.iloc[:, 1:].astype(float)
        values = values.mask(values.isin([-99.99, -999.0])) / 100
        return pd.DatetimeIndex(dates), values.set_axis(pd.DatetimeIndex(dates)), False
    if parent == "sectors":
        frame = pd.read_csv(path, encoding="utf-8-sig", thousands=",")
        frame = frame[pd.to_numeric(frame["Open"], errors="coerce").notna()]  # drop dividend/split rows
        dates = pd.DatetimeIndex(pd.to_datetime(frame["Date"], format="%b %d, %Y"))
        return dates, frame[["Adj Close"]].astype(float).set_axis(dates), True
    header = path.read_text().splitlines()[0]
    if header.startswith("Price"):  # yfinance: three header lines
        frame = pd.read_csv(path, skiprows=[1, 2]).rename(columns={"Price": "Date"})
    else:  # etfs_total_return/ writes its header in lower case: date,open,high,low,close,volume
        frame = pd.read_csv(path).rename(columns={"date": "Date", "close": "Close"})
    field = "Adj Close" if "Adj Close" in frame.columns else "Close"
    dates = pd.DatetimeIndex(pd.to_datetime(frame["Date"].str.slice(0, 10)))
    return dates, frame[[field]].astype(float).set_axis(dates), True


def _expected_findings(path: Path) -> set[tuple]:
    dates, values, prices = _independent_read(path)
    out = set()
    repeated = int(dates.duplicated().sum())
    if repeated:
        out.add(("duplicate", repeated))
    ordered = dates.sort_values(ascending=not (dates[0] > dates[-1]))
    if not (dates == ordered).all():
        out.add(("unsorted",))
    unique = pd.Series(sorted(set(dates)))
    for before, after in zip(unique[:-1], unique[1:]):
        if (after - before).days > 10 and not (before < pd.Timestamp("1933-03-04") and after > pd.Timestamp("1933-03-14")):
            out.add(("gap", before.date().isoformat()))
    values = values[~values.index.duplicated()].sort_index()
    for column in values.columns:
        if values[column].isna().any():
            out.add(("sentinel", column, int(values[column].isna().sum())))
        returns = values[column] / values[column].shift(1) - 1 if prices else values[column]
        if (returns.abs() > 0.5).any():
            out.add(("move", int((returns.abs() > 0.5).sum())))
    return out


def _as_expected(finding) -> tuple:
    return {"duplicate": ("duplicate", finding.count), "unsorted": ("unsorted",), "gap": ("gap", finding.date),
            "sentinel": ("sentinel", finding.column, finding.count), "move": ("move", finding.count)}[finding.check]


@pytest.mark.parametrize("source", all_sources(), ids=lambda s: s.name)
def test_real_file_findings_match_pandas(shared_data, source):
    path = find_file(source.files, [shared_data])
    if path is None:
        pytest.skip(f"{source.name}: no file in {shared_data}")
    findings = v.validate([source.name] if ":" in source.name else [source.dataset], [shared_data])
    findings = [f for f in findings if f.source == source.name]
    assert {_as_expected(f) for f in findings} == _expected_findings(path)
    assert all(f.severity == "warning" for f in findings)


def test_real_data_summary_through_the_cli(shared_data):
    """Over every shipped file: one finding, the unused `<= 0` size column, all -99.99; the 1933
    bank holiday (12 days) is the only long gap and it is a known closure."""
    result = CliRunner().invoke(main, ["data", "validate", "--json"], env={"BACKTEST_DATA_PATH": str(shared_data)})
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert [(f["source"], f["check"], f["column"], f["count"]) for f in findings] == [("ff_size", "sentinel", "<= 0", 26_003)]
    sessions = pd.read_csv(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily.csv")["Date"]
    days = pd.to_datetime(sessions.astype(str)).diff().dt.days
    assert (days > 10).sum() == 1 and sessions[days.idxmax() - 1] == 19330303


def test_config_series_calendars(shared_data):
    """first10_etf trades IWM against SPY: on their common span (IWM's inception on) the two
    calendars agree, which an independent comparison confirms."""
    from tests.conftest import REPO_ROOT

    result = CliRunner().invoke(main, ["data", "validate", "--config", str(REPO_ROOT / "configs" / "first10_etf.yaml"), "--json"],
                                env={"BACKTEST_DATA_PATH": str(shared_data)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    iwm = pd.read_csv(shared_data / "etfs_total_return" / "IWM.csv")["date"]
    spy = pd.read_csv(shared_data / "etfs_total_return" / "SPY.csv")["date"]
    assert set(spy[spy >= iwm.min()]) == set(iwm)
