#!/usr/bin/env python3
"""pgoals.py: re-run herald's simulator goals P1-P7 for two (or more) binaries side by side.

What it is for: comparing a new build against the build before it on the performance goals of
BENCHMARKS.md ("### P1" to "### P7", and the table "Every goal re-run at e30724f"). Every goal
runs the same `BIN sim ... --seed SEED --json` command for every binary and seed; the script
prints the commands, then one markdown table with a row per goal figure, a column per binary,
and in each cell the per-seed values separated by ", ".

Usage:
  pgoals.py --seeds 1,2,3,4 [--big] [--with-p2] [--jobs 2] NAME=BIN NAME=BIN
  pgoals.py --smoke --seeds 1,2 a=target/release/herald b=target/release/herald

What runs:
  default    the 1,000-node and smaller goals: P3 (one crash, ten crashes), P4 (an hour at
             20% loss), P5 (idle, 100 and 1,000 nodes with membership, 100 without), P6 (no
             loss, 20% loss), P7 (newcomer). P1 exists only at 10,000 nodes, so it needs --big.
  --big      adds the 10,000-node goals: P1 (one origin, random origins) and P5 at 10,000
             nodes without membership.
  --with-p2  adds P2 (crash then 1,000 announcements, membership off): 80, 90 and 95% crashed
             at 10,000 nodes, and 50% at 2,000 nodes with 200 announcements (as BENCHMARKS.md
             ran it at 44dc9dc). With --big as well, 50% at 10,000 nodes too (400 s, 8.4 GB a
             run), which runs alone, never beside another simulation.
  --smoke    a test of this script: every command above (P1 and P2 included) at 60 nodes,
             settle at most 5 s, at most 10 announcements; a few seconds in all. Two copies of
             one binary must give equal columns (the simulator is deterministic).
  --goals    only the goals named, e.g. --goals P3,P5 (after --big/--with-p2 have chosen).
  --list     print the commands that would run, and run nothing.

Runs go at most --jobs at a time, ordered goal by goal and seed by seed with the binaries next
to each other (their order alternating between seeds), so that two runs sharing the machine are
the two binaries on the same command and seed: noise hits both alike. Progress goes to stderr.
--save DIR keeps each run's JSON report as DIR/GOAL.seedS.NAME.json.

Cost (estimated, not measured, at 7599279: the script was only tested at 60 nodes): the default
goals take roughly 9-12 min of CPU per seed per binary, P4 (an hour of virtual time) about
4-5 of them, so seeds 1-4 for two binaries are about 40-50 min of wall time at --jobs 2 on an
idle 2-core machine. --goals P3,P5,P6,P7 leaves P4 out. The footer prints the measured sums.
BENCHMARKS.md gives P1 40-95 s a run, P2 at 80 / 90 / 95% 110-260 / 55-85 / 20-26 s.
"""

import argparse
import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------------------------------------
# Formatting of one figure.


def pct(x):
    return "none" if x is None else f"{100 * x:.2f}"


def secs(ms):
    return "none" if ms is None else f"{ms / 1000:.1f}"


def fixed(digits):
    return lambda x: "none" if x is None else f"{x:.{digits}f}"


def whole(x):
    return "none" if x is None else f"{x:,.0f}"


def get(*path):
    """A getter for a (possibly nested) key of the --json report."""

    def f(report):
        for key in path:
            report = report[key]
        return report

    return f


# Figures shared by several goals: (row label, getter, formatter, goal or "").
RMR = ("RMR", get("rmr"), fixed(3))
LAT_P50 = ("latency p50 ms", get("latency_ms", "p50"), whole)
LAT_P99 = ("latency p99 ms", get("latency_ms", "p99"), whole)
LAT_MAX = ("latency max ms", get("latency_ms", "max"), whole)
DELIVERED = ("delivered %", get("delivered_fraction"), pct)
FALSE = ("false suspicions", get("false_suspicions"), str)
MSGS = ("messages / node / s", get("messages_per_node_per_s"), fixed(2))
BYTES = ("bytes / node / s", get("bytes_per_node_per_s"), whole)


def fig(base, goal=""):
    return base + (goal,)


# ---------------------------------------------------------------------------------------------
# The goals. Each: (goal id, label, sim arguments with {seed}, figures, tier, solo).
# tier: "default", "big" (10,000 nodes) or "p2"; "p2big" is P2 at 50% on 10,000 nodes.
# The commands are those of BENCHMARKS.md, each goal's section.


