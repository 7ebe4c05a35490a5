"""The harness's side of the fault proxy: start it, keep its routes current, switch its faults.

Everything about the proxy that a later command needs lives in the sandbox's state directory:
`faultproxy.json` (the control file: routes, faults, generation, and the proxy's pid with its
creation time, so `down` can stop it by identity) and `faultproxy.status.json` (written by the
proxy: the generation it applied). Callers hold the sandbox's operation lock while changing it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from drills.errors import ComponentError, InputError, SandboxError
from drills.targets.base import NetworkFault
from drills.targets.sandbox.faultproxy import Route, read_routes, write_json_atomic
from drills.targets.sandbox.processes import ProcessRef, Supervisor, tail
from drills.targets.sandbox.state import free_port

__all__ = ["CONTROL_FILE", "STATUS_FILE", "FaultProxy", "proxied_conninfo"]

CONTROL_FILE = "faultproxy.json"
STATUS_FILE = "faultproxy.status.json"
LOG_FILE = "fault-proxy.log"
APPLY_TIMEOUT_SECONDS = 5.0


def proxied_conninfo(conninfo: str, ports: Mapping[int, int]) -> str:
    """`conninfo` with every port the proxy fronts (upstream -> listen) replaced by the proxy's."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise InputError(f"not a valid libpq conninfo: {exc}") from exc
    raw = str(params.get("port") or "5432")
    mapped = [str(ports.get(int(p), int(p))) for p in raw.split(",")]
    params["port"] = ",".join(mapped)
    return make_conninfo("", **params)


class FaultProxy:
    """One sandbox's proxy process, found through its control file."""

    def __init__(self, root: Path, supervisor: Supervisor) -> None:
        self.root = root
        self.supervisor = supervisor
        self.control = root / CONTROL_FILE
        self.status_path = root / STATUS_FILE
        self.log = root / "logs" / LOG_FILE

    # ------------------------------------------------------------------ control file

    def _read(self) -> tuple[int, dict[str, Route], ProcessRef | None]:
        try:
            data = json.loads(self.control.read_text())
        except FileNotFoundError:
            return 0, {}, None
        except (OSError, ValueError) as exc:
            raise SandboxError(
                f"fault proxy control file {self.control} is unreadable: {exc}"
            ) from exc
        generation, routes = read_routes(data)
        process = data.get("process")
        ref = ProcessRef.from_json(process) if isinstance(process, dict) else None
        return generation, routes, ref

    def _write(self, generation: int, routes: Mapping[str, Route], ref: ProcessRef | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            self.control,
            {
                "schema": "drills.faultproxy/v1",
                "generation": generation,
                "routes": {name: route.to_json() for name, route in routes.items()},
                "process": ref.to_json() if ref is not None else None,
            },
        )

    def routes(self) -> dict[str, Route]:
        return self._read()[1]

    def applied_generation(self, pid: int) -> int | None:
        """The generation the running proxy `pid` has in force (None: no status from it yet)."""
        try:
            data = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None
        if data.get("pid") != pid:
            return None
        return int(data.get("generation", -1))

    def status(self) -> dict[str, Any]:
        """The proxy's own report: pid, generation, per route its fault and open connections."""
        try:
            data: dict[str, Any] = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    # ------------------------------------------------------------------ lifecycle

    def ensure(self, upstreams: Mapping[str, int]) -> dict[str, int]:
        """Run the proxy with a route per name -> upstream port; returns name -> listen port.

        Listen ports are chosen once and kept (the service's config names them); an upstream
        that moved is updated in place, faults in force are kept.
        """
        generation, routes, ref = self._read()
        wanted: dict[str, Route] = {}
        for name, upstream in upstreams.items():
            old = routes.get(name)
            if old is None:
                wanted[name] = Route(name, _free_port(routes, wanted), upstream)
            else:
                wanted[name] = Route(
                    name, old.listen_port, upstream, old.fault, old.latency_ms, old.upstream_host
                )
        running = ref is not None and ref.alive()
        if running and set(wanted) == set(routes) and wanted == routes:
            return {name: route.listen_port for name, route in wanted.items()}
        if running and set(wanted) == set(routes):
            self._write(generation + 1, wanted, ref)
            assert ref is not None
            self._wait_applied(ref, generation + 1)
        else:
            if ref is not None and running:
                self.supervisor.terminate([ref], timeout_seconds=5.0)
            self._write(generation + 1, wanted, None)
            ref = self._spawn()
            self._write(generation + 1, wanted, ref)
            self._wait_applied(ref, generation + 1)
        return {name: route.listen_port for name, route in wanted.items()}

    def _spawn(self) -> ProcessRef:
        argv = [
            sys.executable,
            "-m",
            "drills.targets.sandbox.faultproxy",
            "--control",
            str(self.control),
            "--status",
            str(self.status_path),
        ]
        return self.supervisor.spawn(argv, log_path=self.log)

    def _wait_applied(self, ref: ProcessRef, generation: int) -> None:
        deadline = time.monotonic() + APPLY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            applied = self.applied_generation(ref.pid)
            if applied is not None and applied >= generation:
                return
            if self.supervisor.exited(ref) is not None or not ref.alive():
                raise ComponentError(f"fault proxy exited:\n{tail(self.log, 10)}")
            time.sleep(0.005)
        raise ComponentError(
            f"fault proxy did not apply generation {generation} in {APPLY_TIMEOUT_SECONDS:.0f} s"
        )

    def set_fault(self, name: str, fault: NetworkFault, latency_ms: int = 0) -> Route:
        """Put `fault` on route `name` and return once the proxy has it in force."""
        generation, routes, ref = self._read()
        old = routes.get(name)
        if old is None:
            known = ", ".join(sorted(routes)) or "none"
            raise SandboxError(f"the fault proxy has no route {name!r} (routes: {known})")
        if ref is None or not ref.alive():
            raise ComponentError("the fault proxy is not running; run `drills sandbox up`")
        if fault is NetworkFault.LATENCY and latency_ms <= 0:
            raise InputError("a latency fault needs latency_ms > 0")
        new = Route(name, old.listen_port, old.upstream_port, fault, latency_ms, old.upstream_host)
        self._write(generation + 1, {**routes, name: new}, ref)
        self._wait_applied(ref, generation + 1)
        return new

    def stop(self) -> None:
        """Stop the proxy (faults are forgotten: a restarted proxy passes traffic)."""
        generation, routes, ref = self._read()
        if ref is not None:
            self.supervisor.terminate([ref], timeout_seconds=5.0)
        if self.control.exists():
            healed = {
                name: Route(name, r.listen_port, r.upstream_port, upstream_host=r.upstream_host)
                for name, r in routes.items()
            }
            # best effort: the proxy is gone either way, and a full disk must not stop the
            # teardown that comes after this
            with contextlib.suppress(OSError):
                self._write(generation + 1, healed, None)

    def pid(self) -> int | None:
        ref = self._read()[2]
        return ref.pid if ref is not None and ref.alive() else None


def _free_port(*taken: Mapping[str, Route]) -> int:
    used = {route.listen_port for routes in taken for route in routes.values()}
    while True:
        port = free_port()
        if port not in used:
            return port
