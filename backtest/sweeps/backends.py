"""Where batches run: in this process (numba threads, a fork pool for strategy calls), on Ray
tasks, or on a CUDA GPU (the local loop with the GPU kernel)."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Callable

import numpy as np

from backtest.errors import ConfigError
from backtest.sweeps.evaluate import Evaluator
from backtest.sweeps.plan import Plan, has_benchmark, stat_names


def batches(todo: np.ndarray, size: int) -> list[np.ndarray]:
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def run_local(evaluator, todo, batch_size, jobs, store, finished, total, on_batch):
    import numba

    previous_threads = numba.get_num_threads()
    numba.set_num_threads(max(1, min(jobs, numba.config.NUMBA_NUM_THREADS)))
    names = evaluator.names
    stats_kept = np.full((total, len(names)), np.nan) if store is None else None
    try:
        if len(todo):
            evaluator.start_pool()
        chunks = batches(todo, batch_size)
        # weight sets: computed in waves spanning several batches (fewer pool round trips), and
        # dropped after the last batch that uses them (memory stays bounded)
        batch_sets = [evaluator.host_sets(b) for b in chunks]
        last_use = np.full(len(evaluator.set_points), -1)
        for b, used in enumerate(batch_sets):
            last_use[used] = b
        wave = max(256, 32 * jobs)
        for b, batch in enumerate(chunks):
            if any(int(s) not in evaluator.sets for s in batch_sets[b]):
                needed, end = [], b
                while end < len(chunks) and (end == b or sum(map(len, needed)) < wave):
                    needed.append(batch_sets[end])
                    end += 1
                evaluator._ensure_sets(np.unique(np.concatenate(needed)))
            stats, equity = evaluator.run_batch(batch)
            for s in batch_sets[b][last_use[batch_sets[b]] == b]:
                evaluator.sets.pop(int(s), None)
            if store is not None:
                dates = evaluator.dates(int(batch[0])) if equity is not None else None
                store.write_part(batch, stats, names, equity, dates)
            else:
                stats_kept[batch] = stats
            finished += len(batch)
            if on_batch is not None:
                on_batch(finished, total)
    finally:
        evaluator.close()
        numba.set_num_threads(previous_threads)
    return names, stats_kept


# -- Ray backend: the same batches as Ray tasks; each worker process keeps its own Evaluator.

_RAY_EVALUATORS: dict = {}


def _ray_batch(plan: Plan, combo_ids: np.ndarray, keep_equity: bool):
    import numba

    numba.set_num_threads(1)
    evaluator = _RAY_EVALUATORS.get(plan.sweep_id)
    if evaluator is None:
        _RAY_EVALUATORS.clear()
        evaluator = _RAY_EVALUATORS[plan.sweep_id] = Evaluator(plan, jobs=1, keep_equity=keep_equity)
    stats, equity = evaluator.run_batch(combo_ids)
    dates = evaluator.dates(int(combo_ids[0])) if equity is not None else None
    return combo_ids, stats, evaluator.names, equity, dates


RAY_WAIT_S = 5  # seconds to reach a Ray cluster, and Ray's own attempts to join it (about 1 s each)


def start_ray(address: str | None, jobs: int) -> Callable[[], None]:
    """Join the Ray cluster at `address` (HOST:PORT, or "auto": the one `ray start` recorded on
    this machine, or RAY_ADDRESS) or, without one, start a local Ray of `jobs` CPUs; return the
    function that ends what this call started. Called before a sweep writes anything.

    ConfigError (one line naming the address) where Ray is not installed, no cluster answers or
    Ray cannot join or start, within about 3 * RAY_WAIT_S seconds: the address is tried with a
    plain socket first, because Ray itself retries a dead address for minutes. Ray's own log
    lines go to a temporary file, not the terminal."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray: ray is not installed (pip install 'backtest[ray]')") from None
    if ray.is_initialized():  # the caller's own Ray (a notebook, a test): use it as it is
        return lambda: None
    where = "--backend ray" + (f" --address {address}" if address else "")
    wait = {}
    if address:
        _check_ray_address(_ray_address(address, where), where)
        wait = {"RAY_gcs_server_port_wait_time_s": str(RAY_WAIT_S)}  # Ray's attempts to join: ~1 s each
    with _ray_output_aside() as output, _environment(wait):
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(num_cpus=jobs, log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False)
        except Exception as exc:
            reason = _ray_failure(exc, output())
            raise ConfigError(f"{where}: Ray could not {'join the cluster' if address else 'start'} ({reason})") from None

    def stop() -> None:
        with _ray_output_aside():
            ray.shutdown()

    return stop


