"""backtest.stats.conventions against hand-worked cases and plain loops over the real T-bill series."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from backtest.stats.conventions import (
    accrued_risk_free,
    annual_to_daily,
    cagr_calendar,
    calendar_years,
    risk_free_coverage,
    sessions_per_year,
)
from tests.real_data import load


@pytest.fixture(scope="module")
def french(shared_data, tmp_path_factory):
    """Ken French's daily RF, and SPY's calendar."""
    rf = load(shared_data, tmp_path_factory, {"ff_factors:RF": "rf"})["rf"]
    spy = load(shared_data, tmp_path_factory, {"etf:SPY": "spy"})
    return rf, spy.index


def dates(*days: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(days)))


def accrued_by_loop(rf: pd.Series, target: pd.DatetimeIndex) -> np.ndarray:
    """The definition, one row at a time: the product of (1 + rf) over rf's sessions in (previous date, date]."""
    out = []
    for i, day in enumerate(target):
        growth = 1.0
        for session, value in rf.items():
            if (i == 0 and session == day) or (i > 0 and target[i - 1] < session <= day):
                growth *= 1.0 + value
        out.append(growth - 1.0)
    return np.array(out)


def test_calendar_years_and_sessions_hand_worked():
    four_years = dates("2000-01-01", "2001-03-01", "2002-07-15", "2003-01-01", "2004-01-01")
    assert calendar_years(four_years) == 4.0  # 1461 days, one leap year
    assert sessions_per_year(four_years) == 1.0  # 4 gaps in 4 years
    assert calendar_years(dates("2020-01-01", "2020-01-02")) == 1 / 365.25


def test_sessions_per_year_on_the_french_calendar(french):
    """The issue's figures: 26,003 rows over 98.9 calendar years, 262.9 sessions a year (not 252)."""
    rf, _ = french
    days = (dt.date(2025, 5, 30) - dt.date(1926, 7, 1)).days
    assert (len(rf), rf.index[0], rf.index[-1]) == (26003, pd.Timestamp("1926-07-01"), pd.Timestamp("2025-05-30"))
    assert calendar_years(rf.index) == pytest.approx(days / 365.25, rel=1e-15)
    assert sessions_per_year(rf.index) == pytest.approx(26002 * 365.25 / days, rel=1e-15)
    assert round(calendar_years(rf.index), 1) == 98.9 and round(sessions_per_year(rf.index), 1) == 262.9


@pytest.mark.parametrize("index", [dates("2020-01-01"), dates("2020-01-02", "2020-01-01"), dates("2020-01-01", "2020-01-01"),
                                   pd.Index([1, 2])])
def test_calendar_needs_two_ascending_dates(index):
    with pytest.raises(ValueError, match="calendar_years"):
        sessions_per_year(index)


def test_cagr_calendar_hand_worked():
    four_years = dates("2000-01-01", "2004-01-01")
    assert cagr_calendar(2.0, 1.0, four_years) == pytest.approx(2 ** 0.25 - 1, rel=1e-15)
    assert cagr_calendar(150.0, 100.0, four_years) == pytest.approx(1.5 ** 0.25 - 1, rel=1e-15)
    assert cagr_calendar(0.0, 100.0, four_years) == -1.0 and cagr_calendar(-5.0, 100.0, four_years) == -1.0
    with pytest.raises(ValueError, match="initial"):
        cagr_calendar(1.0, 0.0, four_years)


def test_cagr_calendar_ignores_the_number_of_rows(french):
    """Market growth 1926-2025: calendar years, not rows / 252."""
    rf, _ = french
    years = (dt.date(2025, 5, 30) - dt.date(1926, 7, 1)).days / 365.25
    assert cagr_calendar(1234.5, 1.0, rf.index) == pytest.approx(math.exp(math.log(1234.5) / years) - 1, rel=1e-14)


