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

What it measures is delivery to the node, as the event stream reports it; the export command
runs right after, in a batch of one on an idle node.

Usage: group-latency.py BIN [--sites 5] [--rounds 40]
"""

import argparse
import base64
import json
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    exit_on_sigterm()
    try:
        with Sites(args.binary, count=args.sites, prefix="herald-group-latency-") as sites:
            sites.wait_settled()
            measure(args, sites.apis, sites.client_ports[0])
    except SiteFailed as error:
        sys.exit(f"group-latency: {error}")
    except KeyboardInterrupt:
        sys.exit("group-latency: interrupted; the sites were stopped")


def measure(args, apis, client_port):
    """Publishes the pairs from site 0 and prints the latencies at the other sites."""
    arrivals, lock = [], threading.Lock()
    for api in apis[1:]:
        threading.Thread(target=watch, args=(api, arrivals, lock), daemon=True).start()
    time.sleep(1)
    client = socket.create_connection(("127.0.0.1", client_port))
    client.recv(4096)
    sent = {}
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


if __name__ == "__main__":
    main()
