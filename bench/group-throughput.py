#!/usr/bin/env python3
"""group-throughput.py: 1 GiB flooded to five real floodd sites, beside one QUIC stream.

What it is for: issue 17's throughput and memory goals. For each `--storage-max-mib` value it
starts N floodd sites on loopback (`herald run --floodd-config`, `--open`, one group of every
site, connectivity 2, `(:local (:data-storage-max BYTES))` on every site and an export command
`wc -c >> exported.bytes` on every site but site 0), waits until every site has the group's
topology, then publishes `--total-mib` MiB as messages of `--message-mib` MiB through site 0's
client port (`binary SIZE bench`, one message after the other on one connection; a 4xx reply,
the node's backpressure, is answered by waiting and sending the message again, 50 ms at first,
doubling up to 400 ms). It measures:

- throughput: payload bytes / the time from the first publish to the moment the last receiving
  site has delivered every message. Delivery is read from each site's `groups.delivered`
  counter (`GET /v1/stats`), polled every 50 ms; the `/v1/events` stream is not used because
  each `message` event carries the whole body in base64. The time until every export command
  has consumed every byte is printed too.
- bytes on the wire: the sum over all sites of `core.group_bytes_out` (the encoded frames of
  the groups protocol the core hands to its transport: chunks, offers, wants and digests,
  without QUIC's own headers, acknowledgements and retransmissions), divided by
  payload × (N − 1), the least a flood can send, and by payload × edges, the most floodd's
  design allows (one copy per edge of the group's topology). Also every frame of every kind
  (`transport.bytes_out`), and frames dropped at full send queues.
- memory: each site's VmHWM (peak resident set, /proc/PID/status), read during the run every
  200 ms and at its end, next to data-storage-max, and its VmRSS before the flood.
- CPU: user + system seconds of every site from the first publish to the last delivery (or
  to the moment a stalled flood is given up on), /proc/PID/stat.

Its baseline, measured in the same run before and after the floods: one QUIC stream's
throughput on loopback, `quic-stream --bytes TOTAL` (crates/bench/src/bin/quic_stream.rs: two
quinn endpoints with the node's own TLS and transport configuration, one unidirectional stream,
64 KiB writes). It prints flood throughput / QUIC stream throughput (the mean of the two runs);
the goal is at least 0.5.

A flood in which no receiving site delivers anything for `--stall-s` seconds (30) after the
last publish is reported as stalled, with each site's count, and the script exits 1 after
printing every figure.

Usage: group-throughput.py BIN [--sites 5] [--total-mib 1024] [--message-mib 16]
           [--storage-max-mib 256 [64 ...]] [--quic-stream PATH] [--stall-s 30] [--json]
           [--keep]

BIN is the herald binary (target/release/herald); quic-stream is looked for next to it.
Build both with `cargo build --release -p herald -p herald-bench`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

from floodd_sites import GROUP, SiteFailed, Sites, exit_on_sigterm, get

MIB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    """VmRSS and VmHWM of `pid`, in bytes ({} if it is gone)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values


