"""A sweep that stops: on a user error it leaves nothing under --out; on Ctrl-C it prints one
line saying what is saved and how to resume (no worker's traceback), and resuming finishes it.
(The strategies here have no kernel form, so the sweep says first that it runs them on the host.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd

from tests.conftest import REPO_ROOT
from tests.sweeps.test_sweep import _cli, fake_data  # noqa: F401  (fixture)

# first10's rule, run on the host (no kernel form), refusing one lookback
REFUSING = '''"""first10, refusing lookback 30."""
from strategies.first10 import PARAMS, target_weights as first10

def target_weights(returns, params):
    if params.lookback == 30:
        raise ValueError("lookback 30 is refused")
    return first10(returns, params)
'''

HOST_FIRST10 = '"""first10 without its kernel form: its rule runs on the host."""\nfrom strategies.first10 import PARAMS, target_weights\n'


def _config(tmp_path, strategy_file):
    path = tmp_path / "refusing.yaml"
    path.write_text(json.dumps({
        "strategy": {"file": str(strategy_file), "params": {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30"}},
        "portfolio": {"initial_cash": 100000, "fees": 0.0005, "slippage": 0.0, "cash": "none"},
    }))
    return path


def test_a_user_error_mid_sweep_leaves_nothing_under_out(fake_data, tmp_path, monkeypatch):  # noqa: F811
    (tmp_path / "refusing.py").write_text(REFUSING)
    config = _config(tmp_path, tmp_path / "refusing.py")
    # 440 parameter sets: the host computes them in waves of 256, and lookback 30 is in the second,
    # so batches of the first are written before the error
    grid = ["--grid", "strategy.params.lookback=1:40", "--grid", "strategy.params.tilt=0.5:1.0:0.05", "--batch-size", "10", "--jobs", "1"]
    parts_seen = []
    import backtest.sweeps.store as store

    write_part = store.Store.write_part

    def counting(self, *args, **kwargs):
        write_part(self, *args, **kwargs)
        parts_seen.append(len(list(self.parts.glob("part-*.parquet"))))

    monkeypatch.setattr(store.Store, "write_part", counting)
    result = _cli("sweep", str(config), *grid, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "strategy refusing has no kernel form (kernel_tables, kernel_weights), so its rule runs on the host: "
        "a Python call per parameter set, slower than the rule inside the kernel",
        f"error: strategy 'refusing' ({tmp_path / 'refusing.py'}): target_weights raised ValueError: lookback 30 is refused",
    ]
    assert max(parts_seen) >= 20  # the error came after batches were saved
    assert not (tmp_path / "out").exists()
    # an --out that was there before stays, with what was in it, and nothing of the sweep
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    result = _cli("sweep", str(config), *grid, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]


DRIVER = """
import sys
from tests.sweeps.test_sweep import install_fake_data
install_fake_data()
from backtest.cli import main
main(sys.argv[1:])
"""


def test_ctrl_c_says_how_to_resume_without_worker_tracebacks(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C, while the strategy processes
    work: one line on stderr; the rerun computes the rest and equals an uninterrupted sweep."""
    (tmp_path / "host.py").write_text(HOST_FIRST10)
    config = _config(tmp_path, tmp_path / "host.py")
    args = [sys.executable, "-c", DRIVER, "sweep", str(config), "--grid", "strategy.params.lookback=1:60", "--grid",
            "strategy.params.tilt=0:1:0.01", "--batch-size", "50", "--jobs", "2", "--json", "--out", str(tmp_path / "a")]
    child = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # background shells ignore SIGINT
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None and not list(tmp_path.glob("a/*/parts/part-*.parquet")):
        time.sleep(0.01)
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    lines = err.decode().strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("strategy host has no kernel form"), err.decode()
    match = re.fullmatch(r"interrupted: ([\d,]+) of 6,060 combinations are saved in (\S+); run the same command again to resume", lines[1])
    assert match, lines[1]
    parts = list(tmp_path.glob("a/*/parts/part-*.parquet"))
    assert match[2] == str(parts[0].parents[1])
    saved = sum(len(pd.read_parquet(p, columns=["combo"])) for p in parts)
    assert int(match[1].replace(",", "")) == saved and 0 < saved < 6060
    rerun = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    fresh = subprocess.run([*args[:-1], str(tmp_path / "b")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    name = parts[0].parents[1].name
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / name / "results.parquet"),
                                  pd.read_parquet(tmp_path / "b" / name / "results.parquet"))
