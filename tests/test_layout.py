"""The package's shape: no import cycles between modules (function-local imports included), and
`import backtest` stays light."""

import ast
import subprocess
import sys

from tests.conftest import REPO_ROOT


def _import_graph() -> dict[str, set[str]]:
    """Module -> the backtest modules it imports anywhere in its text (lazy imports too)."""
    paths = {}
    for path in (REPO_ROOT / "backtest").rglob("*.py"):
        name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        paths[name] = path

    def module_of(target: str) -> str:
        while target and target not in paths:
            target = target.rpartition(".")[0]
        return target

    graph = {name: set() for name in paths}
    for name, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in (module_of(t) for t in targets if t.startswith("backtest")):
                if target and target != name and not name.startswith(target + "."):  # a package's own __init__ is no edge
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a path that returns to its start), or None: a depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    graph = _import_graph()
    assert "backtest.sweeps.evaluate" in graph and graph["backtest.cli.run"]  # the graph was read
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_import_backtest_is_light():
    """`import backtest` loads no pandas, numba, vectorbt or plotting; the API comes on first use."""
    code = ("import sys, backtest; heavy = [m for m in ('pandas', 'numba', 'vectorbt', 'matplotlib', 'plotly', 'scipy') "
            "if m in sys.modules]; print(heavy); print(sorted(backtest.__all__)); print(callable(backtest.run))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == str(sorted(["Param", "__version__", "check", "compare", "load", "run", "study", "sweep"]))
    assert out[2] == "True"