def cpu_seconds(pid):
    """User + system CPU seconds `pid` has used."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def stats(api):
    """The counters this script reads from one site."""
    answer = get(api, "/v1/stats")
    return {
        "delivered": answer["groups"]["delivered"],
        "group_bytes_out": answer["core"]["group_bytes_out"],
        "bytes_out": answer["transport"]["bytes_out"],
        "dropped_queue_full": answer["transport"]["frames_dropped_queue_full"],
        "groups": answer["groups"],
    }


def read_reply(sock, buffer):
    """The code and text of one SMTP-style reply (the last line of a multi-line one)."""
    while True:
        while b"\r\n" in buffer[0]:
            line, buffer[0] = buffer[0].split(b"\r\n", 1)
            text = line.decode(errors="replace")
            if len(text) >= 4 and text[3] == " ":
                return int(text[:3]), text[4:]
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("site 0 closed the client connection")
        buffer[0] += data


def quic_stream(path, total):
    """One run of quic-stream: its JSON figures."""
    result = subprocess.run([path, "--bytes", str(total)], capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{path} failed with status {result.returncode}: "
                           f"{result.stderr.strip()}")
    return json.loads(result.stdout)


class Sampler(threading.Thread):
    """Polls the sites' memory every 200 ms, and the receiving sites' delivered counters every
    50 ms, noting when each site reached `target` deliveries."""

    def __init__(self, sites, base, target):
        super().__init__(daemon=True)
        self.sites, self.base, self.target = sites, base, target
        self.hwm = [0] * sites.count
        self.rss_max = [0] * sites.count
        self.done_at = [None] * sites.count
        self.counts = [0] * sites.count
        self.progressed_at = time.monotonic()
        self.error = None
        self.stopping = threading.Event()

    def sample_memory(self):
        for index, pid in enumerate(self.sites.pids()):
            status = proc_status(pid)
            self.hwm[index] = max(self.hwm[index], status.get("VmHWM", 0))
            self.rss_max[index] = max(self.rss_max[index], status.get("VmRSS", 0))

    def run(self):
        next_memory = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now >= next_memory:
                self.sample_memory()
                next_memory = now + 0.2
            for index in range(1, self.sites.count):
                if self.done_at[index] is not None:
                    continue
                try:
                    delivered = get(self.sites.apis[index], "/v1/stats")["groups"]["delivered"]
                except Exception as error:  # a site that stops answering is reported at the end
                    self.error = error
                    continue
                if delivered - self.base[index] != self.counts[index]:
                    self.counts[index] = delivered - self.base[index]
                    self.progressed_at = time.monotonic()
                if self.counts[index] >= self.target:
                    self.done_at[index] = time.monotonic()
            self.stopping.wait(0.05)

    def all_delivered(self):
        return all(at is not None for at in self.done_at[1:])


def exported_bytes(sites, index):
    """Bytes site `index`'s export command has counted so far."""
    try:
        with open(os.path.join(sites.directory(index), "exported.bytes")) as file:
            return sum(int(line) for line in file if line.strip())
    except OSError:
        return 0


