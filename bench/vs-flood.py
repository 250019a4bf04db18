#!/usr/bin/env python3
"""vs-flood.py: Plumtree against flooding on the same seeds, for one or more herald binaries.

What it is for: issue 15's goal for a broadcast with many rare origins. With membership on and
random-origin announcements, at 300 and 1,000 nodes, Plumtree's bytes should be at most 0.6x
flood's, its messages at most flood's, and its p99 latency at most 1.5x flood's, in the same run
of the simulator. Every cell runs `BIN sim --nodes N --broadcasts B --seed S --broadcast MODE
--json` for MODE plumtree and flood, and prints Plumtree's figure over flood's:

  bytes, msgs      per node over the whole run (warm-up included), as the report prints them;
  bytes/s, msgs/s  per node per second after the warm-up (the announcements and what follows);
  p99              announcement latency;
  RMR ann.         the announcements' redundancy, Plumtree's and flood's (not a ratio).

Usage:
  vs-flood.py [--nodes 300,1000] [--seeds 1,2] [--broadcasts 100] [--jobs 2] NAME=BIN ...

Runs go at most --jobs at a time; progress goes to stderr, the markdown table to stdout.
"""

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def run(binary, nodes, seed, broadcasts, mode):
    command = [binary, "sim", "--nodes", str(nodes), "--broadcasts", str(broadcasts),
               "--seed", str(seed), "--broadcast", mode, "--json"]
    print(" ".join(command), file=sys.stderr)
    report = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    return {
        "bytes": report["bytes_per_node"],
        "msgs": report["messages_per_node"],
        "bytes/s": report["bytes_per_node_per_s"],
        "msgs/s": report["messages_per_node_per_s"],
        "p99": report["latency_ms"]["p99"],
        "rmr": report["rmr_announcements"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="300,1000")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--broadcasts", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("binaries", nargs="+", metavar="NAME=BIN")
    args = parser.parse_args()
    binaries = [tuple(pair.split("=", 1)) for pair in args.binaries]
    if any(len(pair) != 2 for pair in binaries):
        parser.error("binaries are given as NAME=BIN")
    sizes = [int(n) for n in args.nodes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    cells = [(name, binary, nodes, seed, mode)
             for nodes in sizes for seed in seeds for name, binary in binaries
             for mode in ("plumtree", "flood")]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {cell: pool.submit(run, cell[1], cell[2], cell[3], args.broadcasts, cell[4])
                   for cell in cells}
        results = {cell: future.result() for cell, future in futures.items()}
    print("| binary | nodes | seed | bytes | msgs | bytes/s | msgs/s | p99 | RMR ann. (plumtree, flood) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for nodes in sizes:
        for name, binary in binaries:
            for seed in seeds:
                plumtree = results[(name, binary, nodes, seed, "plumtree")]
                flood = results[(name, binary, nodes, seed, "flood")]
                ratio = lambda key: f"{plumtree[key] / flood[key]:.2f}x" if flood[key] else "-"
                print(f"| {name} | {nodes} | {seed} | {ratio('bytes')} | {ratio('msgs')} | "
                      f"{ratio('bytes/s')} | {ratio('msgs/s')} | {ratio('p99')} | "
                      f"{plumtree['rmr']:.2f}, {flood['rmr']:.2f} |")


if __name__ == "__main__":
    main()