def goals():
    g = []

    def add(gid, label, args, figures, tier="default", solo=False):
        g.append(dict(id=gid, label=label, args=args.split() + ["--seed", "{seed}", "--json"],
                      figures=figures, tier=tier, solo=solo))

    # P1: 10,000 nodes, 100 announcements, membership off.
    p1 = "--nodes 10000 --no-membership --origins {o} --broadcasts 100 --settle 10"
    add("P1-single", "P1 one origin", p1.format(o="single"), [
        fig(RMR, "≤ 0.05"),
        ("LDH p50", get("last_delivery_hop", "p50"), whole, "≤ 10"),
        ("LDH max", get("last_delivery_hop", "max"), whole, ""),
        fig(LAT_P50), fig(LAT_P99), fig(DELIVERED),
    ], tier="big")
    add("P1-random", "P1 random origins", p1.format(o="random"), [
        fig(RMR, "≤ 0.5"),
        ("LDH p50", get("last_delivery_hop", "p50"), whole, ""),
        fig(LAT_P50), fig(LAT_P99), fig(DELIVERED),
    ], tier="big")

    # P2: a share of the nodes crash at once, then 1,000 announcements, membership off.
    p2_figs = lambda by_broadcast: [
        ("by broadcast %", get("delivered_by_broadcast_fraction"), pct, by_broadcast),
        ("after anti-entropy %", get("delivered_fraction"), pct, "100"),
        fig(LAT_P50), fig(LAT_P99), fig(RMR),
        ("cut off (isolated)", get("overlay_isolated"), str, ""),
    ]
    p2 = "--nodes 10000 --no-membership --kill {k} --broadcasts 1000 --settle 30"
    add("P2-50-2k", "P2 50% crashed, 2,000 nodes, 200 announcements",
        "--nodes 2000 --no-membership --kill 0.5 --broadcasts 200 --settle 30",
        p2_figs("≥ 99.9"), tier="p2")
    for k, goal in (("0.8", "≥ 99"), ("0.9", "≥ 97"), ("0.95", "≥ 93")):
        share = round(float(k) * 100)
        add(f"P2-{share}", f"P2 {share}% crashed", p2.format(k=k), p2_figs(goal),
            tier="p2")
    add("P2-50", "P2 50% crashed", p2.format(k="0.5"), p2_figs("≥ 99.9"), tier="p2big",
        solo=True)

    # P3: crashes known dead by 99% of 1,000 members; 1 crash (the goal) and 10 at once.
    p3 = "--nodes 1000 --kill {k} --broadcasts 0 --settle 30"
    for gid, label, k in (("P3-one", "P3 one crash", "0.001"),
                          ("P3-ten", "P3 ten crashes, slowest", "0.01")):
        add(gid, label, p3.format(k=k), [
            ("known dead by 99%, s", get("crash_known_99_ms"), secs, "≤ 8"),
            fig(FALSE, "0"), fig(MSGS),
        ])

    # P4: 1,000 nodes at 20% loss for one hour of virtual time.
    add("P4", "P4 hour at 20% loss", "--nodes 1000 --broadcasts 0 --loss 0.2 --settle 3600", [
        fig(FALSE, "0"),
        ("views right after warm-up, s", get("membership_converged_ms"), secs, ""),
        fig(MSGS), fig(BYTES),
    ])

    # P5: idle cost per node, counted after the warm-up.
    p5 = "--nodes {n} --broadcasts 0 --settle 60"
    p5_figs = [fig(MSGS, "≤ 4"), fig(BYTES, "≤ 2,048")]
    add("P5-100", "P5 idle, 100 nodes, membership on", p5.format(n=100), p5_figs)
    add("P5-1k", "P5 idle, 1,000 nodes, membership on", p5.format(n=1000), p5_figs)
    add("P5-100-off", "P5 idle, 100 nodes, membership off",
        p5.format(n=100) + " --no-membership", p5_figs)
    add("P5-10k-off", "P5 idle, 10,000 nodes, membership off",
        p5.format(n=10000) + " --no-membership", p5_figs, tier="big")

    # P6: 100 announcements at 1,000 nodes with membership, no loss and 20% loss.
    p6 = "--nodes 1000 --broadcasts 100"
    for gid, label, extra, goal in (("P6", "P6 no loss", "", "≤ 600"),
                                    ("P6-loss", "P6 20% loss", " --loss 0.2", "≤ 1,500")):
        add(gid, label, p6 + extra, [
            fig(LAT_P99, goal), fig(LAT_P50), fig(LAT_MAX), fig(RMR),
            ("RMR after warm-up", get("rmr_after_warmup"), fixed(3), ""),
            fig(DELIVERED), fig(FALSE, "0"),
        ])

    # P7: a newcomer catches up with 500 announcements of 4,000 bytes held by 1,000 nodes.
    add("P7", "P7 newcomer",
        "--nodes 1000 --broadcasts 500 --payload-bytes 4000 --newcomer --settle 10", [
            ("newcomer caught up, s", get("newcomer_caught_up_ms"), secs, "≤ 5"),
            fig(DELIVERED), fig(LAT_P99),
        ])
    return g