def flood(args, storage_mib):
    """Starts the sites with data-storage-max `storage_mib`, floods, and returns the figures."""
    storage = storage_mib * MIB
    message_len = args.message_mib * MIB
    count = args.total_mib // args.message_mib
    total = count * message_len

    def local(index):
        text = f"(:data-storage-max {storage})"
        if index > 0:
            text += ' (:export-command "wc -c >> exported.bytes")'
        return text

    with Sites(args.binary, count=args.sites, local=local, keep=args.keep,
               prefix="herald-group-throughput-") as sites:
        sites.wait_settled()
        topology = get(sites.apis[0], f"/v1/groups/{GROUP}/topology")
        versions = {get(api, f"/v1/groups/{GROUP}/topology")["version"] for api in sites.apis}
        before = [stats(api) for api in sites.apis]
        rss_before = [proc_status(pid).get("VmRSS", 0) for pid in sites.pids()]
        cpu_before = [cpu_seconds(pid) for pid in sites.pids()]
        sampler = Sampler(sites, [s["delivered"] for s in before], count)
        sampler.start()

        body = bytearray(os.urandom(message_len))
        retries = 0
        client = socket.create_connection(("127.0.0.1", sites.client_ports[0]))
        buffer = [b""]
        code, text = read_reply(client, buffer)
        if code != 220:
            raise RuntimeError(f"site 0 greeted with {code} {text}")
        started = time.monotonic()
        for number in range(count):
            body[:8] = number.to_bytes(8, "big")
            wait, refused_since = 0.05, time.monotonic()
            while True:
                client.sendall(f"binary {message_len} {GROUP}\r\n".encode())
                client.sendall(body)
                code, text = read_reply(client, buffer)
                if code == 250:
                    break
                if 400 <= code < 500:
                    if wait >= 0.4 and time.monotonic() - refused_since > args.stall_s:
                        raise RuntimeError(f"site 0 refused message {number} for {args.stall_s} s: "
                                           f"{code} {text}")
                    if wait == 0.05:
                        refused_since = time.monotonic()
                    retries += 1
                    time.sleep(wait)
                    wait = min(wait * 2, 0.4)
                    continue
                raise RuntimeError(f"site 0 refused message {number}: {code} {text}")
        published = time.monotonic()
        client.sendall(b"quit\r\n")
        client.close()

        # Delivery is complete, or stalled: no receiving site delivered anything for
        # --stall-s seconds after the last publish.
        while not sampler.all_delivered():
            sites.check_alive()
            now = time.monotonic()
            if now - max(published, sampler.progressed_at) > args.stall_s:
                break
            time.sleep(0.05)
        complete = sampler.all_delivered()
        delivered = max(sampler.done_at[1:]) if complete else None
        cpu_flood = [cpu_seconds(pid) - cpu for pid, cpu in zip(sites.pids(), cpu_before)]
        cpu_window = time.monotonic() - started
        exported = None
        deadline = time.monotonic() + args.stall_s
        while complete and time.monotonic() < deadline:
            if all(exported_bytes(sites, i) >= total for i in range(1, sites.count)):
                exported = time.monotonic()
                break
            time.sleep(0.05)
        sampler.stopping.set()
        sampler.join()
        sampler.sample_memory()
        after = [stats(api) for api in sites.apis]
        versions |= {get(api, f"/v1/groups/{GROUP}/topology")["version"] for api in sites.apis}

    edges = len(topology["edges"])
    group_bytes = sum(a["group_bytes_out"] - b["group_bytes_out"] for a, b in zip(after, before))
    all_bytes = sum(a["bytes_out"] - b["bytes_out"] for a, b in zip(after, before))
    counters = {}
    for a, b in zip(after, before):
        for key, value in a["groups"].items():
            counters[key] = counters.get(key, 0) + value - b["groups"][key]
    seconds = None if delivered is None else delivered - started
    return {
        "complete": complete,
        "stall_s": args.stall_s,
        "delivered_counts": sampler.counts[1:],
        "storage_max_mib": storage_mib,
        "messages": count,
        "message_bytes": message_len,
        "payload_bytes": total,
        "edges": edges,
        "topology_versions": sorted(versions),
        "publish_s": published - started,
        "delivered_s": seconds,
        "delivered_by_site_s": [None if at is None else at - started for at in sampler.done_at[1:]],
        "exported_s": None if exported is None else exported - started,
        "mib_per_s": None if seconds is None else total / MIB / seconds,
        "publish_retries": retries,
        "group_bytes_out": group_bytes,
        "group_bytes_per_min": group_bytes / (total * (args.sites - 1)),
        "group_bytes_per_edge": group_bytes / (total * edges),
        "all_bytes_out": all_bytes,
        "frames_dropped_queue_full":
            sum(a["dropped_queue_full"] - b["dropped_queue_full"] for a, b in zip(after, before)),
        "groups_counters": counters,
        "cpu_s": cpu_flood,
        "cpu_window_s": cpu_window,
        "rss_before_mib": [value / MIB for value in rss_before],
        "hwm_mib": [value / MIB for value in sampler.hwm],
    }


