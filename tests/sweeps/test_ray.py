"""The Ray backend against a real Ray head, and every way of not finding Ray.

A head started with `ray start --head` on free ports in a temporary directory (its own process
group, killed whole afterwards: nothing else on the machine is touched) runs a sweep sent through
`--address`, equal to the local backend. Without a cluster (`--address auto` with none on this
machine), at a refused or wrong address, without Ray, or where Ray cannot start, `backtest sweep`
prints one line, exits 2 within 30 s and leaves nothing under --out.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from backtest import sweeps
from tests.conftest import REPO_ROOT

pytest.importorskip("ray", reason="ray is not installed (pip install 'backtest[ray]')")

CONFIG = REPO_ROOT / "configs" / "first10.yaml"
PERIOD = ["period.start=2015-01-01", "period.end=2020-12-31"]
GRID = ["strategy.params.lookback=5:8", "strategy.params.tilt=0.6,0.8", "portfolio.fees=0,0.001"]
DRIVER = """
import sys
if sys.argv[1] == "without-ray":
    sys.modules["ray"] = None  # `import ray` raises ImportError
if sys.argv[1] == "no-cluster-here":  # neither a cluster `ray start` recorded nor a Ray process on this machine
    import functools
    import ray._private.services as services
    services.find_gcs_addresses = functools.lru_cache(lambda: [])  # (Ray clears its cache at exit)
    services.find_bootstrap_address = lambda temp_dir=None: None
from backtest.cli import main
main(sys.argv[2:])
"""


def _sweep(out, *extra, case="as-is", env=None):
    """`backtest sweep` of GRID -> (exit code, stdout, stderr, seconds)."""
    args = [str(CONFIG), *(f"--set={p}" for p in PERIOD), *(f"--grid={g}" for g in GRID), "--json", "--out", str(out), *extra]
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "RAY_ADDRESS"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", DRIVER, case, "sweep", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head on free ports, its files in a temporary directory (short: Ray's socket paths
    must stay under 108 characters), without token authentication; killed afterwards."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="rayhead")
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray), "start", "--head", "--block", f"--port={port}", f"--temp-dir={temp}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--dashboard-agent-listen-port={_free_port()}"],
        cwd=REPO_ROOT, env={**os.environ, "RAY_AUTH_MODE": "disabled"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and head.poll() is None and not _answers(port):
            time.sleep(0.5)
        if not _answers(port):
            pytest.fail(f"the Ray head did not start on port {port} (exit code {head.poll()})")
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # the head and every process it started
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_sweep_through_a_ray_head_equals_the_local_backend(shared_data, ray_head, tmp_path):
    code, stdout, stderr, _ = _sweep(tmp_path / "ray", "--backend", "ray", "--address", ray_head, "--jobs", "2",
                                     "--batch-size", "5", env={"RAY_AUTH_MODE": "disabled"})
    assert code == 0, stderr
    assert stderr == ""  # none of Ray's log lines on the terminal
    remote = json.loads(stdout)
    local = sweeps.run_sweep(sweeps.make_plan(CONFIG, GRID, set=PERIOD), out=None, jobs=1)
    assert remote["combinations"] == local.combinations == 16
    for c, record in enumerate(remote["results"]):
        assert record["params"] == local.plan.params(c)
        expected = dict(zip(local.names, local.stats[c]))
        got = np.array([np.nan if record["stats"][n] is None else record["stats"][n] for n in local.names])
        np.testing.assert_array_equal(got, np.array([expected[n] for n in local.names]))
    assert len(list((tmp_path / "ray").glob("*/parts/part-*.parquet"))) == 8  # tasks of 2: four per worker


class _Listener:
    """Something at an address that is not Ray: a server that answers HTTP/1.1, or one that
    accepts connections and never answers."""

    def __init__(self, reply: bytes | None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.reply = reply
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)
            if self.reply is not None:
                connection.recv(1024)
                connection.sendall(self.reply)

    def close(self):
        self.server.close()
        for connection in self.held:
            connection.close()


def _refused_port() -> int:
    port = _free_port()
    assert not _answers(port)
    return port


@pytest.mark.parametrize("case", ["no cluster", "refused", "not Ray", "silent", "without Ray", "Ray cannot start"])
def test_ray_that_cannot_be_reached_is_one_line_exit_2_and_nothing_written(shared_data, tmp_path, case):
    listener = None
    env = {}
    driver = "as-is"
    if case == "no cluster":
        address, driver = "auto", "no-cluster-here"
        expected = ("error: --backend ray --address auto: no running Ray cluster found on this machine "
                    "(start one with `ray start --head`, or leave out --address to start a local Ray)")
    elif case == "refused":
        address = f"127.0.0.1:{_refused_port()}"
        expected = f"error: --backend ray --address {address}: no Ray cluster at {address} (Connection refused)"
    elif case in ("not Ray", "silent"):
        listener = _Listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" if case == "not Ray" else None)
        address = f"127.0.0.1:{listener.port}"
        why = "what answers there is not Ray" if case == "not Ray" else "no answer within 5 s"
        expected = f"error: --backend ray --address {address}: no Ray cluster at {address} ({why})"
    elif case == "without Ray":
        address, driver = None, "without-ray"
        expected = "error: --backend ray: ray is not installed (pip install 'backtest[ray]')"
    else:  # Ray's temporary directory cannot be made
        address = None
        (tmp_path / "a file").write_text("")
        env = {"RAY_TMPDIR": str(tmp_path / "a file" / "ray")}
        expected = None
    try:
        code, stdout, stderr, seconds = _sweep(tmp_path / "out", "--backend", "ray", *(["--address", address] if address else []),
                                               case=driver, env=env)
    finally:
        if listener is not None:
            listener.close()
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    if expected is None:
        assert lines[0].startswith("error: --backend ray: Ray could not start (") and "a file" in lines[0]
    else:
        assert lines[0] == expected
    assert stdout == ""
    assert seconds < 30
    assert not (tmp_path / "out").exists()
