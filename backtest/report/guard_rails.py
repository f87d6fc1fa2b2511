"""A sweep's guard rails in words: the lines and tables `backtest sweep` prints and the sweep's
report shows, from the `guard_rails` object (`SweepResult.guard_rails`, guard_rails.json).

    ranking_title(count, metric, guard_rails)       "Top 20 by sharpe, in-sample (a → b)"
    guard_rail_lines(guard_rails, metric, combinations)
                                                    conventions, deflated ratios, the winner's significance
    split_table(split, metric)                      (title, header, rows): in-sample winners out of sample
    split_lines(split)                              their significance out of sample, then the note
"""

from __future__ import annotations

from backtest.display import STAT_FORMATS, conventions_line, format_params, format_value, ranked_by, significance_lines

RELATIVE = ["excess_cagr", "information_ratio"]  # the split's out-of-sample figures against the benchmark


def figure_cells(figures: dict, names: list[str]) -> list[str]:
    """Each named statistic of `figures` in its display format ("–" where missing)."""
    return [format_value(figures.get(n), STAT_FORMATS.get(n, (n, "ratio"))[1]) for n in names]


def ranking_title(count: int, metric: str, guard_rails: dict) -> str:
    """The ranking's title; with a split, the in-sample period it was ranked on."""
    split = guard_rails.get("split")
    scope = f", in-sample ({split['in_sample'][0]} → {split['in_sample'][1]})" if split else ""
    return f"Top {count} by {ranked_by(metric)}{scope}"


def guard_rail_lines(guard_rails: dict, metric: str, combinations: int) -> list[str]:
    """The winner's conventions, the deflated ratios of the winner and its significance (the
    winner named by its swept values)."""
    lines = [conventions_line(guard_rails["conventions"]) + " [the winner's]"] if guard_rails.get("conventions") else []
    for key, what in (("deflated_sharpe", "Sharpe ratio"), ("deflated_sharpe_vs_benchmark", "information ratio vs the benchmark")):
        dsr = guard_rails.get(key)
        if dsr is not None:
            variants = f"; {dsr['cost_variants']:,} cost variants, not counted as trials" if dsr["cost_variants"] > 1 else ""
            lines.append(f"Deflated {what} of the winner ({format_params(dsr['params'])}): {dsr['dsr']:.3f} over "
                         f"{dsr['trials']:,} trials ({dsr['units']}{variants}): {dsr['verdict']}")
    if guard_rails.get("significance") is not None:
        block = guard_rails["significance"]
        significance = significance_lines(block)
        significance[0] += (f" [winner by {metric} ({format_params(block['params'])}) of {combinations:,} combinations, "
                            f"in-sample: the choice is not allowed for here, the deflated ratios above do that]")
        lines += significance
    return lines


def _split_names(metric: str) -> list[str]:
    return list(dict.fromkeys([metric, "cagr", "sharpe", "max_drawdown"]))


def split_table(split: dict, metric: str) -> tuple[str, list[str], list[list[str]]]:
    """The in-sample winners' figures in and out of sample, and the benchmark bought at the split."""
    names = _split_names(metric)
    header = ["params", *(f"IS {n}" for n in names), *(f"OOS {n}" for n in names + RELATIVE), "OOS p"]
    rows = [[format_params(w["params"]), *figure_cells(w["in_sample"], names), *figure_cells(w["out_of_sample"], names + RELATIVE),
             "–" if w.get("significance") is None else f"{w['significance']['p_value']:.3f}"] for w in split["winners"]]
    if split["benchmark_out_of_sample"] is not None:
        rows.append(["benchmark, bought at the split", *[""] * len(names), *figure_cells(split["benchmark_out_of_sample"], names),
                     *[""] * (len(RELATIVE) + 1)])
    title = (f"In-sample winners ({split['in_sample'][0]} → {split['in_sample'][1]}) out of sample "
             f"(from {split['out_of_sample_start']})")
    return title, header, rows


def split_lines(split: dict) -> list[str]:
    """The winner's significance out of sample (where there is a benchmark), then the split's note."""
    lines = []
    if split["winners"] and split["winners"][0].get("significance"):
        lines = [line + (" [out of sample]" if line.startswith("Significance") else "")
                 for line in significance_lines(split["winners"][0]["significance"])]
    return [*lines, f"{split['note']}; OOS p: Newey-West test of the active return against the benchmark."]
