"""Catalog, search path and the public loading API, on the real files and on small ones."""

import hashlib
import math
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import backtest.data as data
from backtest.data import (
    align_calendars,
    check_series_id,
    default_search_path,
    list_datasets,
    load_returns,
    source_files,
)
from backtest.data.catalog import catalog
from backtest.errors import DataError, UserError
from tests.conftest import REPO_ROOT, SHARED_DATA

# The README table of ../shared/data: (rows, first, last). ff_factors resolves to the cleaned CSV
# (first candidate, 2025-05), not the older 2024-07 vintage of the original zip beside it.
EXPECTED = {
    "ff_size": (26_003, "1926-07-01", "2025-05-30"),
    "ff_factors": (26_003, "1926-07-01", "2025-05-30"),
    "ff_industry10": (25_982, "1926-07-01", "2025-04-30"),
    "index:SPX": (24_656, "1927-12-30", "2026-02-27"),
    "index:RUT": (9_297, "1987-09-10", "2024-08-02"),
    "index:NDX": (10_181, "1985-10-01", "2026-02-27"),
    "etf:IWM": (6_598, "2000-05-26", "2026-08-21"),
    "etf:SPY": (8_448, "1993-01-29", "2026-08-21"),
    "etf:QQQ": (6_906, "1999-03-10", "2026-08-21"),
    "etf:DIA": (7_192, "1998-01-20", "2026-08-21"),
    "etf:XLE": (6_958, "1998-12-22", "2026-08-21"),
    **{f"sector:{s}": (2_515, "2015-01-02", "2024-12-30")
       for s in ["XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY", "SPY"]},
    "etf_tr:IWM": (6_622, "2000-05-26", "2026-09-25"),
    "etf_tr:SPY": (8_472, "1993-01-29", "2026-09-25"),
    "etf_tr:XLE": (6_982, "1998-12-22", "2026-09-25"),
    "etf_tr:XLF": (6_982, "1998-12-22", "2026-09-25"),
}
REQUIRED_IDS = {
    "ff_size": ["<= 0", "Lo 30", "Med 40", "Hi 30", "Lo 20", "Qnt 2", "Qnt 3", "Qnt 4", "Hi 20", "Lo 10",
                "2-Dec", "3-Dec", "4-Dec", "5-Dec", "6-Dec", "7-Dec", "8-Dec", "9-Dec", "Hi 10"],
    "ff_factors": ["Mkt-RF", "SMB", "HML", "RF", "Mkt"],
    "ff_industry10": ["NoDur", "Durbl", "Manuf", "Enrgy", "HiTec", "Telcm", "Shops", "Hlth", "Utils", "Other"],
    "index": ["SPX", "RUT", "NDX"],
    "etf": ["IWM", "SPY", "QQQ", "DIA", "XLE"],
    "sector": ["XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY", "SPY"],
    "etf_tr": ["IWM", "SPY", "XLE", "XLF"],
}
ALL_IDS = [f"{d}:{c}" for d, cols in REQUIRED_IDS.items() for c in cols]


def test_catalog_has_exactly_the_required_ids():
    assert {name: ds.columns for name, ds in catalog().items()} == REQUIRED_IDS
    for sid in ALL_IDS:
        check_series_id(sid)
    kf = catalog()["ff_size"].sources["Lo 30"]
    assert kf.files == ("kenfrench/Portfolios_Formed_on_ME_Daily.csv", "kenfrench/Portfolios_Formed_on_ME_Daily_CSV.zip")
    assert kf.url == "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/Portfolios_Formed_on_ME_Daily_CSV.zip"
    assert catalog()["index"].sources["SPX"].ticker == "^GSPC"
    assert catalog()["index"].sources["RUT"].ticker == "^RUT" and catalog()["etf"].sources["IWM"].ticker == "IWM"


