"""`backtest data add NAME FILE`: a file read as a run would read it, then declared in a catalog."""

import json

import pytest
import yaml
from click.testing import CliRunner

from backtest.cli import main
from backtest.data import load_returns
from tests.data.test_data_user_catalog import KF_ORIGINAL, LOWER_CRLF, LOWER_CRLF_CLOSES, RETURNS_PERCENT, WEB_EXPORT, _plain_column, _plain_returns, _zip


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "IWM.csv").write_bytes(LOWER_CRLF.encode())
    (folder / "XLK.csv").write_bytes(WEB_EXPORT.encode())
    (folder / "size_CSV.zip").write_bytes(_zip("size.CSV", KF_ORIGINAL))
    (folder / "funds.csv").write_text(RETURNS_PERCENT)
    (folder / "bad.csv").write_text("date,close\n2024-01-02,100\n2024-01-03,n/a?\n")
    return folder


def _add(*args):
    return CliRunner().invoke(main, ["data", "add", *map(str, args)])


def test_add_writes_a_catalog_that_runs_read(files, tmp_path):
    catalog = tmp_path / "cat" / "my_data.yaml"
    first = _add("mytech", files / "IWM.csv", "--returns", "total", "--catalog", catalog)
    assert first.exit_code == 0, first.output
    assert first.stdout == f"{catalog}: mytech:IWM\n"
    second = _add("mytech", files / "XLK.csv", "--returns", "total", "--catalog", catalog)
    assert second.stdout == f"{catalog}: mytech:IWM, mytech:XLK\n"
    named = _add("mytech:TECH", files / "XLK.csv", "--returns", "total", "--catalog", catalog)
    assert named.stdout == f"{catalog}: mytech:IWM, mytech:XLK, mytech:TECH\n"
    size = _add("size", files / "size_CSV.zip", "--catalog", catalog)  # a Ken French file, told by its form: total
    assert size.stdout == f"{catalog}: size:Lo 30, size:Med 40, size:Hi 30\n"
    funds = _add("funds", files / "funds.csv", "--unit", "percent", "--returns", "price", "--catalog", catalog)
    assert funds.stdout == f"{catalog}: funds:Fund A, funds:Fund B\n"
    spec = yaml.safe_load(catalog.read_text())
    assert spec["mytech"] == {"kind": "prices", "returns": "total", "symbols": {
        "IWM": {"file": "../downloads/IWM.csv"}, "XLK": {"file": "../downloads/XLK.csv"}, "TECH": {"file": "../downloads/XLK.csv"}}}
    assert spec["size"] == {"kind": "kenfrench", "returns": "total", "file": "../downloads/size_CSV.zip"}
    assert spec["funds"] == {"kind": "returns", "returns": "price", "file": "../downloads/funds.csv", "unit": "percent"}
    frame = load_returns(["mytech:IWM", "size:Lo 30", "funds:Fund A"], [], catalogs=[catalog])
    assert frame["mytech:IWM"].dropna().tolist() == _plain_returns(LOWER_CRLF_CLOSES)[1:]
    funds = load_returns(["funds:Fund A"], [], catalogs=[catalog])["funds:Fund A"]
    assert funds.tolist() == _plain_column(RETURNS_PERCENT, "Fund A")  # no `missing:` declared: -99.99 is a number
    assert not list(catalog.parent.glob(".*.tmp"))


def test_a_new_dataset_keeps_the_catalogs_comments(files, tmp_path):
    catalog = tmp_path / "my_data.yaml"
    catalog.write_text("# my datasets\nmine:  # the first\n  kind: prices\n  returns: total\n  symbols: {A: {file: downloads/IWM.csv}}\n")
    added = _add("size", files / "size_CSV.zip", "--catalog", catalog)
    assert added.exit_code == 0, added.output
    assert catalog.read_text().startswith("# my datasets\nmine:  # the first\n")
    extended = _add("mine:B", files / "IWM.csv", "--returns", "total", "--catalog", catalog)
    assert extended.exit_code == 2
    assert extended.stderr == (f"error: {catalog}: holds comments that rewriting it would lose; add under mine.symbols "
                               "by hand: B: {file: downloads/IWM.csv}\n")


def test_a_new_symbol_refuses_a_catalog_with_comments_after_values(files, tmp_path):
    """The README's catalog holds comments after values only (`kind: prices   # ...`): rewriting
    it would lose them, so data add refuses and leaves the file as it was."""
    catalog = tmp_path / "my_data.yaml"
    text = "mine:\n  kind: prices   # a price file per symbol\n  returns: total\n  symbols: {A: {file: downloads/IWM.csv}}\n"
    catalog.write_text(text)
    extended = _add("mine:B", files / "IWM.csv", "--returns", "total", "--catalog", catalog)
    assert extended.exit_code == 2 and "holds comments that rewriting it would lose" in extended.stderr
    assert catalog.read_text() == text


@pytest.mark.parametrize("args, fragments", [
    (["mytech", "bad.csv", "--returns", "total"], ["bad.csv: date 2024-01-03: close 'n/a?' is not a number"]),
    (["mytech", "IWM.csv"], ["IWM.csv: give --returns total|price", "close include dividends"]),
    (["etf", "IWM.csv", "--returns", "price"], ["would shadow the built-in dataset 'etf'"]),
    (["funds", "funds.csv", "--returns", "total"], ["funds.csv: neither a price file", "give --kind prices|returns|kenfrench"]),
    (["funds", "funds.csv", "--kind", "returns", "--returns", "total"], ["a returns file needs --unit percent|fraction"]),
    (["size:X", "size_CSV.zip"], ["only a prices dataset takes NAME:SYMBOL"]),
    (["mytech", "missing.csv", "--returns", "total"], ["missing.csv: no such file to add"]),
])
def test_bad_additions_are_one_line_and_write_nothing(files, tmp_path, args, fragments):
    catalog = tmp_path / "my_data.yaml"
    name, file, *options = args
    result = _add(name, files / file, *options, "--catalog", catalog)
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    for fragment in fragments:
        assert fragment in line, line
    assert not catalog.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_name_already_declared(files, tmp_path):
    catalog = tmp_path / "my_data.yaml"
    assert _add("size", files / "size_CSV.zip", "--catalog", catalog).exit_code == 0
    before = catalog.read_text()
    again = _add("size", files / "size_CSV.zip", "--catalog", catalog)
    assert again.exit_code == 2 and "dataset 'size' is already declared" in again.stderr
    assert _add("mytech", files / "IWM.csv", "--returns", "total", "--catalog", catalog).exit_code == 0
    twice = _add("mytech", files / "IWM.csv", "--returns", "total", "--catalog", catalog)
    assert twice.exit_code == 2 and "mytech.symbols.IWM is already declared" in twice.stderr
    other_type = _add("mytech:X", files / "XLK.csv", "--returns", "price", "--catalog", catalog)
    assert other_type.exit_code == 2 and "dataset 'mytech' is already declared (prices, returns total)" in other_type.stderr
    assert json.dumps(yaml.safe_load(catalog.read_text())) == json.dumps(yaml.safe_load(before + "\nmytech:\n  kind: prices\n"
                                                                                      "  returns: total\n  symbols:\n"
                                                                                      "    IWM: {file: downloads/IWM.csv}\n"))
