"""The bad-input corpus (tests/bad_inputs/cases.yaml) through the `backtest` CLI.

Every case must exit with code 2, print exactly one line on stderr naming the file and the key /
line / date at fault (each case lists the substrings it expects), print no traceback and leave
nothing under the results root. All cases run in-process (click's CliRunner, fast); a set
covering every stage (config, strategy, data, output) also runs through the installed console
script in a subprocess, where a traceback or a second line would really reach the terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from backtest.cli import main
from backtest.data import kenfrench
from backtest.errors import DataError

BAD_INPUTS = REPO_ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((BAD_INPUTS / "cases.yaml").read_text())
BY_ID = {case["id"]: case for case in CASES}

# the issue's list: every item must stay covered by at least one case
ISSUE_ITEMS = [
    "malformed YAML", "empty file", "unknown top-level key", "unknown nested key", "wrong types",
    "negative weights", "weights > 1", "fees < 0", "unknown strategy", "unknown parameter",
    "parameter out of range", "unknown series id", "missing data file", "truncated Ken French zip",
    "corrupt Ken French zip", "a CSV with no date column", "unparseable dates", "duplicate dates",
    "unsorted dates", "-99.99 sentinel", "-999 sentinel", "NaN runs", "zero prices", "negative prices",
    "a date range with no data", "start after end", "shorter than the strategy's lookback",
    "strategy file that does not exist", "syntax error", "a strategy that raises",
    "weights with wrong columns", "NaN weights", "inf weights", "above the allowed leverage",
    "--set with a bad path", "--set with a bad value", "an unwritable output directory",
    "a bad user catalog", "a bad user data file",
    "a date that does not exist (flag)", "a date that does not exist (YAML)", "a misspelt top-level key (did you mean)",
    "a series that has no data at all",
]

# through the real entry point: one or more per stage that can fail
SUBPROCESS_CASES = [
    "malformed_yaml", "unknown_nested_key", "unknown_series_column", "zip_corrupt", "kf_unsorted_dates",
    "sentinel_99_99_in_window", "window_shorter_than_lookback", "strategy_raises", "strategy_leverage",
    "set_bad_path", "unwritable_output", "user_catalog_no_return_type", "user_returns_not_a_number",
]


def _args(case: dict, out: Path) -> list[str]:
    args = list(map(str, case["args"]))
    return args if "--out" in args or args[0] in ("data", "strategies") else [*args, "--out", str(out)]  # these write no results


def _check(case: dict, code: int, stdout: str, stderr: str, out: Path) -> None:
    assert code == 2, f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stdout + stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for fragment in case["expect"]:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert stdout == ""
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def test_corpus_covers_the_issue_list():
    assert len(CASES) >= 30 and len(BY_ID) == len(CASES)
    covered = " | ".join(case["covers"] for case in CASES)
    missing = [item for item in ISSUE_ITEMS if item not in covered]
    assert not missing
    for case in CASES:  # every fixture a case names exists (a typo would pass for the wrong reason)
        for arg in case["args"]:
            if str(arg).startswith(("configs/", "data.path=", "data.catalog=")) and "no_such" not in str(arg):
                target = str(arg).removeprefix("data.path=[../").removeprefix("data.catalog=../").rstrip("]")
                assert (BAD_INPUTS / target).exists(), (case["id"], arg)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_input_in_process(case, tmp_path, monkeypatch):
    monkeypatch.chdir(BAD_INPUTS)
    out = tmp_path / "results"
    result = CliRunner().invoke(main, _args(case, out))
    assert isinstance(result.exception, SystemExit), result.exception  # no exception escaped
    _check(case, result.exit_code, result.stdout, result.stderr, out)


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("backtest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backtest.cli"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_through_console_script(case_id, tmp_path):
    case = BY_ID[case_id]
    out = tmp_path / "results"
    proc = subprocess.run([*_entry_point(), *_args(case, out)], cwd=BAD_INPUTS, capture_output=True, text=True, timeout=120)
    _check(case, proc.returncode, proc.stdout, proc.stderr, out)


# ------------------------------------------------------------- the fixtures are only bad where meant


def _run_json(tmp_path, *args):
    result = CliRunner().invoke(main, ["run", *args, "--out", str(tmp_path / "results"), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("config", ["configs/kf_buy_and_hold.yaml", "configs/yahoo_buy_and_hold.yaml", "configs/user_buy_and_hold.yaml"])
def test_undamaged_fixtures_run(config, tmp_path, monkeypatch):
    monkeypatch.chdir(BAD_INPUTS)
    out = _run_json(tmp_path, config)
    assert out["strategy"]["final_value"] > 0


def test_sentinel_outside_the_window_is_not_an_error(tmp_path, monkeypatch):
    """The -99.99 on 1926-07-24 is outside a period ending before it: the run equals one on the
    undamaged file (the rows it reads are the same)."""
    monkeypatch.chdir(BAD_INPUTS)
    damaged = _run_json(tmp_path / "a", "configs/kf_buy_and_hold.yaml", "--set", "data.path=[../data/kf_sentinel_9999]",
                        "--end", "1926-07-23")
    clean = _run_json(tmp_path / "b", "configs/kf_buy_and_hold.yaml", "--end", "1926-07-23")
    assert damaged["end"] == clean["end"] == "1926-07-23"
    assert damaged["strategy"] == clean["strategy"]


# ------------------------------------------------------------- the real zip, cut and damaged at test time


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5, 0.97, 0.9999])
def test_real_factor_zip_truncated_anywhere_is_a_data_error(shared_data, tmp_path, fraction):
    real = (shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily_CSV.zip").read_bytes()
    path = tmp_path / "F-F_Research_Data_Factors_daily_CSV.zip"
    path.write_bytes(real[: int(len(real) * fraction)])
    with pytest.raises(DataError) as err:
        kenfrench.read(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_real_factor_zip_with_flipped_bytes_through_the_cli(shared_data, tmp_path, monkeypatch):
    directory = tmp_path / "data" / "kenfrench"
    directory.mkdir(parents=True)
    damaged = bytearray((shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily_CSV.zip").read_bytes())
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(b ^ 0xFF for b in damaged[middle : middle + 64])
    (directory / "F-F_Research_Data_Factors_daily_CSV.zip").write_bytes(bytes(damaged))
    case = {"expect": [str(directory / "F-F_Research_Data_Factors_daily_CSV.zip"), "not a readable zip file"]}
    monkeypatch.chdir(BAD_INPUTS)
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", "configs/kf_buy_and_hold.yaml", "--set", f"data.path=[{tmp_path / 'data'}]", "--out", str(out)])
    _check(case, result.exit_code, result.stdout, result.stderr, out)


@pytest.mark.parametrize("window, ok", [(39, True), (40, False)])
def test_lookback_boundary(window, ok, tmp_path, monkeypatch):
    """The fixture has 40 sessions: a 39-session moving average fits, a 40-session one does not."""
    monkeypatch.chdir(BAD_INPUTS)
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["run", "configs/shorter_than_lookback.yaml", "--set", f"strategy.params.window={window}",
                                       "--out", str(out), "--json"])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        _check({"expect": ["strategy.params.window", "has 40 sessions", f"{window} sessions of history"]},
               result.exit_code, result.stdout, result.stderr, out)