def smoke_args(args, nodes=60):
    """The same command at 60 nodes with a short settle and at most 10 announcements. A --kill
    of a few nodes (P3's 1 and 10 of 1,000) keeps its count of crashes; a share (P2) stays."""
    out = list(args)
    was = int(out[out.index("--nodes") + 1])
    for i, a in enumerate(out[:-1]):
        v = out[i + 1]
        if a == "--nodes":
            out[i + 1] = str(nodes)
        elif a == "--settle":
            out[i + 1] = str(min(int(v), 5))
        elif a == "--broadcasts":
            out[i + 1] = str(min(int(v), 10))
        elif a == "--kill" and float(v) * was <= 10:
            out[i + 1] = f"{round(float(v) * was) / nodes:.4f}"
    return out


# ---------------------------------------------------------------------------------------------
# Running.


RUNNING = set()  # the simulations running now, to end them if this script is stopped
STOP = threading.Event()


def run_one(job, save_dir):
    """Runs one (goal, seed, binary). Returns (report or None, wall s, CPU s, error or None)."""
    args = [a.replace("{seed}", str(job["seed"])) for a in job["goal"]["args"]]
    cmd = [job["bin"], "sim"] + args
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        RUNNING.add(p)
        # wait4 rather than wait: it also gives the run's own CPU time (user + system).
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        RUNNING.discard(p)
        wall, cpu = time.monotonic() - start, usage.ru_utime + usage.ru_stime
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        tail = (stderr or stdout or "no output").strip().splitlines()[-3:]
        return None, wall, cpu, f"exit {p.returncode}: " + " | ".join(tail)
    if save_dir:
        name = f"{job['goal']['id']}.seed{job['seed']}.{job['name']}.json"
        with open(os.path.join(save_dir, name), "w") as f:
            f.write(stdout)
    return report, wall, cpu, None


def run_all(jobs, n_jobs, save_dir):
    """Runs the jobs in their order, at most n_jobs at a time (solo jobs alone, at the end).
    Fills job["report"], job["wall"], job["cpu"] and job["error"]."""
    done = 0
    lock = threading.Lock()
    t0 = time.monotonic()

    def one(job):
        nonlocal done
        if STOP.is_set():
            return
        job["report"], job["wall"], job["cpu"], job["error"] = run_one(job, save_dir)
        with lock:
            done += 1
            note = f"  ERROR {job['error']}" if job["error"] else ""
            print(f"[{done}/{len(jobs)}] {job['goal']['id']} seed {job['seed']} {job['name']}: "
                  f"{job['wall']:.1f} s ({job['cpu']:.1f} s CPU; "
                  f"{time.monotonic() - t0:.0f} s elapsed){note}", file=sys.stderr, flush=True)

    shared = [j for j in jobs if not j["goal"]["solo"]]
    solo = [j for j in jobs if j["goal"]["solo"]]
    ex = cf.ThreadPoolExecutor(n_jobs)
    try:
        list(ex.map(one, shared))  # map submits in order; workers take jobs in that order
        for j in solo:
            one(j)
    except BaseException:  # Ctrl-C or an error here: start nothing more, end what runs
        STOP.set()
        ex.shutdown(wait=False, cancel_futures=True)
        for p in list(RUNNING):
            p.kill()
        raise
    ex.shutdown()


# ---------------------------------------------------------------------------------------------
# Output.


def cmdline(args):
    return "BIN sim " + " ".join("SEED" if a == "{seed}" else a for a in args)