def test_annual_to_daily_is_geometric():
    daily = annual_to_daily(0.02, 252)
    assert daily == pytest.approx(1.02 ** (1 / 252) - 1, rel=1e-14)
    growth = 1.0
    for _ in range(252):
        growth *= 1 + daily
    assert growth - 1 == pytest.approx(0.02, rel=1e-12)
    assert f"{daily:.3e}" == "7.858e-05"  # not 0.02 / 252 = 7.937e-05
    assert annual_to_daily(0.0, 262.9) == 0.0
    with pytest.raises(ValueError, match="periods_per_year"):
        annual_to_daily(0.02, 0)
    with pytest.raises(ValueError, match="-100 %"):
        annual_to_daily(-1.0, 252)


def test_accrued_risk_free_hand_worked():
    rf = pd.Series([0.01, 0.02, 0.03, 0.04, 0.05, 0.06],
                   index=dates("2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"))
    # the 4th is no rf session and none falls since the 3rd: 0; the 8th compounds the 7th and 8th
    target = dates("2020-01-01", "2020-01-03", "2020-01-04", "2020-01-06", "2020-01-08")
    expected = [0.01, 1.02 * 1.03 - 1, 0.0, 0.04, 1.05 * 1.06 - 1]
    got = accrued_risk_free(rf, target)
    assert got.index.equals(target)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-14, atol=0)
    # the first row is not an rf session: 0 (what came before the run is not charged to it)
    got = accrued_risk_free(rf, dates("2020-01-05", "2020-01-07"))
    np.testing.assert_allclose(got.to_numpy(), [0.0, 0.04 + 0.05 + 0.04 * 0.05], rtol=1e-14, atol=0)
    # the last row is not an rf session either, but rf goes on past it
    got = accrued_risk_free(rf, dates("2020-01-02", "2020-01-05"))
    np.testing.assert_allclose(got.to_numpy(), [0.02, 0.03], rtol=1e-14, atol=0)
    # ... and has no session since the row before, which still takes everything up to its date
    got = accrued_risk_free(rf, dates("2020-01-01", "2020-01-03", "2020-01-04"))
    np.testing.assert_allclose(got.to_numpy(), [0.01, 1.02 * 1.03 - 1, 0.0], rtol=1e-14, atol=0)


def test_accrued_risk_free_on_the_same_calendar_is_rf(french):
    rf, _ = french
    got = accrued_risk_free(rf, rf.index)
    np.testing.assert_allclose(got.to_numpy(), rf.to_numpy(), rtol=1e-15, atol=0)


@pytest.mark.parametrize("calendar", ["no_saturdays", "month_ends", "spy"])
def test_accrued_risk_free_on_other_calendars_matches_a_loop(french, calendar):
    """Real T-bills onto a calendar without Saturdays (1926-52), onto month-ends, onto SPY's days."""
    rf, spy_dates = french
    if calendar == "no_saturdays":
        window = rf.loc["1926-07-01":"1927-12-31"]
        target = window.index[window.index.day_of_week != 5]
    elif calendar == "month_ends":
        window = rf.loc["1990-01-01":"1991-12-31"]
        target = window.groupby(window.index.to_period("M")).tail(1).index
    else:
        window = rf.loc["2000-01-01":"2000-12-31"]
        target = spy_dates[(spy_dates >= "2000-01-01") & (spy_dates <= "2000-12-31")]
    rf_near = rf.loc[target[0] - pd.Timedelta(days=10):target[-1] + pd.Timedelta(days=10)]
    expected = accrued_by_loop(rf_near, target)
    got = accrued_risk_free(rf, target).to_numpy()
    # the loop's (1 + rf) products carry ~1e-16 absolute rounding, 1e-12 of a 1e-4 daily rate
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    if calendar == "no_saturdays":
        # each Saturday session is earned by the next row (a Monday, or the day after a holiday);
        # the window's last day, Saturday 1927-12-31, is after the run and earned by no row
        saturdays = window.index[(window.index.day_of_week == 5) & (window.index < target[-1])]
        assert (got > rf.reindex(target).to_numpy()).sum() == len(saturdays) == 73