@pytest.fixture(scope="module")
def everything(shared_data, tmp_path_factory):
    """Every catalog series, loaded once (module scope: the cache dir is set here too)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKTEST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        return load_returns(ALL_IDS, [shared_data])


def test_every_series_loads_with_the_readme_calendar(everything, shared_data):
    frame = everything
    assert list(frame.columns) == ALL_IDS and all(frame.dtypes == "float64")
    assert frame.index.name == "date" and frame.index.is_monotonic_increasing and frame.index.is_unique
    calendars = []
    for key, (rows, first, last) in EXPECTED.items():
        ids = [key] if ":" in key else [f"{key}:{c}" for c in REQUIRED_IDS[key]]
        own = load_returns(ids, [shared_data])  # one file: its own calendar
        assert len(own) == rows and own.index[0] == pd.Timestamp(first) and own.index[-1] == pd.Timestamp(last), key
        if ":" in key:  # price file: one return per price row, the first NaN (no previous close)
            assert math.isnan(own.iloc[0, 0]) and own.iloc[1:].notna().all().all(), key
        else:
            assert own.drop(columns=["ff_size:<= 0"], errors="ignore").notna().all().all(), key
        pd.testing.assert_frame_equal(frame[ids].loc[own.index], own, check_freq=False)
        assert frame[ids].drop(own.index).isna().all().all()  # NaN on the other files' dates
        calendars.append(own.index)
    union = calendars[0]
    for index in calendars[1:]:
        union = union.union(index)
    assert frame.index.equals(union)  # the union calendar: every date of every file, nothing else
    assert frame.index[0] == pd.Timestamp("1926-07-01") and frame.index[-1] == pd.Timestamp("2026-09-25")


def test_each_series_alone_has_its_own_calendar(shared_data):
    for sid, (rows, first, last) in [("etf:IWM", EXPECTED["etf:IWM"]), ("ff_size:Lo 30", EXPECTED["ff_size"])]:
        frame = load_returns([sid], [shared_data])
        assert len(frame) == rows and frame.index[0] == pd.Timestamp(first) and frame.index[-1] == pd.Timestamp(last)


def test_kenfrench_values_are_fractions(shared_data):
    frame = load_returns(["ff_size:Lo 30", "ff_factors:RF", "ff_industry10:NoDur"], [shared_data])
    first = frame.loc["1926-07-01"]
    assert first["ff_size:Lo 30"] == pytest.approx(0.0038)  # printed 0.38 (percent)
    assert first["ff_factors:RF"] == pytest.approx(0.00009)  # printed 0.009
    assert first["ff_industry10:NoDur"] == pytest.approx(0.0002)  # printed 0.02


def test_mkt_is_mkt_rf_plus_rf(shared_data):
    frame = load_returns(["ff_factors:Mkt", "ff_factors:Mkt-RF", "ff_factors:RF"], [shared_data])
    np.testing.assert_array_equal(frame["ff_factors:Mkt"], frame["ff_factors:Mkt-RF"] + frame["ff_factors:RF"])
    assert frame.loc["1926-07-01", "ff_factors:Mkt"] == pytest.approx(0.00099)  # 0.09 + 0.009 percent


def test_size_column_le_0_is_all_missing(shared_data):
    frame = load_returns(["ff_size:<= 0"], [shared_data])
    assert len(frame) == 26_003 and frame["ff_size:<= 0"].isna().all()


def test_ids_as_given_duplicates_once(shared_data):
    frame = load_returns(["index:RUT", "ff_size:Hi 10", "index:RUT"], [shared_data])
    assert list(frame.columns) == ["index:RUT", "ff_size:Hi 10"]
    assert load_returns([], [shared_data]).shape == (0, 0)


@pytest.mark.parametrize("sid, fragments", [
    ("ff_size:Lo30", ["'ff_size:Lo30'", "did you mean 'Lo 30'", "Lo 30, Med 40"]),
    ("ff_size:lo 30", ["'ff_size:lo 30'", "did you mean 'Lo 30'"]),
    ("nope:SPX", ["'nope:SPX'", "no dataset 'nope'", "ff_size, ff_factors, ff_industry10, index, etf, sector"]),
    ("etf:VTI", ["'etf:VTI'", "etf has no column 'VTI'", "IWM, SPY, QQQ, DIA, XLE"]),
    ("SPY", ["'SPY'", "'<dataset>:<column>'"]),
])
def test_unknown_ids_are_data_errors_naming_the_id(sid, fragments):
    for call in (lambda: check_series_id(sid), lambda: load_returns(["ff_size:Lo 30", sid], ["/nonexistent"])):
        with pytest.raises(DataError) as err:
            call()
        msg = str(err.value)
        assert isinstance(err.value, UserError) and "\n" not in msg
        for fragment in fragments:
            assert fragment in msg, msg


def test_check_series_id_touches_no_file(monkeypatch):
    def boom(*args):
        raise AssertionError("file I/O")
    monkeypatch.setattr("backtest.data.catalog.find_file", boom)
    monkeypatch.setattr("backtest.data.catalog.read_source", boom)
    check_series_id("ff_size:Lo 30")
    with pytest.raises(DataError):
        check_series_id("ff_size:Nope")


def test_missing_file_names_dataset_files_and_directories(tmp_path):
    empty = tmp_path / "empty"
    for call in (lambda: load_returns(["ff_size:Lo 30"], [empty, tmp_path]),
                 lambda: source_files(["ff_size:Lo 30"], [empty, tmp_path])):
        with pytest.raises(DataError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg and "dataset ff_size not found" in msg
        assert "kenfrench/Portfolios_Formed_on_ME_Daily_CSV.zip" in msg and "kenfrench/Portfolios_Formed_on_ME_Daily.csv" in msg
        assert str(empty) in msg and str(tmp_path) in msg and "backtest data fetch ff_size" in msg
    with pytest.raises(DataError, match="dataset sector:XLK not found: tried sectors/XLK.csv"):
        load_returns(["sector:XLK"], [empty])


def test_search_path_order_and_priority(tmp_path, shared_data):
    """Directories in order; within one directory the cleaned CSV before the original zip."""
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "kenfrench").mkdir(parents=True)
    (second / "kenfrench").mkdir(parents=True)
    cleaned = "kenfrench/F-F_Research_Data_Factors_daily.csv"
    shutil.copy(shared_data / cleaned, first / cleaned)
    shutil.copy(shared_data / "kenfrench/F-F_Research_Data_Factors_daily_CSV.zip", second / "kenfrench")
    assert len(load_returns(["ff_factors:RF"], [first, second])) == 26_003  # first directory wins
    assert len(load_returns(["ff_factors:RF"], [second, first])) == 25_795
    shutil.copy(shared_data / "kenfrench/F-F_Research_Data_Factors_daily_CSV.zip", first / "kenfrench")
    assert len(load_returns(["ff_factors:RF"], [first])) == 26_003  # CSV before zip in one directory


def test_default_search_path(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKTEST_DATA_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_search_path() == [tmp_path / "data", tmp_path.parent / "shared" / "data",
                                     REPO_ROOT / "data", REPO_ROOT.parent / "shared" / "data"]
    monkeypatch.chdir(REPO_ROOT)  # the same two, once each
    assert default_search_path() == [REPO_ROOT / "data", SHARED_DATA]
    monkeypatch.setenv("BACKTEST_DATA_PATH", os.pathsep.join([str(tmp_path / "x"), "", "rel", str(tmp_path / "x")]))
    assert default_search_path() == [tmp_path / "x", REPO_ROOT / "rel"]
    assert data.default_search_path is default_search_path


def test_env_var_search_path_is_used_by_load(monkeypatch, tmp_path, shared_data):
    monkeypatch.setenv("BACKTEST_DATA_PATH", str(tmp_path))
    with pytest.raises(DataError, match=str(tmp_path)):
        load_returns(["etf:SPY"])
    monkeypatch.setenv("BACKTEST_DATA_PATH", os.pathsep.join([str(tmp_path), str(shared_data)]))
    assert len(load_returns(["etf:SPY"])) == 8_448


def test_align_calendars_on_a_small_frame():
    index = pd.DatetimeIndex(pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-04", "2020-01-06", "2020-01-07"]),
                             name="date")
    frame = pd.DataFrame({"a": [np.nan, 0.01, 0.02, 0.03, np.nan],
                          "b": [0.1, 0.2, np.nan, 0.4, 0.5],
                          "c": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=index)
    aligned, dropped = align_calendars(frame)
    assert dropped == 3
    assert list(aligned.index) == list(pd.to_datetime(["2020-01-03", "2020-01-06"]))
    assert aligned["a"].tolist() == [0.01, 0.03] and aligned["b"].tolist() == [0.2, 0.4]
    full, none = align_calendars(frame[["c"]])
    assert none == 0 and full.equals(frame[["c"]])


def test_a_price_files_first_row_is_no_calendar_difference(shared_data):
    """A price file's first row has no return yet: dropped, but not counted as a row the
    calendars disagree on (`1 dates dropped to align the series' calendars` was printed for one
    series, and for two ETFs sharing every date)."""
    one = load_returns(["etf:SPY"], [shared_data])
    aligned, dropped = align_calendars(one)
    assert dropped == 0 and one.iloc[0].isna().all() and aligned.index[0] == one.index[1]
    both, dropped = align_calendars(load_returns(["sector:XLK", "sector:XLU"], [shared_data]))
    assert dropped == 0 and both.notna().all().all()


def test_align_real_size_and_etf(shared_data):
    aligned, dropped = align_calendars(load_returns(["ff_size:Lo 30", "etf:IWM"], [shared_data]))
    assert aligned.index[0] == pd.Timestamp("2000-05-30")  # IWM's first return
    assert aligned.index[-1] == pd.Timestamp("2025-05-30") and aligned.notna().all().all()
    union = load_returns(["ff_size:Lo 30", "etf:IWM"], [shared_data])
    assert dropped == len(union) - len(aligned)


def test_source_files_hash_each_file_once(shared_data):
    files = source_files(["ff_size:Lo 30", "ff_size:Hi 30", "etf:SPY", "ff_factors:Mkt"], [shared_data])
    size = (shared_data / "kenfrench/Portfolios_Formed_on_ME_Daily.csv").resolve()
    assert list(files) == [str(size), str((shared_data / "etfs/SPY.csv").resolve()),
                           str((shared_data / "kenfrench/F-F_Research_Data_Factors_daily.csv").resolve())]
    assert files[str(size)] == hashlib.sha256(size.read_bytes()).hexdigest()


def test_list_datasets(shared_data, tmp_path):
    infos = {i.name: i for i in list_datasets([shared_data])}
    assert set(infos) == set(EXPECTED)
    for name, (rows, first, last) in EXPECTED.items():
        info = infos[name]
        assert info.rows == rows and info.error is None, name
        assert info.first_date == pd.Timestamp(first) and info.last_date == pd.Timestamp(last), name
        assert info.found_path is not None and info.found_path.is_file() and info.url.startswith("https://")
    assert infos["ff_factors"].series == [f"ff_factors:{c}" for c in REQUIRED_IDS["ff_factors"]]
    assert infos["ff_factors"].price_field == "returns" and infos["index:SPX"].series == ["index:SPX"]
    assert infos["index:RUT"].price_field == "Adj Close" and infos["etf:QQQ"].price_field == "Close"
    assert infos["sector:XLE"].price_field == "Adj Close"
    for info in list_datasets([tmp_path]):
        assert info.found_path is None and info.rows is None and info.first_date is None


def test_list_datasets_reports_a_broken_file(tmp_path):
    (tmp_path / "etfs").mkdir()
    (tmp_path / "etfs" / "SPY.csv").write_text("Date,Close\n2020-01-02,0\n")
    info = {i.name: i for i in list_datasets([tmp_path])}["etf:SPY"]
    assert info.found_path == tmp_path / "etfs" / "SPY.csv" and info.rows is None
    assert "not a positive price" in info.error and str(tmp_path) in info.error
    with pytest.raises(DataError, match="SPY.csv: date 2020-01-02: Close 0 is not a positive price"):
        load_returns(["etf:SPY"], [tmp_path])


def test_file_without_a_requested_column(tmp_path):
    (tmp_path / "kenfrench").mkdir()
    fixture = REPO_ROOT / "tests" / "fixtures" / "kenfrench" / "Portfolios_Formed_on_ME_Daily.CSV"
    shutil.copy(fixture, tmp_path / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv")
    assert load_returns(["ff_size:Lo 30"], [tmp_path]).shape == (5, 1)  # the columns it has load
    with pytest.raises(DataError) as err:
        load_returns(["ff_size:Lo 30", "ff_size:Lo 20"], [tmp_path])
    assert "Portfolios_Formed_on_ME_Daily.csv: no column 'Lo 20' for series ff_size:Lo 20" in str(err.value)
    info = {i.name: i for i in list_datasets([tmp_path])}["ff_size"]
    assert info.rows == 5 and "'Lo 20'" in info.error
