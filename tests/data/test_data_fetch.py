"""Downloads: a local http.server stands in for the Ken French library; a fake yfinance for Yahoo."""

import functools
import http.server
import sys
import threading
import types
import zipfile

import pandas as pd
import pytest

from backtest.data import load_returns, yahoo
from backtest.data.fetch import fetch, yahoo_csv
from backtest.errors import DataError
from tests.conftest import REPO_ROOT

FACTORS_CSV = REPO_ROOT / "tests" / "fixtures" / "kenfrench" / "F-F_Research_Data_Factors_daily.CSV"
ZIP_NAME = "F-F_Research_Data_Factors_daily_CSV.zip"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    with zipfile.ZipFile(root / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(FACTORS_CSV, FACTORS_CSV.name)
    (root / "10_Industry_Portfolios_Daily_CSV.zip").write_text("<html>moved</html>")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_kenfrench_download_lands_and_parses(server, tmp_path):
    dest = tmp_path / "data"
    [saved] = fetch(["ff_factors"], dest, base_url=server)
    assert saved == dest / "kenfrench" / ZIP_NAME
    assert saved.read_bytes() == (tmp_path / "www" / ZIP_NAME).read_bytes()
    assert not list((dest / "kenfrench").glob(".tmp-*"))
    frame = load_returns(["ff_factors:Mkt", "ff_factors:RF"], [dest])
    assert len(frame) == 3 and frame["ff_factors:Mkt"].iloc[0] == pytest.approx(0.00109)


def test_unreachable_url_is_a_one_line_data_error(tmp_path):
    with pytest.raises(DataError) as err:
        fetch(["ff_size"], tmp_path, base_url="http://127.0.0.1:9/", timeout=5)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("could not download ff_size from http://127.0.0.1:9/Portfolios_Formed_on_ME_Daily_CSV.zip")
    assert not (tmp_path / "kenfrench").exists()


def test_http_error_and_bad_content_leave_no_file(server, tmp_path):
    with pytest.raises(DataError, match="could not download ff_size .* HTTP 404"):
        fetch(["ff_size"], tmp_path, base_url=server)
    with pytest.raises(DataError, match="downloaded for ff_industry10.*no daily Ken French table"):
        fetch(["ff_industry10"], tmp_path, base_url=server)  # an HTML page, not the data
    assert not list(tmp_path.glob("kenfrench/*"))


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'ff_nope' to fetch .*ff_size.*index:SPX"):
        fetch(["ff_nope"], tmp_path)


def test_yahoo_without_yfinance_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", None)  # import yfinance -> ImportError
    with pytest.raises(DataError, match=r"install backtest\[yahoo\]") as err:
        fetch(["index:SPX"], tmp_path)
    assert "index:SPX" in str(err.value)
    with pytest.raises(DataError, match=r"install backtest\[yahoo\]"):
        fetch(None, tmp_path)  # fails before downloading anything
    assert not list(tmp_path.iterdir())


def _history(ticker):
    """What yfinance.download returns (recent versions: (field, ticker) column MultiIndex)."""
    index = pd.DatetimeIndex(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]), name="Date")
    fields = {"Adj Close": [99.0, 100.0, 101.5], "Close": [100.0, 101.0, 102.5], "High": [101.0, 102.0, 103.0],
              "Low": [99.0, 100.0, 101.0], "Open": [100.0, 100.5, 101.0], "Volume": [1000, 1100, 1200]}
    frame = pd.DataFrame(fields, index=index)
    frame.columns = pd.MultiIndex.from_product([frame.columns, [ticker]], names=["Price", "Ticker"])
    return frame


def test_yahoo_fetch_writes_classic_csv(tmp_path, monkeypatch):
    calls = []

    def download(ticker, **kwargs):
        calls.append((ticker, kwargs))
        return _history(ticker)
    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    saved = fetch(["index:SPX", "etf"], tmp_path)
    assert saved[0] == tmp_path / "indices" / "SPX.csv" and len(saved) == 6
    assert [c[0] for c in calls] == ["^GSPC", "IWM", "SPY", "QQQ", "DIA", "XLE"]
    assert calls[0][1]["auto_adjust"] is False and calls[0][1]["period"] == "max"
    text = (tmp_path / "indices" / "SPX.csv").read_text()
    assert text.splitlines()[:2] == ["Date,Open,High,Low,Close,Adj Close,Volume", "2024-01-02,100.0,101.0,99.0,100.0,99.0,1000"]
    # etf files keep the shipped semantics: split-adjusted Close only (price return)
    assert (tmp_path / "etfs" / "IWM.csv").read_text().splitlines()[0] == "Date,Open,High,Low,Close,Volume"
    frame = load_returns(["index:SPX", "etf:IWM"], [tmp_path])
    assert frame["index:SPX"].iloc[2] == pytest.approx(101.5 / 100.0 - 1)  # Adj Close
    assert frame["etf:IWM"].iloc[2] == pytest.approx(102.5 / 101.0 - 1)  # Close


def test_yahoo_fetch_with_no_rows_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=lambda t, **k: pd.DataFrame()))
    with pytest.raises(DataError, match=r"could not download sector:XLK \(XLK\) .*no rows"):
        fetch(["sector:XLK"], tmp_path)
    assert not list(tmp_path.iterdir())


def test_yahoo_csv_round_trip_flat_columns():
    flat = _history("QQQ").droplevel(1, axis=1)
    parsed = yahoo.parse(yahoo_csv(flat, adjusted=True), "x")
    assert parsed["Adj Close"].tolist() == [99.0, 100.0, 101.5]
