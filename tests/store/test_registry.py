"""The run registry: recording, listing, prefixes, removal, concurrent writers, `backtest runs`."""

import json
import multiprocessing as mp
import sqlite3

import pytest
from click.testing import CliRunner

from backtest.store import registry
from backtest.cli import main
from backtest.errors import UserError
from tests.conftest import REPO_ROOT

CONFIG_DICT = {
    "strategy": {"name": "first10", "file": None, "params": {"small": "ff_size:Lo 30", "lookback": 10}},
    "benchmark": None,
    "portfolio": {"initial_cash": 100000.0, "fees": 0.0005, "slippage": 0.0, "cash": "none"},
    "period": {"start": None, "end": None},
}


def _summary(sharpe=0.5, start="2000-01-03", end="2020-12-31"):
    return {
        "run_id": "x",
        "start": start,
        "end": end,
        "strategy": {"cagr": 0.08, "sharpe": sharpe, "max_drawdown": -0.3, "volatility": float("nan")},
        "benchmark": {"cagr": 0.07, "sharpe": 0.4, "max_drawdown": -0.35},
    }


def _fake_run_dir(root, run_id, data_files=None):
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "stats.json").write_text("{}")
    (run_dir / "manifest.json").write_text(json.dumps({"data_files": data_files or {"/a/x.csv": "h1", "/a/y.csv": "h2"}}))
    return run_dir


