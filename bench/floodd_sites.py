"""floodd_sites.py: N real floodd sites on loopback, shared by the group benchmarks in bench/.

What it is for: group-latency.py and group-throughput.py both start N `herald run
--floodd-config` processes (`--open`, one group of every site) and wait until every site has
the group's topology. This module does that part, so that each script holds only its own
measurement.

Usage, from a script in bench/:

    from floodd_sites import Sites, get

    with Sites(binary, count=5, local=lambda index: "(:data-storage-max 67108864)") as sites:
        sites.wait_settled()
        get(sites.apis[0], "/v1/groups/bench/topology")
        socket.create_connection(("127.0.0.1", sites.client_ports[0]))

Site i is named `s{i}`. Each site gets its own configuration file, the same site and group
definitions for all, with the `(:local ...)` parameters `local(i)` returns (none by default).
A site that exits or fails to start in time is reported with the end of its stderr. Leaving
the `with` block (also by an exception or Ctrl-C) stops every site with SIGTERM, then SIGKILL
after a grace period, and removes the temporary directory unless `keep` is set.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

GROUP = "bench"


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP (a site's data port is UDP, its client
    port TCP; one number serves either)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                tcp.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def get(api, path, timeout=5):
    """GET http://{api}{path}, decoded from JSON."""
    with urllib.request.urlopen(f"http://{api}{path}", timeout=timeout) as response:
        return json.load(response)


def exit_on_sigterm():
    """Turns SIGTERM into SystemExit, so that `with Sites(...)` blocks stop their sites."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


class SiteFailed(RuntimeError):
    """A site exited or did not start; the message holds the end of its stderr."""


class Sites:
    """N floodd sites on loopback, one group (`bench`) of all of them."""

    def __init__(self, binary, count=5, connectivity=2, local=None, keep=False,
                 prefix="herald-floodd-sites-"):
        if not os.access(binary, os.X_OK):
            raise SiteFailed(f"{binary} is not an executable herald binary")
        self.binary = binary
        self.count = count
        self.connectivity = connectivity
        self.local = local or (lambda index: "")
        self.keep = keep
        self.root = tempfile.mkdtemp(prefix=prefix)
        self.names = [f"s{i}" for i in range(count)]
        self.data_ports = [free_port() for _ in range(count)]
        self.client_ports = [free_port() for _ in range(count)]
        self.processes = []
        self.apis = []

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def directory(self, index):
        """Site `index`'s data directory."""
        return os.path.join(self.root, self.names[index])

    def pids(self):
        return [process.pid for process in self.processes]

    def _definitions(self):
        text = ""
        for name, data_port, client_port in zip(self.names, self.data_ports, self.client_ports):
            text += f"(:site-define (:site-name {name}) (:inet-address 127.0.0.1) " \
                    f"(:client-port {client_port}) (:data-port {data_port}))\n"
        text += f"(:group-define (:group-name {GROUP}) "
        text += " ".join(f"(:site {name})" for name in self.names)
        text += f" (:connectivity {self.connectivity}))\n"
        return text

    def start(self, timeout=30):
        """Starts every site and waits until each has written its API address."""
        definitions = self._definitions()
        env = dict(os.environ, HERALD_LOG=os.environ.get("HERALD_LOG", "warn"))
        for index, name in enumerate(self.names):
            config = os.path.join(self.root, f"{name}.conf")
            local = self.local(index)
            with open(config, "w") as file:
                file.write(definitions + (f"(:local {local})\n" if local else ""))
            stderr = open(os.path.join(self.root, f"{name}.stderr"), "wb")
            self.processes.append(subprocess.Popen(
                [self.binary, "run", "--data-dir", self.directory(index), "--floodd-config",
                 config, "--name", name, "--open", "--listen",
                 f"127.0.0.1:{self.data_ports[index]}", "--http", "127.0.0.1:0"],
                stdout=subprocess.DEVNULL, stderr=stderr, env=env))
            stderr.close()
        deadline = time.monotonic() + timeout
        for index in range(self.count):
            path = os.path.join(self.directory(index), "api.addr")
            while not os.path.exists(path):
                self.check_alive()
                if time.monotonic() > deadline:
                    raise SiteFailed(f"site {self.names[index]} wrote no API address within "
                                     f"{timeout} s\n{self.stderr_tail(index)}")
                time.sleep(0.1)
            self.apis.append(open(path).read().strip())

    def stderr_tail(self, index, lines=20):
        path = os.path.join(self.root, f"{self.names[index]}.stderr")
        try:
            with open(path, errors="replace") as file:
                tail = file.read().splitlines()[-lines:]
        except OSError:
            return "(no stderr)"
        return "\n".join(f"  {self.names[index]}: {line}" for line in tail) or "(stderr empty)"

    def check_alive(self):
        """Raises SiteFailed, with its stderr, for the first site that has exited."""
        for index, process in enumerate(self.processes):
            status = process.poll()
            if status is not None:
                raise SiteFailed(f"site {self.names[index]} exited with status {status}\n"
                                 f"{self.stderr_tail(index)}")

    def wait_settled(self, timeout=60, quiet=3):
        """Waits until every site knows every member and has a topology of the group, then
        `quiet` seconds more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if all(len(get(api, f"/v1/groups/{GROUP}/topology")["edges"]) > 0 and
                       len(get(api, "/v1/members")) == self.count for api in self.apis):
                    break
            except Exception:
                pass
            time.sleep(0.5)
        else:
            raise SiteFailed(f"the sites did not settle within {timeout} s")
        time.sleep(quiet)

    def stop(self, grace=15):
        """SIGTERM to every site, SIGKILL to those still running after `grace` seconds, then
        removes the directory (unless `keep`). A second Ctrl-C while it runs is ignored, so that
        no site is left behind."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for process in self.processes:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + grace
            for process in self.processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.processes = []
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)
