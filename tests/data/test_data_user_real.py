"""The real files of ../shared/data declared through a user catalog give exactly the built-in
datasets: the same parsers behind both, whatever the catalog says the file is."""

import json
import os
import shutil

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from backtest.cli import main
from backtest.data import load_returns, source_files
from backtest.data.catalog import catalog
from tests.conftest import REPO_ROOT

SIZE = "kenfrench/Portfolios_Formed_on_ME_Daily.csv"
FACTORS = "kenfrench/F-F_Research_Data_Factors_daily.csv"
FACTORS_ZIP = "kenfrench/F-F_Research_Data_Factors_daily_CSV.zip"
INDUSTRIES = "kenfrench/10_Industry_Portfolios_Daily.csv"


def _prices(directory: str, symbols) -> dict:
    return {s: {"file": f"shared/{directory}/{s}.csv"} for s in symbols}


def _spec() -> dict:
    """Every real file, declared as a user would (paths relative to the catalog)."""
    return {
        "my_size": {"kind": "kenfrench", "returns": "total", "file": f"shared/{SIZE}"},
        "my_factors": {"kind": "kenfrench", "returns": "total", "file": f"shared/{FACTORS}", "derived": {"Mkt": ["Mkt-RF", "RF"]}},
        "my_factors_zip": {"kind": "kenfrench", "returns": "total", "file": f"shared/{FACTORS_ZIP}"},
        "my_industries": {"kind": "kenfrench", "returns": "total", "file": f"shared/{INDUSTRIES}"},
        # the cleaned size file is also a plain CSV of percent returns with -99.99 for missing
        "my_size_csv": {"kind": "returns", "returns": "total", "file": f"shared/{SIZE}", "unit": "percent",
                        "missing": [-99.99, -999]},
        "my_index": {"kind": "prices", "returns": "price", "symbols": _prices("indices", ["SPX", "RUT", "NDX"])},
        "my_etf": {"kind": "prices", "returns": "price", "symbols": _prices("etfs", ["IWM", "SPY", "QQQ", "DIA", "XLE"])},
        "my_sector": {"kind": "prices", "returns": "total", "symbols": _prices(
            "sectors", ["XLB", "XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY", "SPY"])},
        "my_tr": {"kind": "prices", "returns": "total", "symbols": _prices("etfs_total_return", ["IWM", "SPY", "XLE", "XLF"])},
    }


# user dataset -> the built-in dataset it must equal
EQUAL = {"my_size": "ff_size", "my_factors": "ff_factors", "my_industries": "ff_industry10", "my_size_csv": "ff_size",
         "my_index": "index", "my_etf": "etf", "my_sector": "sector", "my_tr": "etf_tr"}


@pytest.fixture(scope="module")
def user_catalog(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    os.symlink(shared_data, root / "shared")
    (root / "real.yaml").write_text(yaml.safe_dump(_spec(), sort_keys=False))
    return root / "real.yaml"


@pytest.mark.parametrize("mine, builtin", sorted(EQUAL.items()))
def test_user_declared_real_files_equal_the_builtin_datasets(user_catalog, shared_data, mine, builtin):
    columns = catalog()[builtin].columns
    expected = load_returns([f"{builtin}:{c}" for c in columns], [shared_data])
    got = load_returns([f"{mine}:{c}" for c in columns], [], catalogs=[user_catalog])
    pd.testing.assert_frame_equal(got.set_axis(expected.columns, axis=1), expected, check_exact=True)
    assert len(expected) > 2000


def test_the_original_zip_equals_the_builtin_reading_it(user_catalog, shared_data, tmp_path):
    """ff_factors from the zip alone (the cleaned CSV absent from the search path)."""
    (tmp_path / "kenfrench").mkdir()
    shutil.copy(shared_data / FACTORS_ZIP, tmp_path / FACTORS_ZIP)
    ids = ["Mkt-RF", "SMB", "HML", "RF"]
    expected = load_returns([f"ff_factors:{c}" for c in ids], [tmp_path])
    got = load_returns([f"my_factors_zip:{c}" for c in ids], [], catalogs=[user_catalog])
    assert len(expected) == 25_795 and expected.index[-1] == pd.Timestamp("2024-07-31")  # the zip's vintage
    pd.testing.assert_frame_equal(got.set_axis(expected.columns, axis=1), expected, check_exact=True)


def test_a_run_on_user_declared_files_equals_the_builtin_run(user_catalog, tmp_path):
    """first10_etf through the user catalog: the same statistics, bit for bit."""
    config = tmp_path / "mine.yaml"
    config.write_text(
        "strategy: {name: first10, params: {small: 'my_tr:IWM', large: 'my_tr:SPY', lookback: 10, tilt: 0.7}}\n"
        "benchmark: {name: buy_and_hold, params: {weights: {'my_tr:IWM': 0.5, 'my_tr:SPY': 0.5}, rebalance: never}}\n"
        "portfolio: {initial_cash: 100000, fees: 0.0005, slippage: 0.0005, cash: none}\n"
        f"data: {{catalog: {user_catalog}}}\n")
    outs = []
    for path in (config, REPO_ROOT / "configs" / "first10_etf.yaml"):
        result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "results"), "--json"])
        assert result.exit_code == 0, result.output
        outs.append(result.stdout)
    mine, builtin = (json.loads(o) for o in outs)
    assert mine["strategy"] == builtin["strategy"] and mine["benchmark"] == builtin["benchmark"]
    assert mine["start"] == builtin["start"] == "2000-05-30"


def test_manifest_hashes_name_the_real_file_and_the_catalog(user_catalog, shared_data):
    files = source_files(["my_tr:IWM"], [], [user_catalog])
    assert list(files) == [str((shared_data / "etfs_total_return" / "IWM.csv").resolve()), str(user_catalog.resolve())]
    assert files[str((shared_data / "etfs_total_return" / "IWM.csv").resolve())].startswith("681193f50c6387e8")  # data README
