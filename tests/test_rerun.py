"""`backtest rerun RUN_ID`: bit-identical reproduction, or the changed input named."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from backtest import rerun
from backtest.cli import main
from tests.conftest import REPO_ROOT

SIZE_FILE = "kenfrench/Portfolios_Formed_on_ME_Daily.csv"


@pytest.fixture
def data_copy(shared_data, tmp_path, monkeypatch):
    """A private search path holding a copy of the size portfolios (what first10 reads)."""
    root = tmp_path / "data"
    (root / "kenfrench").mkdir(parents=True)
    shutil.copy(shared_data / SIZE_FILE, root / SIZE_FILE)
    monkeypatch.setenv("BACKTEST_DATA_PATH", str(root))
    return root


def _run(out, *args, config=REPO_ROOT / "configs" / "first10.yaml"):
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(out), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["run_id"]


def _rerun(out, run_id, *args):
    return CliRunner().invoke(main, ["rerun", run_id, "--out", str(out), *args])


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rerun_is_bit_identical(data_copy, tmp_path):
    run_id = _run(tmp_path / "out", "--start", "1990-01-01")
    result = _rerun(tmp_path / "out", run_id[:-3])  # a unique prefix will do
    assert result.exit_code == 0, result.output
    # every figure of stats.json but its run id: start, end, the conventions (not their note),
    # each leg's statistics and drawdowns, and the significance block
    stats = json.loads((tmp_path / "out" / run_id / "stats.json").read_text())

    def leaves(value):
        if isinstance(value, dict):
            return sum(leaves(v) for v in value.values())
        return sum(leaves(v) for v in value) if isinstance(value, list) else 1

    assert "risk_free_note" in stats["conventions"]
    leaves = 2 + leaves(stats["conventions"]) - 1 + leaves(stats["strategy"]) + leaves(stats["benchmark"]) + leaves(stats["significance"])
    assert result.stdout.strip() == f"{run_id}: identical ({leaves} figures, bit for bit)"


def test_changed_data_file_is_named(data_copy, tmp_path):
    run_id = _run(tmp_path / "out", "--start", "1990-01-01")
    path = data_copy / SIZE_FILE
    old_sha = _sha(path)
    lines = path.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("20080915,"))
    cells = lines[row].split(",")
    cells[2] = "-9.5"  # Lo 30 on the Lehman day
    lines[row] = ",".join(cells)
    path.write_text("".join(lines))
    result = _rerun(tmp_path / "out", run_id)
    assert result.exit_code == 3, result.output
    assert f"input changed: data file {path.resolve()}: sha256 {old_sha} -> {_sha(path)}" in result.stdout
    assert "differs: strategy.final_value: " in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{run_id}: not reproduced: ") and str(path.resolve()) in line
    as_json = json.loads(_rerun(tmp_path / "out", run_id, "--json").stdout)
    assert not as_json["identical"]
    assert {d["key"] for d in as_json["differences"]} >= {"strategy.final_value", "strategy.cagr", "benchmark.final_value"}
    assert "start" not in {d["key"] for d in as_json["differences"]}  # the calendar did not move


def test_same_content_elsewhere_is_no_change(data_copy, tmp_path, monkeypatch):
    run_id = _run(tmp_path / "out", "--start", "2010-01-01")
    moved = tmp_path / "moved"
    shutil.copytree(data_copy, moved)
    monkeypatch.setenv("BACKTEST_DATA_PATH", str(moved))
    result = _rerun(tmp_path / "out", run_id)
    assert result.exit_code == 0 and "identical" in result.stdout and "data file" not in result.stdout


def test_relative_strategy_file_resolves_against_the_config(data_copy, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "strategies" / "buy_and_hold.py", project / "my_rule.py")
    (project / "rule.yaml").write_text(
        "strategy: {file: my_rule.py, params: {rebalance: monthly}}\nbenchmark: null\nperiod: {start: 2000-01-01}\n")
    monkeypatch.chdir(project)
    run_id = _run(tmp_path / "out", config="rule.yaml")
    monkeypatch.chdir(tmp_path)  # elsewhere: the recorded config_dir still finds my_rule.py
    result = _rerun(tmp_path / "out", run_id)
    assert result.exit_code == 0, result.output


def test_an_edited_strategy_file_is_named(data_copy, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    rule = project / "my_rule.py"
    shutil.copy(REPO_ROOT / "strategies" / "buy_and_hold.py", rule)
    (project / "rule.yaml").write_text(
        "strategy: {file: my_rule.py, params: {rebalance: monthly}}\nbenchmark: null\nperiod: {start: 2000-01-01}\n")
    monkeypatch.chdir(project)
    run_id = _run(tmp_path / "out", config="rule.yaml")
    manifest = json.loads((tmp_path / "out" / run_id / "manifest.json").read_text())
    assert manifest["strategy_files"] == {str(rule.resolve()): _sha(rule)}
    old_sha = _sha(rule)
    rule.write_text(rule.read_text() + "# a comment: the same rule, another file\n")
    result = _rerun(tmp_path / "out", run_id)
    assert result.exit_code == 0, result.output  # reproduced, and the edit is still named as a changed input
    assert f"input changed: strategy file {rule.resolve()}: sha256 {old_sha} -> {_sha(rule)}" in result.stdout


def test_rerun_bad_ids_exit_2(data_copy, tmp_path):
    out = tmp_path / "out"
    _run(out, "--start", "2020-01-01")
    unknown = _rerun(out, "nope")
    assert unknown.exit_code == 2 and "unknown run id 'nope'" in unknown.stderr
    swept = CliRunner().invoke(main, ["sweep", str(REPO_ROOT / "configs" / "first10.yaml"),
                                      "--grid", "strategy.params.lookback=5:6", "--set", "period.start=2020-01-01",
                                      "--out", str(out), "--json"])
    assert swept.exit_code == 0, swept.output
    sweep_id = json.loads(swept.stdout)["sweep_id"]
    result = _rerun(out, sweep_id)
    assert result.exit_code == 2 and "is a sweep" in result.stderr


# --- the comparisons -------------------------------------------------------------------------


def test_data_changes():
    old = {"/a/x.csv": "1", "/a/y.csv": "2", "/a/z.csv": "3"}
    new = {"/a/x.csv": "1", "/b/y.csv": "2", "/b/z.csv": "9", "/b/w.csv": "4"}
    assert [c.describe() for c in rerun.data_changes(old, new)] == [
        "data file /b/z.csv (recorded at /a/z.csv): sha256 3 -> 9",
        "data file /b/w.csv: newly read (sha256 4)",
    ]
    assert [c.describe() for c in rerun.data_changes(new, old)][-1] == "data file /b/w.csv: no longer read (sha256 was 4)"


def test_software_changes():
    old = {"python": "3.11.7", "packages": {"numpy": "2.4.6", "pandas": "3.1.1"}, "git_commit": "abc"}
    new = {"python": "3.11.7", "packages": {"numpy": "2.5.0", "pandas": "3.1.1"}, "git_commit": "def"}
    assert [c.describe() for c in rerun.software_changes(old, new)] == [
        "package numpy: 2.4.6 -> 2.5.0", "git commit: abc -> def"]


def test_differences_are_exact_and_located():
    old = {"strategy": {"cagr": 0.1, "drawdowns": [{"depth": -0.5}, {"depth": -0.2}], "sortino": None}}
    new = {"strategy": {"cagr": float(np.nextafter(0.1, 1)), "drawdowns": [{"depth": -0.5}, {"depth": -0.2}], "sortino": None}}
    assert [(d.key, d.old) for d in rerun.differences(old, new)] == [("strategy.cagr", 0.1)]
    new["strategy"]["drawdowns"][1]["depth"] = -0.3
    new["strategy"]["extra"] = 1
    assert [d.key for d in rerun.differences(old, new)] == ["strategy.cagr", "strategy.drawdowns[1].depth", "strategy.extra"]
    assert rerun.differences(old, json.loads(json.dumps(old))) == []
