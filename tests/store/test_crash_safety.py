"""Crash safety and concurrency, through the real command in subprocesses.

`backtest run` and `backtest sweep` are SIGKILLed at seeded random moments spread over their
lifetime, and at moments triggered by their writes (the temporary run directory appearing, the
run directory appearing, a sweep's first part file appearing). After every kill the results
root must hold only complete runs, resumable sweep state and hidden temporary entries; the
registry must pass `PRAGMA integrity_check`; `backtest runs list` must work and list only
complete runs. Two runs and a sweep started at once must all land, intact and registered.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from backtest.store import registry
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / "configs" / "first10.yaml"
RUN_FILES = {"config.yaml", "stats.json", "equity.csv", "weights.csv", "orders.csv", "manifest.json"}
SWEEP_GRID = ["--grid", "strategy.params.lookback=5:12", "--batch-size", "2", "--jobs", "1"]
RNG_SEED = 6


def _command(kind: str, out: Path, *extra: str) -> list[str]:
    args = SWEEP_GRID if kind == "sweep" else []
    return [sys.executable, "-m", "backtest.cli", kind, str(CONFIG), *args, *extra, "--out", str(out), "--json"]


def _start(command: list[str]) -> subprocess.Popen:
    # its own session, so the kill reaches the whole process group and nothing else
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _finish(command: list[str]) -> tuple[dict, float]:
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), time.monotonic() - started


def _kill_when(command: list[str], when, delay: float, timeout: float = 120.0) -> tuple[int, float]:
    """Start `command`, wait until `ready()` (polled every millisecond; `ready = when()` made just
    before the start) or the process ends, sleep `delay`, SIGKILL its process group; return its
    exit status (-9 if killed) and the seconds from its start to `ready()`."""
    ready = when()
    started = time.monotonic()
    proc = _start(command)
    while proc.poll() is None and not ready() and time.monotonic() < started + timeout:
        time.sleep(0.001)
    waited = time.monotonic() - started
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    return proc.returncode, waited


def _entries(out: Path, pattern: str) -> list[Path]:
    return list(out.glob(pattern)) if out.is_dir() else []


def _assert_complete_run(path: Path, run_id: str) -> None:
    assert {p.name for p in path.iterdir()} == RUN_FILES, path
    summary = json.loads((path / "stats.json").read_text())
    manifest = json.loads((path / "manifest.json").read_text())
    assert summary["run_id"] == run_id
    equity = pd.read_csv(path / "equity.csv")
    assert len(equity) == manifest["calendar"]["rows"]  # every row written
    assert equity["date"].iloc[-1] == summary["end"]
    assert np.isfinite(equity["strategy"]).all()


def _assert_intact(out: Path, command_line: bool = False) -> list[str]:
    """Everything under `out` is whole; return the registered ids (read by `backtest runs list`
    when `command_line`, else in-process)."""
    db = registry.db_path(out)
    records = []
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if command_line:
            listed = subprocess.run([sys.executable, "-m", "backtest.cli", "runs", "list", "--json", "--out", str(out)],
                                    cwd=REPO_ROOT, capture_output=True, text=True)
            assert listed.returncode == 0, listed.stderr
            records = json.loads(listed.stdout)
        else:
            records = [r.to_dict() for r in registry.list_runs(out)]
    for record in records:  # every registered entry is complete
        path = Path(record["path"])
        if record["kind"] == "run":
            _assert_complete_run(path, record["id"])
        else:
            assert pq.read_table(path / "results.parquet").num_rows == record["extra"]["n_combinations"]
    for entry in out.iterdir() if out.is_dir() else []:
        if entry.name.startswith(registry.DB_NAME):
            continue
        if entry.name.startswith("."):  # a temporary entry of a killed writer: hidden, never a run
            assert entry.name.endswith(".tmp"), entry
        elif (entry / "sweep.json").exists():  # sweep state: whole files only, resumable
            json.loads((entry / "sweep.json").read_text())
            for part in _entries(entry / "parts", "part-*.parquet"):
                pq.read_table(part)
        else:  # a run directory is complete even when the kill came before its registry row
            _assert_complete_run(entry, entry.name)
    return [r["id"] for r in records]


def _at_once():
    """A predicate true from the start: the kill comes `delay` after the start."""
    return lambda: True


def _appears(out: Path, pattern: str):
    """A predicate: an entry matching `pattern` exists in `out` that did not exist now."""
    before = set(_entries(out, pattern))
    return lambda: bool(set(_entries(out, pattern)) - before)


def _stratified(rng, n: int, low: float, high: float) -> list[float]:
    """n seeded random points spread over [low, high): one in each of n equal slices."""
    return [low + (high - low) * (i + rng.uniform()) / n for i in range(n)]


def _kill_repeatedly(command, out, triggers, rng, timed: int) -> list[int]:
    """Kill `command` once per trigger (`(when, delay)`, see `_kill_when`), then `timed` more
    times at seeded moments spread over the time the first trigger took (its write phase: a
    warm start, whatever the first run cost to compile); check `out` after every kill."""
    statuses, lifetime = [], None
    for when, delay in triggers:
        status, waited = _kill_when(command, when, delay)
        lifetime = lifetime or waited
        statuses.append(status)
        _assert_intact(out)
    for delay in _stratified(rng, timed, 0.0, lifetime):
        statuses.append(_kill_when(command, _at_once, delay)[0])
        _assert_intact(out)
    return statuses


def test_killed_runs_leave_only_complete_results(shared_data, tmp_path):
    rng = np.random.default_rng(RNG_SEED)
    out = tmp_path / "results"
    command = _command("run", out)
    first, _ = _finish(command)
    # while it writes: once a temporary directory appears, once a new run directory does; then
    # at three moments spread over its life before writing
    triggers = [(lambda: _appears(out, ".*.tmp"), rng.uniform(0, 0.05)),
                (lambda: _appears(out, "first10-*"), rng.uniform(0, 0.02))]
    statuses = _kill_repeatedly(command, out, triggers, rng, timed=3)
    # not vacuous: most kills came before the end (a timed one in the last slice may come after
    # it when the machine is busier than during the measured run)
    assert statuses.count(-signal.SIGKILL) >= 3, statuses
    assert first["run_id"] in _assert_intact(out)
    last, _ = _finish(command)  # the next run clears what killed ones left behind
    assert not _entries(out, ".*.tmp")
    ids = _assert_intact(out, command_line=True)
    assert ids[0] == first["run_id"] and ids[-1] == last["run_id"]


def test_killed_sweep_resumes_to_the_uninterrupted_result(shared_data, tmp_path):
    rng = np.random.default_rng(RNG_SEED + 1)
    out = tmp_path / "results"
    fresh, _ = _finish(_command("sweep", tmp_path / "fresh"))  # the same sweep in one go
    command = _command("sweep", out)
    triggers = [(lambda: _appears(out, "*/parts/part-*.parquet"), rng.uniform(0, 0.05))]
    statuses = _kill_repeatedly(command, out, triggers, rng, timed=2)
    assert statuses.count(-signal.SIGKILL) >= 2, statuses
    resumed, _ = _finish(command)
    (sweep_id,) = _assert_intact(out, command_line=True)
    assert sweep_id == resumed["sweep_id"] == fresh["sweep_id"]
    assert resumed["results"] == fresh["results"]


def test_two_runs_and_a_sweep_at_once_all_land(shared_data, tmp_path):
    out = tmp_path / "results"
    commands = [
        _command("run", out),
        _command("run", out, "--set", "strategy.params.lookback=5"),
        _command("sweep", out),
    ]
    procs = [_start(c) for c in commands]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr
    first, second, swept = (json.loads(stdout) for stdout, _ in outputs)
    ids = _assert_intact(out, command_line=True)
    assert sorted(ids) == sorted([first["run_id"], second["run_id"], swept["sweep_id"]])
    assert first["strategy"] != second["strategy"]  # two different runs, each with its own figures
    kinds = {r.id: r.kind for r in registry.list_runs(out)}
    assert kinds[swept["sweep_id"]] == "sweep" and kinds[first["run_id"]] == kinds[second["run_id"]] == "run"


def test_stale_temporaries_are_removed_only_when_their_process_is_gone(tmp_path):
    from backtest.io import remove_stale_temps, temp_path

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = temp_path(tmp_path / "x").name.rsplit(".", 2)[-2].rsplit("-", 1)[0]
    mine = temp_path(tmp_path / "run-live")  # this process: alive
    orphan = tmp_path / f".run-dead.{host}-{dead.stdout.strip()}.tmp"
    elsewhere = tmp_path / ".run-far.otherhost-1.tmp"  # another host's: never touched
    orphan_file = tmp_path / f".part-1.parquet.{host}-{dead.stdout.strip()}.tmp"
    for path in (mine, orphan, elsewhere):
        path.mkdir()
    orphan_file.write_text("half")
    assert sorted(remove_stale_temps(tmp_path)) == sorted([orphan, orphan_file])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, elsewhere.name])