def print_report(selected, jobs, names, seeds):
    by = {(j["goal"]["id"], j["seed"], j["name"]): j for j in jobs}
    print("## Simulator goals, side by side\n")
    print("Binaries: " + ", ".join(f"{n} = `{b}`" for n, b in names) + ".")
    print(f"Seeds: {', '.join(map(str, seeds))} (each cell lists one value per seed, in order).\n")
    print("Commands:\n")
    for g in selected:
        print(f"- {g['id']} ({g['label']}): `{cmdline(g['args'])}`")
    print()
    print("| goal figure | " + " | ".join(n for n, _ in names) + " | goal |")
    print("|---|" + "---|" * len(names) + "---|")
    for g in selected:
        for label, getter, form, target in g["figures"]:
            cells = []
            for name, _ in names:
                vals = []
                for s in seeds:
                    j = by[(g["id"], s, name)]
                    if j["report"] is None:
                        vals.append("ERR")
                    else:
                        try:
                            vals.append(form(getter(j["report"])))
                        except (KeyError, TypeError):
                            vals.append("n/a")
                cells.append(", ".join(vals))
            print(f"| {g['label']}: {label} | " + " | ".join(cells) + f" | {target} |")
    print()
    # Which commands left the same trace in every binary (a pure refactor should: all of them).
    same, differ = [], []
    for g in selected:
        hashes = [{(j["report"] or {}).get("trace_hash") for j in jobs
                   if j["goal"]["id"] == g["id"] and j["seed"] == s} for s in seeds]
        (same if all(len(h) == 1 and None not in h for h in hashes) else differ).append(g["id"])
    print(f"Same trace hash in every binary on every seed: {', '.join(same) or 'none'}.")
    print(f"Traces differ (or a run failed): {', '.join(differ) or 'none'}.")
    sums = []
    for name, _ in names:
        wall = sum(j["wall"] for j in jobs if j["name"] == name)
        cpu = sum(j["cpu"] for j in jobs if j["name"] == name)
        sums.append(f"{name} {wall:.0f} s wall, {cpu:.0f} s CPU")
    print(f"Time of the runs, summed per binary: {'; '.join(sums)}.")


def stopped(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--seeds", default="1", help="comma-separated seeds (default 1)")
    ap.add_argument("--big", action="store_true", help="add the 10,000-node goals (P1, P5)")
    ap.add_argument("--with-p2", action="store_true", help="add P2 (expensive)")
    ap.add_argument("--smoke", action="store_true", help="every command at 60 nodes (a test)")
    ap.add_argument("--goals", help="only these goals, by prefix: e.g. P3,P5 or P6-loss")
    ap.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    ap.add_argument("--save", metavar="DIR", help="keep each run's JSON report in DIR")
    ap.add_argument("--list", action="store_true", help="print the commands and run nothing")
    ap.add_argument("binaries", nargs="+", metavar="NAME=BIN")
    a = ap.parse_args()

    names = []
    for spec in a.binaries:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            ap.error(f"expected NAME=BIN, got {spec!r}")
        if not os.access(path, os.X_OK):
            ap.error(f"{path} is not an executable")
        if name in [n for n, _ in names]:
            ap.error(f"name {name!r} given twice")
        names.append((name, path))
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]

    tiers = {"default"}
    if a.big or a.smoke:
        tiers.add("big")
    if a.with_p2 or a.smoke:
        tiers.add("p2")
    if (a.with_p2 and a.big) or a.smoke:
        tiers.add("p2big")
    selected = [g for g in goals() if g["tier"] in tiers]
    if a.goals:
        wanted = [w.strip() for w in a.goals.split(",")]
        selected = [g for g in selected
                    if any(g["id"] == w or g["id"].startswith(w + "-") for w in wanted)]
    if a.smoke:
        for g in selected:
            g["args"] = smoke_args(g["args"])
            g["solo"] = False
    if not selected:
        ap.error("no goal selected")
    if a.list:
        for g in selected:
            print(f"- {g['id']} ({g['label']}): `{cmdline(g['args'])}`")
        return
    if a.save:
        os.makedirs(a.save, exist_ok=True)

    # Goal by goal, seed by seed, the binaries next to each other, their order alternating.
    jobs = []
    for g in selected:
        for i, s in enumerate(seeds):
            order = names if i % 2 == 0 else names[::-1]
            for name, path in order:
                jobs.append(dict(goal=g, seed=s, name=name, bin=path))
    print(f"{len(jobs)} runs, {a.jobs} at a time", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, stopped)  # a plain kill ends the runs too, as Ctrl-C does
    run_all(jobs, max(1, a.jobs), a.save)
    print_report(selected, jobs, names, seeds)


if __name__ == "__main__":
    main()