def _ray_address(address: str, where: str) -> tuple[str, int]:
    """(host, port) of `address`; "auto" is looked up as Ray does (RAY_ADDRESS, then the cluster
    `ray start` recorded on this machine)."""
    if address == "auto":
        from ray._private.services import canonicalize_bootstrap_address

        try:
            address = canonicalize_bootstrap_address("auto")
        except ConnectionError:
            address = None
        if not address:
            raise ConfigError(f"{where}: no running Ray cluster found on this machine (start one with `ray start --head`, "
                              "or leave out --address to start a local Ray)")
    if "://" in address:
        raise ConfigError(f"{where}: expected HOST:PORT or auto (Ray client addresses, ray://..., are not supported)")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{where}: expected HOST:PORT or auto")
    if not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: port {port} is out of range (1 to 65535)")
    return host.strip("[]"), int(port)


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # and an empty SETTINGS frame


def _check_ray_address(address: tuple[str, int], where: str) -> None:
    """ConfigError unless something at `address` answers like a Ray cluster's head (its GCS, a
    gRPC server: an HTTP/2 SETTINGS frame in reply to the HTTP/2 preface) within RAY_WAIT_S."""
    import socket

    try:
        with socket.create_connection(address, timeout=RAY_WAIT_S) as connection:
            connection.settimeout(RAY_WAIT_S)
            connection.sendall(_HTTP2_PREFACE)
            reply = connection.recv(9)
    except socket.timeout:
        reason = f"no answer within {RAY_WAIT_S} s"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    else:
        if len(reply) == 9 and reply[3] == 4:  # a frame header of type SETTINGS
            return
        reason = "what answers there is not Ray"
    raise ConfigError(f"{where}: no Ray cluster at {address[0]}:{address[1]} ({reason})")


def _ray_failure(exc: BaseException, output: str) -> str:
    """Why ray.init failed, in a few words: its exception, or the last line Ray wrote."""
    chain = []
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    text = "\n".join(chain + [output])
    if "Unauthenticated" in text or "InvalidAuthToken" in text:
        return "the cluster wants its authentication token: set RAY_AUTH_MODE=token, with the token in RAY_AUTH_TOKEN or ~/.ray/auth_token"
    return next((line.strip() for line in chain if line.strip()), "no reason given")


@contextlib.contextmanager
def _ray_output_aside():
    """Send what this process writes to stderr (Ray's Python and C++ log lines) to a temporary
    file while Ray starts or stops; yield a function that reads it."""
    import sys
    import tempfile

    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as aside:
        saved = os.dup(2)
        os.dup2(aside.fileno(), 2)
        try:
            yield lambda: (aside.seek(0), aside.read().decode(errors="replace"))[1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def _environment(values: dict):
    """Environment variables set for the duration (those the user set are left as they are)."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def run_ray(plan, todo, batch_size, keep_equity, store, finished, total, on_batch):
    """The batches as Ray tasks on the Ray that `start_ray` joined or started."""
    import ray

    remote = ray.remote(num_cpus=1)(_ray_batch)
    plan_ref = ray.put(plan)
    names = stat_names(has_benchmark(plan))
    pending = [remote.remote(plan_ref, batch, keep_equity) for batch in batches(todo, batch_size)]
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            combo_ids, stats, names, equity, dates = ray.get(ready[0])
            store.write_part(combo_ids, stats, names, equity, dates)
            finished += len(combo_ids)
            if on_batch is not None:
                on_batch(finished, total)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return names


def gpu_problem(device: int = 0) -> str | None:
    """Why the CUDA backend cannot run on GPU `device` here (None: it can)."""
    try:
        from backtest.engine import cuda
    except ImportError:
        return "numba-cuda is not installed (pip install 'backtest[cuda]')"
    return cuda.unavailable(device)

