#!/usr/bin/env python3
"""group-latency.py: a 1 KB group message beside a 1 KB announcement, on real processes.

What it is for: issue 17's latency goal. It starts N floodd sites on loopback (one `herald run
--floodd-config` each, `--open`, one group of every site, k = 2), waits until every site has
the group's topology, then publishes, from site 0, ROUNDS pairs 300 ms apart: a 1 KB
announcement (`PUT /v1/services/bench-K`) and a 1 KB group message (`data` on site 0's
client port, the line protocol). Every other site's `/v1/events` stream is read from before
the first publication; the latency of one copy is the time from just before the publication
to the moment its event (`announcement` or `message`) arrives at a site. It prints p50 and p99
over every (publication, site) pair for both kinds, and their ratio.

It also times each message to every other site's export command, which is what issue 17's
goal names: each receiving site's export command appends the wall-clock time it started and
the batch it read to `exports.log` in its data directory, and a message's export latency is
that time less the wall-clock time just before its `data` command was sent. Both clocks are
this machine's.

`--no-export` runs the sites without an export command, to time delivery to the node alone.

Usage: group-latency.py BIN [--sites 5] [--rounds 40] [--no-export]
"""

import argparse
import base64
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.request

from floodd_sites import SiteFailed, Sites, exit_on_sigterm


def watch(api, arrivals, lock):
    """Appends (kind, key, time) for every announcement and message event at `api`."""
    request = urllib.request.Request(f"http://{api}/v1/events")
    with urllib.request.urlopen(request, timeout=600) as stream:
        kind = None
        for raw in stream:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("announcement", "message"):
                now = time.monotonic()
                data = json.loads(line[5:])
                key = data.get("service") if kind == "announcement" else \
                    base64.b64decode(data["data_base64"])[:12].decode(errors="replace")
                with lock:
                    arrivals.append((kind, key, now))


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(fraction * len(values) + 0.5)) - 1))]


# Each receiving site's export command: the time it started, then the batch it read.
EXPORT = '(:export-command "{ date +@%s.%N; cat; echo; } >> exports.log")'

# How a message's body starts: `m`, its round, and dashes to 12 bytes.
MARK = re.compile(rb"m(\d{4})-")


def exported(directory):
    """(round, wall-clock time its export command started) for every message a site exported."""
    try:
        with open(os.path.join(directory, "exports.log"), "rb") as log:
            text = log.read()
    except FileNotFoundError:
        return []
    found = []
    for batch in text.split(b"@")[1:]:
        started, _, bodies = batch.partition(b"\n")
        found += [(int(round_), float(started)) for round_ in MARK.findall(bodies)]
    return found


def report_exports(args, sent_at, exports):
    """Prints the latency from each message's `data` command to every other site's export."""
    latencies = [(at - sent_at[round_]) * 1000 for site in exports for round_, at in site
                 if round_ in sent_at]
    expected = args.rounds * (args.sites - 1)
    print(f"message to export command: {len(latencies)}/{expected} copies, "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--no-export", action="store_true",
                        help="run the sites without an export command")
    args = parser.parse_args()
    exit_on_sigterm()
    try:
        with Sites(args.binary, count=args.sites, prefix="herald-group-latency-",
                   local=lambda index: EXPORT if index > 0 and not args.no_export else "") \
                as sites:
            sites.wait_settled()
            sent_at = measure(args, sites.apis, sites.client_ports[0])
            if not args.no_export:
                exports = [exported(sites.directory(index)) for index in range(1, args.sites)]
                report_exports(args, sent_at, exports)
    except SiteFailed as error:
        sys.exit(f"group-latency: {error}")
    except KeyboardInterrupt:
        sys.exit("group-latency: interrupted; the sites were stopped")


def measure(args, apis, client_port):
    """Publishes the pairs from site 0 and prints the latencies at the other sites; returns
    the wall-clock time each round's message was sent at."""
    arrivals, lock = [], threading.Lock()
    for api in apis[1:]:
        threading.Thread(target=watch, args=(api, arrivals, lock), daemon=True).start()
    time.sleep(1)
    client = socket.create_connection(("127.0.0.1", client_port))
    client.recv(4096)
    sent, sent_at = {}, {}
    pad = "x" * 1000
    for round_ in range(args.rounds):
        key = f"bench-{round_:04d}"
        body = json.dumps({"pad": pad}).encode()
        request = urllib.request.Request(f"http://{apis[0]}/v1/services/{key}", data=body,
                                         method="PUT",
                                         headers={"Content-Type": "application/json"})
        sent[("announcement", key)] = time.monotonic()
        urllib.request.urlopen(request, timeout=5).read()
        time.sleep(0.15)
        message = f"m{round_:04d}-".ljust(12, "-") + pad
        sent[("message", message[:12])] = time.monotonic()
        sent_at[round_] = time.time()
        client.sendall(f"data\r\n{message}\r\n.\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 2:
            reply += client.recv(4096)
        time.sleep(0.15)
    time.sleep(5)
    latencies = {"announcement": [], "message": []}
    with lock:
        for kind, key, at in arrivals:
            if (kind, key) in sent:
                latencies[kind].append((at - sent[(kind, key)]) * 1000)
    expected = args.rounds * (args.sites - 1)
    for kind, values in latencies.items():
        print(f"{kind}: {len(values)}/{expected} copies, p50 {percentile(values, 0.5):.1f} ms, "
              f"p99 {percentile(values, 0.99):.1f} ms")
    a, m = latencies["announcement"], latencies["message"]
    print(f"message/announcement: p50 {percentile(m, 0.5) / percentile(a, 0.5):.2f}x, "
          f"p99 {percentile(m, 0.99) / percentile(a, 0.99):.2f}x")
    return sent_at


if __name__ == "__main__":
    main()
