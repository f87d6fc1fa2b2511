"""Total vs price returns: every dataset declares its type, runs record it, and a run or a
comparison that mixes the two says so on one stderr line."""

import json

import pytest
import yaml
from click.testing import CliRunner

from backtest.cli import main
from backtest.data import mixed_returns_message, return_types
from backtest.data.catalog import catalog
from backtest.errors import DataError
from tests.conftest import REPO_ROOT

# ../shared/data/README.md: "Ken French portfolios and factors are total returns (dividends
# reinvested); indices/ and etfs/ are price returns; sectors/ Adj Close and etfs_total_return/
# are total returns."
DECLARED = {"ff_size": "total", "ff_factors": "total", "ff_industry10": "total", "index": "price", "etf": "price",
            "sector": "total", "etf_tr": "total"}


def test_every_builtin_dataset_declares_its_return_type():
    assert {name: dataset.returns for name, dataset in catalog().items()} == DECLARED
    ids = [f"{name}:{column}" for name, dataset in catalog().items() for column in dataset.columns]
    assert return_types(ids) == {sid: DECLARED[sid.split(":")[0]] for sid in ids}


def test_user_datasets_declare_theirs(tmp_path):
    (tmp_path / "c.yaml").write_text("mine: {kind: returns, returns: price, file: r.csv, unit: fraction}\n")
    assert return_types(["mine:x", "etf_tr:SPY"], [tmp_path / "c.yaml"]) == {"mine:x": "price", "etf_tr:SPY": "total"}
    with pytest.raises(DataError, match="unknown series id 'mine:x'"):
        return_types(["mine:x"])


def test_the_message_names_which_are_which():
    assert mixed_returns_message({}) is None
    assert mixed_returns_message({"ff_size:Lo 30": "total", "etf_tr:SPY": "total"}) is None
    assert mixed_returns_message({"etf:SPY": "price", "index:SPX": "price"}) is None
    message = mixed_returns_message({"ff_size:Lo 30": "total", "etf:SPY": "price", "ff_factors:RF": "total"})
    assert message.startswith("mixes total returns (ff_size:Lo 30, ff_factors:RF) with price returns (etf:SPY): ")
    assert "dividend yield" in message and "\n" not in message


def _run(tmp_path, *args):
    return CliRunner().invoke(main, ["run", str(REPO_ROOT / "configs" / "first10.yaml"), "--out", str(tmp_path / "results"),
                                     "--json", *args])


def test_a_mixing_run_notes_it_on_stderr_and_records_the_types(shared_data, tmp_path):
    mixed = _run(tmp_path, "--set", "strategy.params.small=etf:IWM", "--start", "2001-01-01")
    assert mixed.exit_code == 0, mixed.output
    (note,) = mixed.stderr.splitlines()
    assert note == ("note: mixes total returns (ff_size:Hi 30, ff_size:Lo 30) with price returns (etf:IWM): "
                    "the difference includes the dividend yield (about 1.3-4 % a year for US equities)")
    run_id = json.loads(mixed.stdout)["run_id"]  # stdout still holds exactly the JSON
    manifest = json.loads((tmp_path / "results" / run_id / "manifest.json").read_text())
    assert manifest["return_types"] == {"etf:IWM": "price", "ff_size:Hi 30": "total", "ff_size:Lo 30": "total"}
    clean = _run(tmp_path, "--start", "2001-01-01")
    assert clean.exit_code == 0 and clean.stderr == ""


def test_compare_notes_a_mix_across_its_entries(shared_data, tmp_path):
    first10 = str(REPO_ROOT / "configs" / "first10.yaml")
    common = ["--out", str(tmp_path / "results"), "--resamples", "50", "--format", "json"]
    # first10_etf now trades the total-return ETFs: nothing mixed against the Ken French portfolios
    # (ended with the T-bill series, so that no zero risk-free rate is noted either)
    same = CliRunner().invoke(main, ["compare", f"{first10} --start 2001-01-01",
                                     f"{REPO_ROOT / 'configs' / 'first10_etf.yaml'} --start 2001-01-01 --end 2025-05-30", *common])
    assert same.exit_code == 0 and same.stderr == "", same.output
    assert yaml.safe_load((REPO_ROOT / "configs" / "first10_etf.yaml").read_text())["strategy"]["params"]["small"] == "etf_tr:IWM"
    # a recorded run on price returns against a config on total returns
    ran = _run(tmp_path, "--set", "strategy.params.small=etf:IWM", "--set", "strategy.params.large=etf:SPY",
               "--set", "benchmark=null", "--start", "2001-01-01", "--end", "2025-05-30")
    assert ran.exit_code == 0 and ran.stderr == "", ran.output
    run_id = json.loads(ran.stdout)["run_id"]
    mixed = CliRunner().invoke(main, ["compare", run_id, f"{first10} --start 2001-01-01", *common])
    assert mixed.exit_code == 0, mixed.output
    (note,) = mixed.stderr.splitlines()
    assert note.startswith("note: mixes total returns (") and "with price returns (etf:IWM, etf:SPY)" in note
    assert "ff_size:Lo 30" in note.split(" with ")[0]
