"""Ken French parser: the library's original multi-block format (CSV and zip) and the cleaned CSVs."""

import io
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from backtest.data import kenfrench
from backtest.errors import DataError
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "kenfrench"
ME = FIXTURES / "Portfolios_Formed_on_ME_Daily.CSV"
FACTORS = FIXTURES / "F-F_Research_Data_Factors_daily.CSV"
DATES = pd.to_datetime(["1926-07-01", "1926-07-02", "1926-07-06", "1926-07-07", "1926-07-08"])


def _zip(csv_path, tmp_path, name=None):
    """Zip a fixture CSV the way the library ships it: one .CSV member."""
    target = tmp_path / (name or csv_path.stem + "_CSV.zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(csv_path, csv_path.name)
    return target


def _crlf(*lines):
    return ("\r\n".join(lines) + "\r\n").encode()


def test_fixture_is_in_the_original_format():
    raw = ME.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 30  # CRLF throughout
    assert raw.startswith(b"This file was created") and b"Copyright" in raw.splitlines()[-1]
    assert kenfrench.block_titles(raw, str(ME)) == [
        "Value Weighted Returns -- Daily", "Equal Weighted Returns -- Daily",
        "Number of Firms in Portfolios", "Average Firm Size"]


def test_value_weighted_block_by_default_percent_to_fraction_missing_to_nan():
    frame = kenfrench.read(ME)
    assert list(frame.columns) == ["<= 0", "Lo 30", "Med 40", "Hi 30"]
    assert frame.index.name == "date" and list(frame.index) == list(DATES)
    assert all(frame.dtypes == "float64")
    assert frame["<= 0"].isna().all()  # -99.99 everywhere
    assert frame["Lo 30"].tolist() == pytest.approx([0.0038, -0.0010, -0.0003, -0.0022, 0.125], abs=1e-15)
    assert math.isnan(frame.loc["1926-07-06", "Med 40"])  # -99.99
    assert math.isnan(frame.loc["1926-07-07", "Hi 30"])  # -999
    assert frame.loc["1926-07-07", "Med 40"] == pytest.approx(0.001)
    assert frame.notna().sum().tolist() == [0, 5, 4, 4]  # nothing became 0


def test_equal_weighted_block_when_chosen_case_insensitive():
    for choice in ("equal", "EQUAL WEIGHTED", "Equal Weighted Returns -- Daily"):
        frame = kenfrench.read(ME, block=choice)
        assert frame["Lo 30"].tolist() == pytest.approx([0.0101, -0.0075, 0.0033, -0.0060, 0.02])
        assert math.isnan(frame.loc["1926-07-06", "Hi 30"])


def test_other_blocks_and_unknown_block():
    firms = kenfrench.read(ME, block="number of firms")
    assert firms["Lo 30"].iloc[-1] == pytest.approx(1.51)  # percent scaling applies to any block
    with pytest.raises(DataError) as err:
        kenfrench.read(ME, block="monthly")
    msg = str(err.value)
    assert str(ME) in msg and "'monthly'" in msg and "Equal Weighted Returns -- Daily" in msg and "\n" not in msg


def test_zip_holds_the_same_as_the_csv(tmp_path):
    archive = _zip(ME, tmp_path)
    assert archive.read_bytes()[:4] == b"PK\x03\x04"
    pd.testing.assert_frame_equal(kenfrench.read(archive), kenfrench.read(ME))
    pd.testing.assert_frame_equal(kenfrench.read(archive, block="equal"), kenfrench.read(ME, block="equal"))


def test_value_weighted_found_by_title_not_position():
    raw = ME.read_bytes().decode()
    vw, ew = raw.index("  Value Weighted"), raw.index("  Equal Weighted")
    firms = raw.index("  Number of Firms")
    swapped = raw[:vw] + raw[ew:firms] + raw[vw:ew] + raw[firms:]  # EW block first
    frame = kenfrench.parse(swapped.encode(), "swapped.CSV")
    assert frame["Lo 30"].iloc[0] == pytest.approx(0.0038)  # still the value-weighted block


def test_annual_block_is_not_daily_data():
    frame = kenfrench.read(FACTORS)
    assert list(frame.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert list(frame.index) == list(DATES[:3])  # the 1927/1928 annual rows are not dates
    assert frame["RF"].tolist() == pytest.approx([0.00009] * 3)
    assert kenfrench.block_titles(FACTORS.read_bytes(), "f") == [""]  # untitled: the preamble is no title


def test_daily_block_stops_at_first_non_daily_date():
    text = _crlf("preamble", "", ",A,B", "20200102, 1.00, 2.00", "20200103, -1.00, 0.50",
                 "202001, 3.00, 4.00", "202002, 1.00, 1.00", "", "Copyright")
    frame = kenfrench.parse(text, "mixed.CSV")
    assert len(frame) == 2 and frame["B"].tolist() == pytest.approx([0.02, 0.005])


def test_monthly_only_file_is_rejected():
    text = _crlf("x", "", ",A", "202001, 1.0", "202002, 2.0")
    with pytest.raises(DataError, match="monthly.CSV: no daily"):
        kenfrench.parse(text, "monthly.CSV")


def test_cleaned_forms():
    dated = b"Date,Mkt-RF,RF\r\n19260701,0.09,0.009\r\n19260702,0.45,0.009\r\n"
    frame = kenfrench.parse(dated, "c.csv")
    assert frame["Mkt-RF"].tolist() == pytest.approx([0.0009, 0.0045])
    blank = b",NoDur,Durbl\r\n19260701,   0.02,  -0.28\r\n19260702,   0.29,  -99.99"  # no final newline
    frame = kenfrench.parse(blank, "i.csv")
    assert frame["NoDur"].tolist() == pytest.approx([0.0002, 0.0029])
    assert math.isnan(frame["Durbl"].iloc[1])


@pytest.mark.parametrize("body, fragment", [
    (",A,B\n20200102, 1.0, x\n", "date 20200102, column 'B': 'x' is not a number"),
    (",A,B\n20200102, 1.0\n", "line 2 (date 20200102) has 2 fields, expected 3"),
    (",A,B\n20200102, 1.0, 2.0\n20200102, 1.0, 2.0\n", "duplicate date 2020-01-02"),
    (",A,B\n20201302, 1.0, 2.0\n", "'20201302' is not a valid YYYYMMDD date"),
    ("just text\n", "no daily Ken French table"),
])
def test_malformed_files_name_file_and_place(body, fragment):
    with pytest.raises(DataError) as err:
        kenfrench.parse(body.encode(), "bad.CSV")
    assert str(err.value).startswith("bad.CSV: ") and fragment in str(err.value)


def test_zip_with_several_members_is_rejected(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.CSV", "x")
        archive.writestr("b.CSV", "y")
    with pytest.raises(DataError, match="expected one CSV in the zip, found 2"):
        kenfrench.parse(buffer.getvalue(), "two.zip")
    with pytest.raises(DataError, match="not a readable zip"):
        kenfrench.parse(b"PK\x03\x04garbage", "broken.zip")


# ---------------------------------------------------------------- real data


def test_real_zip_agrees_with_cleaned_csv(shared_data):
    """The zip is the 2024-07 vintage, the cleaned CSV a 2025-05 one: same calendar up to
    2024-07-31, RF equal to the printed 3 decimals but for 207 rounding flips of 0.001 pp,
    the factors revised slightly (HML most)."""
    z = kenfrench.read(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily_CSV.zip")
    c = kenfrench.read(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily.csv")
    assert list(z.columns) == list(c.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert len(z) == 25_795 and z.index[0] == pd.Timestamp("1926-07-01") and z.index[-1] == pd.Timestamp("2024-07-31")
    assert z.notna().all().all()
    assert z.index.isin(c.index).all()  # the zip's calendar is a prefix of the newer file's
    c = c.loc[z.index]
    assert (c.index == z.index).all() and len(c.loc["2024-08-01":]) == 0
    # spot values as printed in both files (percent): 1926-07-02 Mkt-RF 0.45, RF 0.009
    assert z.loc["1926-07-02"].tolist() == pytest.approx([0.0045, -0.0033, -0.0006, 0.00009])
    assert c.loc["1926-07-02"].tolist() == pytest.approx([0.0045, -0.0033, -0.0006, 0.00009])
    rf_diff = (z["RF"] - c["RF"]).abs() * 100
    assert rf_diff.max() == pytest.approx(0.001) and (rf_diff < 1e-9).mean() > 0.99
    corr = {col: np.corrcoef(z[col], c[col])[0, 1] for col in z.columns}
    assert corr["Mkt-RF"] > 0.9999 and corr["SMB"] > 0.999 and corr["HML"] > 0.998 and corr["RF"] > 0.9999
    market_z, market_c = z["Mkt-RF"] + z["RF"], c["Mkt-RF"] + c["RF"]
    assert (market_z - market_c).abs().median() == 0  # most days unrevised