def report(result):
    """Prints one flood's figures."""
    r = result
    print(f"data-storage-max {r['storage_max_mib']} MiB: {r['messages']} messages of "
          f"{r['message_bytes'] // MIB} MiB to {len(r['hwm_mib']) - 1} sites over "
          f"{r['edges']} edges (topology versions {r['topology_versions']})")
    if r["complete"]:
        print(f"  delivered everywhere in {r['delivered_s']:.1f} s: {r['mib_per_s']:.1f} MiB/s "
              f"(site 0 took them in {r['publish_s']:.1f} s, {r['publish_retries']} busy "
              "replies; per site " +
              ", ".join(f"{at:.1f}" for at in r["delivered_by_site_s"]) + " s)")
    else:
        print(f"  STALLED: no site delivered anything for the last {r['stall_s']:.0f} s; delivered "
              f"per site " + ", ".join(f"s{i + 1} {n}/{r['messages']}"
                                       for i, n in enumerate(r["delivered_counts"])) +
              f" (site 0 took them in {r['publish_s']:.1f} s, {r['publish_retries']} busy "
              "replies)")
    exported = r["exported_s"]
    if r["complete"]:
        print("  exported everywhere: " + ("not within the time-out" if exported is None
                                           else f"{exported:.1f} s after the first publish"))
    print(f"  group bytes sent: {r['group_bytes_out'] / MIB:.0f} MiB = "
          f"{r['group_bytes_per_min']:.3f} x payload x (N-1), "
          f"{r['group_bytes_per_edge']:.3f} x payload x edges; all frames "
          f"{r['all_bytes_out'] / MIB:.0f} MiB; frames dropped at full queues "
          f"{r['frames_dropped_queue_full']}")
    interesting = ("received", "duplicates", "repaired", "pulls_abandoned", "dropped_oldest",
                   "dropped_held_by_neighbors", "dropped_undelivered", "publishes_refused",
                   "gaps_skipped")
    print("  groups counters (all sites): " + ", ".join(
        f"{key} {r['groups_counters'].get(key, 0)}" for key in interesting))
    print("  CPU s during the flood: " + ", ".join(f"{s:.1f}" for s in r["cpu_s"]) +
          f" (sum {sum(r['cpu_s']):.1f} s over {r['cpu_window_s']:.1f} s of wall time)")
    print("  VmRSS before / VmHWM, MiB: " + ", ".join(
        f"s{i} {b:.0f}/{h:.0f}" for i, (b, h) in enumerate(zip(r["rss_before_mib"],
                                                             r["hwm_mib"]))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", help="the herald binary")
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--total-mib", type=int, default=1024)
    parser.add_argument("--message-mib", type=int, default=16)
    parser.add_argument("--storage-max-mib", type=int, nargs="+", default=[256],
                        help="data-storage-max of every site; one flood per value")
    parser.add_argument("--quic-stream", help="the quic-stream binary (default: next to BIN)")
    parser.add_argument("--stall-s", type=float, default=30,
                        help="a flood with no delivery anywhere for this long is reported as "
                             "stalled (and a message refused this long ends the run)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the sites' directories")
    args = parser.parse_args()
    if args.sites < 2 or args.message_mib < 1 or args.total_mib < args.message_mib:
        parser.error("need at least 2 sites and --total-mib >= --message-mib >= 1")
    quic = args.quic_stream or os.path.join(os.path.dirname(os.path.abspath(args.binary)),
                                            "quic-stream")
    if not os.access(quic, os.X_OK):
        parser.error(f"no quic-stream binary at {quic}; build it with "
                     "`cargo build --release -p herald-bench` or pass --quic-stream")
    exit_on_sigterm()
    total = args.total_mib // args.message_mib * args.message_mib * MIB
    try:
        quic_before = quic_stream(quic, total)
        if not args.json:
            print(f"QUIC stream before: {quic_before['mib_per_s']:.1f} MiB/s")
        floods = []
        for storage_mib in args.storage_max_mib:
            floods.append(flood(args, storage_mib))
            if not args.json:
                report(floods[-1])
        quic_after = quic_stream(quic, total)
    except (SiteFailed, RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        sys.exit(f"group-throughput: {error}")
    except KeyboardInterrupt:
        sys.exit("group-throughput: interrupted; the sites were stopped")
    baseline = (quic_before["mib_per_s"] + quic_after["mib_per_s"]) / 2
    for result in floods:
        result["ratio_to_quic_stream"] = \
            None if result["mib_per_s"] is None else result["mib_per_s"] / baseline
    if args.json:
        print(json.dumps({"quic_stream_before": quic_before, "quic_stream_after": quic_after,
                          "floods": floods}, indent=2))
        sys.exit(0 if all(result["complete"] for result in floods) else 1)
    print(f"QUIC stream after: {quic_after['mib_per_s']:.1f} MiB/s (mean {baseline:.1f})")
    for result in floods:
        if result["complete"]:
            print(f"flood / QUIC stream, data-storage-max {result['storage_max_mib']} MiB: "
                  f"{result['ratio_to_quic_stream']:.2f} (goal >= 0.5)")
        else:
            print(f"data-storage-max {result['storage_max_mib']} MiB: the flood stalled")
    if not all(result["complete"] for result in floods):
        sys.exit(1)


if __name__ == "__main__":
    main()