def test_risk_free_coverage_reasons(french):
    rf, spy_dates = french
    assert risk_free_coverage(rf, rf.index) is None
    assert risk_free_coverage(rf, spy_dates, "ff_factors:RF") == (
        f"ff_factors:RF ends on 2025-05-30, before the run's last date {spy_dates[-1]:%Y-%m-%d}")
    assert risk_free_coverage(rf.loc["1930":], rf.index, "ff_factors:RF") == (
        "ff_factors:RF starts on 1930-01-02, after the run's first date 1926-07-01")
    holed = rf.copy()
    holed.loc["1950-03-01"] = np.nan
    assert risk_free_coverage(holed, rf.index) == "the risk-free series has no value on 1950-03-01"
    assert risk_free_coverage(holed, rf.loc["1960":].index) is None  # a hole outside the run does not matter
    assert risk_free_coverage(rf.iloc[:0], rf.index) == "the risk-free series is empty"
    one_day_more = rf.index[-3:].append(pd.DatetimeIndex([pd.Timestamp("2025-06-02")]))
    assert risk_free_coverage(rf, one_day_more, "RF") == "RF ends on 2025-05-30, before the run's last date 2025-06-02"
    with pytest.raises(ValueError, match="ends on 2025-05-30, before the run's last date"):
        accrued_risk_free(rf, spy_dates)


def test_risk_free_inputs_must_be_sorted_dates():
    rf = pd.Series([0.01, 0.02], index=dates("2020-01-02", "2020-01-01"))
    with pytest.raises(ValueError, match="unique and ascending"):
        risk_free_coverage(rf, dates("2020-01-01"))
    with pytest.raises(ValueError, match="no dates"):
        risk_free_coverage(rf.sort_index(), dates())


def test_conventions_from_a_series_and_on_a_window(french):
    """Conventions.resolve accrues the series on the period; `on` re-accrues it on a subset of
    dates (each row compounds the rows since the previous one) and re-derives "auto"."""
    from backtest.stats.conventions import Conventions

    rf, _ = french
    index = rf.loc["1990-01-02":"1990-12-31"].index
    conventions = Conventions.resolve(index, "auto", "auto", rf_series=rf, rf_name="ff_factors:RF")
    assert conventions.risk_free_source == "ff_factors:RF" and conventions.note is None
    assert conventions.risk_free.iloc[0] == 0.0  # the purchase row: nothing accrues before its close
    np.testing.assert_array_equal(conventions.risk_free.to_numpy()[1:], rf.loc[index].to_numpy()[1:])
    assert conventions.periods_per_year == (len(index) - 1) / ((index[-1] - index[0]).days / 365.25)
    every_fifth = index[::5]
    window = conventions.on(every_fifth, base_row=True)
    assert window.risk_free.iloc[0] == 0.0  # the base: no return, no interest
    for i in (1, 7, len(every_fifth) - 1):  # five sessions compounded
        expected = np.prod(1 + rf.loc[every_fifth[i - 1]:every_fifth[i]].to_numpy()[1:]) - 1
        assert window.risk_free.iloc[i] == pytest.approx(expected, rel=1e-12)
    assert window.periods_per_year == pytest.approx((len(every_fifth) - 1) / ((every_fifth[-1] - every_fifth[0]).days / 365.25))
    fixed = Conventions.resolve(index, 252, "auto", rf_series=rf, rf_name="ff_factors:RF").on(every_fifth)
    assert fixed.periods_per_year == 252 and fixed.to_json()["periods_per_year_setting"] == 252


def test_conventions_from_a_rate_and_without_one():
    from backtest.stats.conventions import Conventions

    index = pd.bdate_range("2001-01-01", periods=300)
    rate = Conventions.resolve(index, 250, 0.02)
    assert rate.risk_free_source == 0.02
    assert rate.risk_free.iloc[0] == 0.0  # the purchase row
    np.testing.assert_allclose(rate.risk_free.to_numpy()[1:], 1.02 ** (1 / 250) - 1, rtol=1e-10)  # (x - 1 loses digits)
    none = Conventions.resolve(index, "auto", "auto", note="note: no T-bills")
    assert none.risk_free_source == 0 and (none.risk_free == 0).all() and none.note == "note: no T-bills"
    assert none.to_json()["risk_free_note"] == "note: no T-bills" and none.to_json()["years"] == calendar_years(index)
