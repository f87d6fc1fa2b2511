"""Reproducing a recorded run: `backtest rerun RUN_ID`.

The run's resolved config (`config.yaml`, as recorded) is loaded again, its data located on the
current search path, and the data files' sha256 compared with the run's manifest before
anything is computed; then the run is executed again and every figure of its `stats.json`
compared bit for bit (through the same JSON round trip the stored file went through, which
preserves every float exactly). Changed software (package versions, Python, git commit) is
reported beside the verdict: it may explain a difference, or change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from backtest import data
from backtest.store import rundir
from backtest.config import validate
from backtest.pipeline import prepare, run_prepared
from backtest.store.registry import RegistryError, RunRecord


@dataclass(frozen=True)
class Change:
    """One input that differs from the recorded run's."""

    what: str  # "data file" | "strategy file" | "package" | "python" | "git commit"
    name: str  # the file, package, ...
    old: str | None
    new: str | None

    def describe(self) -> str:
        if self.what in ("data file", "strategy file"):
            if self.old is None:
                return f"{self.what} {self.name}: newly read (sha256 {self.new})"
            if self.new is None:
                return f"{self.what} {self.name}: no longer read (sha256 was {self.old})"
            return f"{self.what} {self.name}: sha256 {self.old} -> {self.new}"
        return f"{self.what} {self.name}".strip() + f": {self.old} -> {self.new}"


@dataclass(frozen=True)
class Difference:
    """One figure of stats.json that the rerun did not reproduce."""

    key: str  # dotted path, e.g. "strategy.cagr" or "strategy.drawdowns[0].trough"
    old: object
    new: object


@dataclass(frozen=True)
class RerunReport:
    run_id: str
    figures: int  # figures compared
    changes: list[Change]
    differences: list[Difference]

    @property
    def identical(self) -> bool:
        return not self.differences


def data_changes(old: dict[str, str], new: dict[str, str], what: str = "data file") -> list[Change]:
    """Differences between two {path: sha256} maps of input files (`what`). A file found at a
    new path with the old content is no change; at a new path with new content, it is named with
    both paths."""
    changes = []
    moved_from = {Path(p).name: p for p in old if p not in new}
    for path, sha in new.items():
        if path in old:
            if old[path] != sha:
                changes.append(Change(what, path, old[path], sha))
            continue
        was = moved_from.pop(Path(path).name, None)
        if was is None:
            changes.append(Change(what, path, None, sha))
        elif old[was] != sha:
            changes.append(Change(what, f"{path} (recorded at {was})", old[was], sha))
    changes += [Change(what, p, old[p], None) for p in moved_from.values()]
    return changes


def software_changes(old: dict, new: dict) -> list[Change]:
    """Differences in Python, package versions and git commit between two manifests."""
    changes = []
    for name in sorted(set(old.get("packages") or {}) | set(new.get("packages") or {})):
        was, now = (old.get("packages") or {}).get(name), (new.get("packages") or {}).get(name)
        if was != now:
            changes.append(Change("package", name, was, now))
    for key, what in (("python", "python"), ("git_commit", "git commit")):
        if old.get(key) != new.get(key):
            changes.append(Change(what, "", old.get(key), new.get(key)))
    return changes


def differences(old, new, key: str = "") -> list[Difference]:
    """Every leaf where two JSON values differ (exact equality; missing keys count)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(dict.fromkeys([*old, *new])):
            out += differences(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{key}[{i}]")]
    return [] if old == new and type(old) is type(new) else [Difference(key, old, new)]


def _count(value) -> int:
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    return 1


def _read_json(path: Path, run_id: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"run {run_id}: cannot read {path} ({exc})") from None


def _figures(summary: dict) -> dict:
    """What a rerun must reproduce of stats.json: dates, conventions, statistics, significance (the
    conventions' note, which may name the data directories searched, is words, not a figure)."""
    figures = {k: summary.get(k) for k in ("start", "end", "conventions", "strategy", "benchmark", "significance")}
    if isinstance(figures["conventions"], dict):
        figures["conventions"] = {k: v for k, v in figures["conventions"].items() if k != "risk_free_note"}
    return figures


def rerun(record: RunRecord) -> RerunReport:
    """Execute a recorded run again and compare its inputs and statistics with the record."""
    if record.kind != "run":
        raise RegistryError(f"{record.id} is a {record.kind}; rerun takes the id of a `backtest run`")
    if not record.path:
        raise RegistryError(f"run {record.id}: no run directory recorded")
    run_dir = Path(record.path)
    manifest = _read_json(run_dir / "manifest.json", record.id)
    if manifest.get("strategy_in_memory"):
        name = ((record.config or {}).get("strategy") or {}).get("name")
        raise RegistryError(f"run {record.id}: its strategy {name!r} was defined in memory (strategy= in Python, no file), "
                            "so it cannot be rerun from the registry; save the rule as a .py file and run it again")
    stored = _read_json(run_dir / "stats.json", record.id)
    config = validate(dict(record.config), source=f"run {record.id} (config.yaml)",
                      base_dir=manifest.get("config_dir") or ".")
    prepared = prepare(config)
    current_files = data.source_files(prepared.series_read, prepared.search_path, prepared.catalogs)
    changes = data_changes(manifest.get("data_files") or {}, current_files)
    if "strategy_files" in manifest:  # (runs recorded before it was kept have none to compare)
        changes += data_changes(manifest["strategy_files"], rundir.strategy_files(prepared.legs), "strategy file")
    changes += software_changes(manifest, rundir.environment())
    summary = json.loads(json.dumps(run_prepared(prepared).summary()))
    compared, fresh = _figures(stored), _figures(summary)
    return RerunReport(record.id, _count(compared), changes, differences(compared, fresh))