def test_record_and_read_back(tmp_path):
    run_dir = _fake_run_dir(tmp_path, "first10-20260101-000000-abcdef")
    registry.record_run(tmp_path, run_dir.name, CONFIG_DICT, _summary(), run_dir=run_dir)
    (record,) = registry.list_runs(tmp_path)
    assert record.id == run_dir.name and record.kind == "run" and record.strategy == "first10"
    assert record.params == {"small": "ff_size:Lo 30", "lookback": 10}
    assert record.path == str(run_dir.resolve())
    assert (record.start, record.end) == ("2000-01-03", "2020-12-31")
    assert record.strategy_stats["sharpe"] == 0.5 and record.strategy_stats["volatility"] is None  # NaN -> null
    assert record.benchmark_stats["cagr"] == 0.07
    assert record.config == CONFIG_DICT
    from backtest.store.rundir import config_hash

    assert record.config_hash == config_hash(CONFIG_DICT)
    # the data fingerprint depends on the file hashes only, not where the files were found
    assert record.data_fingerprint == registry.data_fingerprint({"/elsewhere/y.csv": "h2", "/b/x.csv": "h1"})
    assert record.data_fingerprint != registry.data_fingerprint({"/a/x.csv": "h1", "/a/y.csv": "h3"})
    with sqlite3.connect(registry.db_path(tmp_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_sweep(tmp_path):
    registry.record_sweep(
        tmp_path, "sweep-1", CONFIG_DICT, {"strategy.params.lookback": [5, 10, 20]}, 3,
        {"sharpe": 0.9, "cagr": 0.1}, best_params={"strategy.params.lookback": 5},
        start="1990-01-02", end="2000-12-29",
    )
    (record,) = registry.list_runs(tmp_path, kind="sweep")
    assert record.kind == "sweep" and record.strategy_stats == {"sharpe": 0.9, "cagr": 0.1}
    assert record.extra["n_combinations"] == 3 and record.extra["grid"]["strategy.params.lookback"] == [5, 10, 20]
    assert record.extra["best_params"] == {"strategy.params.lookback": 5}
    assert registry.list_runs(tmp_path, kind="run") == []
    assert (record.start, record.end) == ("1990-01-02", "2000-12-29")
    # without start/end: taken from the best statistics' own dates
    registry.record_sweep(tmp_path, "sweep-2", CONFIG_DICT, {}, 1, {"sharpe": 1.0, "start": "1926-07-01", "end": "2025-05-30"})
    assert (registry.get_run(tmp_path, "sweep-2").start, registry.get_run(tmp_path, "sweep-2").end) == ("1926-07-01", "2025-05-30")


def test_filters_prefixes_and_removal(tmp_path):
    other = {**CONFIG_DICT, "strategy": {"name": "trend_filter", "params": {}}}
    registry.record_run(tmp_path, "first10-aaa1", CONFIG_DICT, _summary(), created="2026-01-01T00:00:00+00:00")
    registry.record_run(tmp_path, "first10-aab2", CONFIG_DICT, _summary(), created="2026-03-01T00:00:00+00:00")
    run_dir = _fake_run_dir(tmp_path, "trend_filter-ccc3")
    registry.record_run(tmp_path, "trend_filter-ccc3", other, _summary(), run_dir=run_dir,
                        created="2026-06-01T00:00:00+00:00")
    assert [r.id for r in registry.list_runs(tmp_path)] == ["first10-aaa1", "first10-aab2", "trend_filter-ccc3"]
    assert [r.id for r in registry.list_runs(tmp_path, strategy="first10")] == ["first10-aaa1", "first10-aab2"]
    assert [r.id for r in registry.list_runs(tmp_path, since="2026-02-01")] == ["first10-aab2", "trend_filter-ccc3"]
    assert registry.get_run(tmp_path, "first10-aab").id == "first10-aab2"
    assert registry.get_run(tmp_path, "trend").id == "trend_filter-ccc3"
    with pytest.raises(UserError, match="ambiguous"):
        registry.get_run(tmp_path, "first10-aa")
    with pytest.raises(UserError, match="unknown run id"):
        registry.get_run(tmp_path, "nope")
    with pytest.raises(UserError, match="unknown run id"):
        registry.get_run(tmp_path, "first10_")  # '_' is not a LIKE wildcard here
    with pytest.raises(UserError, match="--since"):
        registry.list_runs(tmp_path, since="last tuesday")
    removed = registry.remove_run(tmp_path, "trend")
    assert removed.id == "trend_filter-ccc3" and not run_dir.exists() and tmp_path.exists()
    assert [r.id for r in registry.list_runs(tmp_path)] == ["first10-aaa1", "first10-aab2"]
    assert registry.list_runs(tmp_path / "empty") == [] and not (tmp_path / "empty").exists()


def _writer(root, worker, n):
    for i in range(n):
        registry.record_run(root, f"w{worker}-{i:03d}", CONFIG_DICT, _summary(sharpe=worker + i / 100))


def test_concurrent_writers(tmp_path):
    """Several processes recording at once, starting on a fresh file: every row lands."""
    workers, per_worker = 6, 25
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, w, per_worker)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * workers  # a "database is locked" error would exit 1
    records = registry.list_runs(tmp_path)
    assert len(records) == workers * per_worker
    assert {r.id for r in records} == {f"w{w}-{i:03d}" for w in range(workers) for i in range(per_worker)}


# --- the CLI ------------------------------------------------------------------------------


def _seed(tmp_path):
    run_dir = _fake_run_dir(tmp_path, "first10-20260101-000000-abcdef")
    registry.record_run(tmp_path, run_dir.name, CONFIG_DICT, _summary(), run_dir=run_dir)
    registry.record_run(tmp_path, "trend_filter-20260102-000000-123456",
                        {**CONFIG_DICT, "strategy": {"name": "trend_filter", "params": {"window": 200}}},
                        _summary(sharpe=0.25, start="1990-01-02"))
    return run_dir


def test_cli_runs_list_show_rm(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    run_dir = _seed(tmp_path)
    runner = CliRunner()
    out = runner.invoke(main, ["runs", "list", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "first10-20260101-000000-abcdef" in out.output and "trend_filter" in out.output
    assert "2000-01-03" in out.output and "0.500" in out.output and "0.250" in out.output
    out = runner.invoke(main, ["runs", "list", "--out", str(tmp_path), "--strategy", "trend_filter"])
    assert "first10-2026" not in out.output and "trend_filter-2026" in out.output
    out = runner.invoke(main, ["runs", "list", "--out", str(tmp_path), "--json"])
    assert [r["id"] for r in json.loads(out.stdout)] == ["first10-20260101-000000-abcdef", "trend_filter-20260102-000000-123456"]

    out = runner.invoke(main, ["runs", "show", "first10", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    for text in ("first10-20260101-000000-abcdef", "config hash", "data fingerprint", "lookback", "Sharpe", "CAGR", "8.00 %"):
        assert text in out.output, text

    out = runner.invoke(main, ["runs", "rm", "first10-2026", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert not run_dir.exists()
    assert [r.id for r in registry.list_runs(tmp_path)] == ["trend_filter-20260102-000000-123456"]


@pytest.mark.parametrize("command", [["show", "nope"], ["rm", "nope"], ["show", "first10-2027"]])
def test_cli_runs_unknown_id_is_one_line_exit_2(tmp_path, command):
    _seed(tmp_path)
    result = CliRunner().invoke(main, ["runs", *command, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1


def test_cli_runs_list_empty(tmp_path):
    result = CliRunner().invoke(main, ["runs", "list", "--out", str(tmp_path / "none")])
    assert result.exit_code == 0 and "no runs" in result.output


def test_run_command_records_into_registry(shared_data, tmp_path):
    config = REPO_ROOT / "configs" / "first10.yaml"
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(tmp_path), "--json", "--start", "2015-01-01"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    record = registry.get_run(tmp_path, out["run_id"])
    assert record.kind == "run" and record.strategy == "first10"
    assert record.path == str((tmp_path / out["run_id"]).resolve())
    assert (record.start, record.end) == (out["start"], out["end"])
    assert record.strategy_stats["sharpe"] == pytest.approx(out["strategy"]["sharpe"])
    assert record.data_fingerprint and len(record.data_fingerprint) == 64
    assert record.params["lookback"] == 10
