#!/usr/bin/env python3
"""seed-stats.py BIN SCENARIO N [SIM ARGS...]: one scenario file over the first N seeds of
bench/sweep-seeds.txt (the seed sweep's 200 fresh seeds), two runs at a time; prints the mean,
standard deviation and maximum of the figures the scenario bounds. BENCHMARKS.md's per-scenario
tables of the seed sweep come from it, e.g.
    bench/seed-stats.py target/release/herald scenarios/mass-failure.toml 40
"""
import concurrent.futures
import json
import pathlib
import statistics
import subprocess
import sys

binary, scenario, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
extra = sys.argv[4:]
seeds_file = pathlib.Path(__file__).with_name("sweep-seeds.txt")
seeds = seeds_file.read_text().strip().split(",")[:count]


def run(seed):
    command = [binary, "sim", "--scenario", scenario, "--seed", seed, "--json", *extra]
    return json.loads(subprocess.run(command, capture_output=True, text=True).stdout)


with concurrent.futures.ThreadPoolExecutor(2) as pool:
    reports = list(pool.map(run, seeds))

FIGURES = [("latency_ms", "p99"), "messages_per_node", "membership_converged_ms",
           "delivered_by_broadcast_fraction", "delivered_fraction", "rmr", "false_suspicions",
           "bytes_per_node"]
for figure in FIGURES:
    if isinstance(figure, tuple):
        values = [report[figure[0]][figure[1]] for report in reports]
        name = ".".join(figure)
    else:
        values = [report[figure] for report in reports]
        name = figure
    known = [value for value in values if value is not None]
    missing = len(values) - len(known)
    print(f"{name:34s} mean {statistics.mean(known):11.3f} sd {statistics.pstdev(known):10.3f} "
          f"max {max(known):11.3f}" + (f" ({missing} runs without a value)" if missing else ""))
