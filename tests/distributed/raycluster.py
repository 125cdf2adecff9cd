"""Ray clusters the tests start and stop themselves: ``ray start --head`` and more nodes.

Each ``ray start`` runs in a session of its own (``start_new_session``), so every daemon it leaves
behind (GCS, raylet, agents, and the workers the raylet forks) shares that session's process
group; ``stop()`` signals exactly those groups and no other Ray on the machine. The cluster lives
in a short temp folder of its own (Ray's socket paths must stay under 107 characters).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """A head node and ``extra`` worker nodes on this machine, each with its own CPUs and a
    custom resource naming it (``node0``, ``node1``...)."""

    def __init__(self, cpus: list[int]) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.groups: list[int] = []
        try:
            for i, n in enumerate(cpus):
                head = ["--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                        "--include-dashboard=false"]  # fmt: skip
                join = [f"--address={self.address}", "--node-ip-address=127.0.0.1"]
                self._start(
                    [
                        *(head if i == 0 else join),
                        f"--num-cpus={n}",
                        f'--resources={{"node{i}": 1}}',
                    ]
                )
        except BaseException:
            self.stop()
            raise

    def _start(self, args: list[str]) -> None:
        cmd = [RAY, "start", *args, f"--temp-dir={self.temp}", "--disable-usage-stats"]
        proc = subprocess.Popen(
            cmd, env=ENV, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.groups.append(proc.pid)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed ({proc.returncode}):\n{out.decode()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to each started session's group, then SIGKILL to what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for group in self.groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, sig)
            deadline = time.monotonic() + 10  # a killed process also takes a moment to go
            while time.monotonic() < deadline and self.alive():
                time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)

    def alive(self) -> bool:
        """Whether any process of the started groups still runs (zombies do not count)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) in self.groups:
                return True
        return False
