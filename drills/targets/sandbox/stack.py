"""The sandbox stack: PostgreSQL primary + standby, Redis, the graph store, the control-plane
replicas, and monitoring (Prometheus + Alertmanager, when installed).

`Sandbox` is what `drills sandbox up|down|status|restart|logs` and the sandbox target driver use.
Every change to the running set of processes is saved to the state file straight away, so `down`
can always find and stop what an earlier (possibly crashed) command started.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from psycopg.conninfo import make_conninfo

from drills.controlplane import paths
from drills.controlplane.connection import Endpoint, ask_fresh
from drills.controlplane.health import serving
from drills.controlplane.trust import SYSTEM_TRUST, TlsTrust
from drills.errors import (
    ComponentError,
    InputError,
    SandboxError,
    ServiceUnreachableError,
    StateDirError,
)
from drills.targets.base import Component
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.credentials import remember, write_passfile, write_private
from drills.targets.sandbox.graphdb import graph_server
from drills.targets.sandbox.monitoring import MonitoringStack, missing_packages
from drills.targets.sandbox.pgcluster import Role, role_of
from drills.targets.sandbox.processes import (
    ProcessRef,
    Supervisor,
    crash_labelled,
    postgres_identity,
    tail,
)
from drills.targets.sandbox.proxyctl import FaultProxy, proxied_conninfo
from drills.targets.sandbox.redis import RedisServer
from drills.targets.sandbox.servicetls import ServedTls, install, installed
from drills.targets.sandbox.state import (
    Layout,
    SandboxState,
    allocate_ports,
    check_is_sandbox_dir,
    free_port,
    load_state,
    operation_lock,
    port_in_use,
    save_state,
)

DEFAULT_REPLICAS = 2
PORT_WAIT_SECONDS = 5.0  # how long a restart waits for its port to be released
START_ORDER = (
    Component.POSTGRES,
    Component.POSTGRES_STANDBY,
    Component.REDIS,
    Component.NEO4J,
    Component.CONTROL_PLANE,
    Component.MONITORING,
)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class Sandbox:
    """One sandbox, addressed by its state directory."""

    def __init__(
        self,
        state_dir: Path,
        *,
        supervisor: Supervisor | None = None,
        replicas: int = DEFAULT_REPLICAS,
        progress: Progress = _quiet,
    ) -> None:
        self.layout = Layout(state_dir.resolve())
        self.supervisor = supervisor or Supervisor()
        self.supervisor.label = str(self.layout.root)  # findable by `down` whatever happens
        self.default_replicas = replicas
        self.progress = progress

    # ------------------------------------------------------------------ state

    def state(self) -> SandboxState:
        state = load_state(self.layout)
        if state is None:
            raise SandboxError(f"no sandbox in {self.layout.root}; run `drills sandbox up` first")
        self._remember(state)
        return state

    def _remember(self, state: SandboxState) -> None:
        """Connections made by port alone (`postgres.conninfo`) find this sandbox's passfile."""
        if not state.credentials.postgres_password:
            return
        if not self.layout.passfile.is_file():
            write_passfile(self.layout.passfile, state.credentials.postgres_password)
        remember(state.ports.values(), self.layout.passfile)

    def postgres_server(self, data_dir: Path, port: int, log: Path) -> pg.PostgresServer:
        """A PostgreSQL server of this sandbox (its data dir, its port, its password)."""
        remember([port], self.layout.passfile)
        return pg.PostgresServer(
            data_dir,
            port,
            log,
            postgres_identity(),
            password=self.state().credentials.postgres_password,
        )

    def _save(self, state: SandboxState) -> None:
        save_state(self.layout, state)

    def port(self, component: Component) -> int:
        return self.state().ports[component]

    @property
    def control_plane_url(self) -> str:
        return self._control_plane_url(self.state())

    def _control_plane_url(self, state: SandboxState) -> str:
        scheme = "https" if self.served_tls() else "http"
        return f"{scheme}://127.0.0.1:{state.ports[Component.CONTROL_PLANE]}"

    @property
    def control_plane_trust(self) -> TlsTrust:
        """What the sandbox's own checks (and by default the harness) trust on its https URL."""
        served = self.served_tls()
        return SYSTEM_TRUST if served is None else served.trust

    def _control_plane(self, state: SandboxState) -> Endpoint:
        return Endpoint(self._control_plane_url(state), self.control_plane_trust)

    def served_tls(self) -> ServedTls | None:
        """The control plane's certificate, key and CA when it serves https (see `servicetls`)."""
        return installed(self.layout.root)

    def serve_tls(self, certfile: Path, keyfile: Path, ca_bundle: Path) -> ServedTls:
        """Serve the control plane of this (existing) sandbox over https with this certificate
        (for 127.0.0.1), key and signing CA from its next start on: restart control-plane."""
        self.state()  # a sandbox that exists: `up` refuses a folder that holds only these files
        return install(self.layout.root, certfile, keyfile, ca_bundle)

    def postgres_conninfo(self) -> str:
        """Multi-host, read-write: the service follows a promoted standby by itself. Carries
        `passfile=...`, never the password."""
        state = self.state()
        primary, standby = state.ports[Component.POSTGRES], state.ports[Component.POSTGRES_STANDBY]
        passfile = self.layout.passfile if state.credentials.postgres_password else None
        return make_conninfo(
            host="127.0.0.1,127.0.0.1",
            port=f"{primary},{standby}",
            dbname=pg.DATABASE,
            user=pg.SUPERUSER,
            target_session_attrs="read-write",
            connect_timeout="2",
            passfile=str(passfile) if passfile else None,
        )

    def redis_url(self, port: int | None = None) -> str:
        """Redis's URL (of `port`, e.g. the proxy's; default the server's), password included:
        for the 0600 service config and the sampler's memory, never for printing."""
        state = self.state()
        return state.credentials.redis_url(port or state.ports[Component.REDIS])

    # The servers, and starting and recording them: also the API of the sibling modules that
    # change them (failover.py, recovery.py, rebuild.py), which hold `operation_lock` meanwhile.

    def primary_server(self, state: SandboxState) -> pg.PostgresServer:
        """The primary PostgreSQL server (its data dir, port and log)."""
        return self.postgres_server(
            self.layout.primary_data,
            state.ports[Component.POSTGRES],
            self.layout.log(Component.POSTGRES),
        )

    def standby_server(self, state: SandboxState) -> pg.PostgresServer:
        """The streaming standby, the "second region"."""
        return self.postgres_server(
            self.layout.standby_data,
            state.ports[Component.POSTGRES_STANDBY],
            self.layout.log(Component.POSTGRES_STANDBY),
        )

    def redis_server(self, state: SandboxState) -> RedisServer:
        """The Redis server."""
        return RedisServer(
            self.layout.redis_data,
            state.ports[Component.REDIS],
            self.layout.log(Component.REDIS),
            password=state.credentials.redis_password,
        )

    def monitoring(self, state: SandboxState | None = None) -> MonitoringStack:
        """This sandbox's Prometheus + Alertmanager + webhook receiver."""
        state = state or self.state()
        return MonitoringStack(
            self.layout.root / "monitoring", state.ports[Component.MONITORING], self.layout.logs
        )

    def graph(self, state: SandboxState | None = None) -> RedisServer:
        """The graph store (`neo4j`): FalkorDB, with Redis's password (see graphdb.py)."""
        state = state or self.state()
        return graph_server(
            self.layout.graph_data,
            state.ports[Component.NEO4J],
            self.layout.log(Component.NEO4J),
            state.credentials.redis_password,
        )

    def graph_url(self, port: int | None = None) -> str:
        """The graph store's URL (of `port`, e.g. the proxy's), password included: as redis_url."""
        state = self.state()
        return state.credentials.redis_url(port or state.ports[Component.NEO4J])

    # ------------------------------------------------------------------ lifecycle

    def up(self) -> SandboxState:
        """Start whatever is not running and wait until every component is healthy (idempotent).

        An `up` that fails (or is interrupted) stops again what it started itself; what was
        already running before it stays as it was.
        """
        if self.default_replicas < 0:
            raise InputError(f"replicas must be 0 or more, got {self.default_replicas}")
        check_is_sandbox_dir(self.layout)
        with operation_lock(self.layout):
            state = load_state(self.layout)
            if state is None:
                state = SandboxState.new(allocate_ports())
                state.components[Component.CONTROL_PLANE].replicas = self.default_replicas
                self._save(state)
            self._remember(state)
            proxy_was_running = self.fault_proxy().pid() is not None
            started: list[Component] = []
            try:
                for component in START_ORDER:
                    if self._needs_start(state, component):
                        started.append(component)
                        self.start_component(state, component)
            except BaseException:
                self._stop(state, started)
                if not proxy_was_running:
                    self.fault_proxy().stop()
                raise
            return state

    def ensure_running(self, state: SandboxState, component: Component) -> None:
        """Start `component` unless it already runs and is healthy."""
        if self._needs_start(state, component):
            self.start_component(state, component)

    def _needs_start(self, state: SandboxState, component: Component) -> bool:
        if component is Component.MONITORING and missing_packages():
            return False  # optional: `up` starts it when the binaries exist
        comp = state.components[component]
        live = [ref for ref in comp.processes if ref.alive()]
        wanted = _wanted(component, comp.replicas)
        return not (len(live) == wanted and self._healthy(state, component))

    def _check_port(self, state: SandboxState, component: Component) -> None:
        """The component's port is free, or becomes free within PORT_WAIT_SECONDS (a socket of
        the killed server can linger for a moment), else a clear error."""
        port = state.ports[component]
        deadline = time.monotonic() + PORT_WAIT_SECONDS
        while port_in_use(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        if port_in_use(port):
            raise ComponentError(
                f"port {port} for {component.value} is in use by another process; "
                "stop it or use another --state-dir"
            )

    def start_component(self, state: SandboxState, component: Component) -> None:
        """(Re)start `component` and wait until it is ready; its processes are recorded."""
        comp = state.components[component]
        live = [ref for ref in comp.processes if ref.alive()]
        if component is not Component.CONTROL_PLANE and live:
            self.supervisor.terminate(live)
            live = []
        comp.processes = live
        self._save(state)
        started = time.monotonic()
        if component is Component.POSTGRES:
            self._start_primary(state)
        elif component is Component.POSTGRES_STANDBY:
            self._start_standby(state)
        elif component is Component.REDIS:
            self._check_port(state, component)
            server = self.redis_server(state)
            ref = server.start(self.supervisor)
            self.record_processes(state, component, [ref])
            server.wait_ready(self.supervisor, ref)
        elif component is Component.MONITORING:
            self.monitoring(state).start(
                self.supervisor,
                lambda refs: self.record_processes(state, Component.MONITORING, refs),
            )
        elif component is Component.NEO4J:
            self._start_graph(state)
        else:
            self._scale_control_plane(state, comp.replicas)
        self.progress(f"{component.value} ready in {time.monotonic() - started:.1f} s")

    def record_processes(
        self, state: SandboxState, component: Component, refs: list[ProcessRef]
    ) -> None:
        """Save which processes are `component` now (empty: stopped), so `down` finds them."""
        state.components[component].processes = refs
        self._save(state)

    def _start_primary(self, state: SandboxState) -> None:
        server = self.primary_server(state)
        fresh = not server.initialised
        if fresh:
            self.progress("postgres: initdb")
            server.initdb(self.layout.wal_archive)
        elif role_of(state.ports[Component.POSTGRES_STANDBY]) is Role.PRIMARY:
            raise ComponentError(
                "postgres-standby has been promoted (a failover): starting postgres as well would "
                "make a second primary; fail back instead (drills.actions.database.fail_back)"
            )
        self._check_port(state, Component.POSTGRES)
        ref = server.start(self.supervisor)
        self.record_processes(state, Component.POSTGRES, [ref])
        server.wait_ready(self.supervisor, ref, writable=True)
        server.ensure_database()
        if fresh or not any(self.layout.base_backups.glob("*")):
            self.progress("postgres: base backup")
            self.take_base_backup(state)

    def _start_standby(self, state: SandboxState) -> None:
        server = self.standby_server(state)
        if not server.initialised:
            self.progress("postgres-standby: cloning the primary")
            self.primary_server(state).base_backup(server.data_dir, for_standby=True)
            server.configure_standby()
        self._check_port(state, Component.POSTGRES_STANDBY)
        ref = server.start(self.supervisor)
        self.record_processes(state, Component.POSTGRES_STANDBY, [ref])
        server.wait_ready(self.supervisor, ref)

    def _start_graph(self, state: SandboxState) -> None:
        """The graph server, a first snapshot if the bucket has none, and its backup schedule."""
        self._check_port(state, Component.NEO4J)
        server = self.graph(state)
        ref = server.start(self.supervisor)
        self.record_processes(state, Component.NEO4J, [ref])
        server.wait_ready(self.supervisor, ref)
        if not any(self.layout.graph_snapshots.glob("*.rdb")):
            self.progress("neo4j: first snapshot")
            server.snapshot(self.layout.graph_snapshots)
        argv = [sys.executable, "-m", "drills.targets.sandbox.snapshot_schedule"]
        log = self.layout.logs / f"{Component.NEO4J.value}-backups.log"
        schedule = self.supervisor.spawn([*argv, str(self.layout.root)], log_path=log)
        self.record_processes(state, Component.NEO4J, [ref, schedule])

    def graph_snapshot(self) -> Path:
        """A snapshot of the graph store into the bucket (`bucket/neo4j`)."""
        return self.graph().snapshot(self.layout.graph_snapshots)

    def take_base_backup(self, state: SandboxState | None = None) -> Path:
        """A new base backup of the primary into the bucket (named by its UTC start time)."""
        state = state or self.state()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = self.layout.base_backups / stamp
        self.primary_server(state).base_backup(dest)
        return dest

    def redis_snapshot(self) -> Path:
        return self.redis_server(self.state()).snapshot(self.layout.redis_snapshots)

    # ------------------------------------------------------------------ control plane

    # The service reaches its databases through the fault proxy (drills can cut or slow that
    # path); the harness's own checks (signals, queries) still go to the databases directly.
    def fault_proxy(self) -> FaultProxy:
        return FaultProxy(self.layout.root, self.supervisor)

    def _fault_proxy_ports(self, state: SandboxState) -> dict[int, int]:
        """Start or update the proxy in front of the databases; upstream port -> proxy port."""
        fronted = (Component.POSTGRES, Component.POSTGRES_STANDBY, Component.REDIS, Component.NEO4J)
        listen = self.fault_proxy().ensure({c.value: state.ports[c] for c in fronted})
        return {state.ports[c]: listen[c.value] for c in fronted}

    def _write_service_config(self, state: SandboxState) -> None:
        proxy = self._fault_proxy_ports(state)
        config = {
            "host": "127.0.0.1",
            "port": state.ports[Component.CONTROL_PLANE],
            "postgres_conninfo": proxied_conninfo(self.postgres_conninfo(), proxy),
            "redis_url": self.redis_url(proxy[state.ports[Component.REDIS]]),
            "neo4j_url": self.graph_url(proxy[state.ports[Component.NEO4J]]),
            "runtime_path": str(self.layout.runtime_config),
            "pool_min": 1,
            "pool_max": 8,
            "breaker_fail_max": 5,
            "breaker_reset_seconds": 2.0,
            "default_rate_limit": "200/second",
            "request_timeout_seconds": 2.0,
        }
        served = self.served_tls()
        if served is not None:
            config["tls_certfile"] = str(served.certfile)
            config["tls_keyfile"] = str(served.keyfile)
        write_private(self.layout.service_config, json.dumps(config, indent=2))  # holds secrets

    def _scale_control_plane(self, state: SandboxState, replicas: int) -> None:
        comp = state.components[Component.CONTROL_PLANE]
        comp.replicas = replicas
        live = [ref for ref in comp.processes if ref.alive()]
        if len(live) > replicas:
            self.supervisor.terminate(live[replicas:], timeout_seconds=5.0)
            live = live[:replicas]
        if not live and replicas > 0:
            self._check_port(state, Component.CONTROL_PLANE)
        self._write_service_config(state)
        new: list[ProcessRef] = []
        used = {self._replica_index(ref) for ref in live}
        metrics_ports = {
            self._replica_index(ref): port
            for ref in live
            if (port := _argument(ref, "--metrics-port")) is not None
        }
        index = 0
        while len(live) + len(new) < replicas:
            while index in used:
                index += 1
            metrics_ports[index] = _metrics_port(state, metrics_ports)
            argv = [
                sys.executable,
                "-m",
                "drills.targets.sandbox.service",
                "--config",
                str(self.layout.service_config),
                "--replica",
                str(index),
                "--metrics-port",
                str(metrics_ports[index]),
            ]
            log = self.layout.log(Component.CONTROL_PLANE, index)
            new.append(self.supervisor.spawn(argv, log_path=log))
            used.add(index)
            self.record_processes(
                state, Component.CONTROL_PLANE, live + new
            )  # findable by `down` at once
        self.record_processes(state, Component.CONTROL_PLANE, live + new)
        self.monitoring(state).write_targets(metrics_ports)  # Prometheus scrapes each replica
        self._wait_control_plane(state, new)

    def _replica_index(self, ref: ProcessRef) -> int:
        index = _argument(ref, "--replica")
        return -1 if index is None else index

    def _wait_control_plane(
        self, state: SandboxState, refs: list[ProcessRef], timeout_seconds: float = 30.0
    ) -> None:
        port = state.ports[Component.CONTROL_PLANE]
        deadline = time.monotonic() + timeout_seconds
        pending = list(refs)
        while pending and time.monotonic() < deadline:
            for ref in list(pending):
                if self.supervisor.exited(ref) is not None or not ref.alive():
                    raise ComponentError(
                        f"control-plane replica {self._replica_index(ref)} exited during start-up:\n"
                        f"{self._replica_log_tail(ref)}"
                    )
                if _listens_on(ref, port):
                    pending.remove(ref)
            time.sleep(0.02)
        if pending:
            raise ComponentError(f"control-plane not listening on port {port} in time")
        if state.components[Component.CONTROL_PLANE].replicas == 0:
            return
        endpoint = self._control_plane(state)
        while time.monotonic() < deadline:
            if _serving(endpoint):
                return
            time.sleep(0.05)
        raise ComponentError(f"control-plane /health not 200 after {timeout_seconds:.0f} s")

    def _replica_log_tail(self, ref: ProcessRef) -> str:
        logs = sorted(self.layout.logs.glob(f"{Component.CONTROL_PLANE.value}-*.log"))
        return "\n".join(tail(log, 10) for log in logs[-1:])

    def scale(self, replicas: int) -> None:
        if replicas < 0:
            raise SandboxError("replicas must be 0 or more")
        with operation_lock(self.layout):
            self._scale_control_plane(self.state(), replicas)

    # ------------------------------------------------------------------ faults and repair

    def kill(self, component: Component) -> list[int]:
        """kill -9 every process of the component (and its children), for real."""
        with operation_lock(self.layout):
            state = self.state()
            refs = state.components[component].processes
            return self.supervisor.crash(refs)

    def freeze(self, component: Component) -> list[int]:
        """SIGSTOP every process of the component: it hangs, holding its sockets."""
        with operation_lock(self.layout):
            return self.supervisor.freeze(self.state().components[component].processes)

    def thaw(self, component: Component) -> list[int]:
        """SIGCONT every process of the component."""
        with operation_lock(self.layout):
            return self.supervisor.thaw(self.state().components[component].processes)

    def restart(self, component: Component) -> None:
        """Bring a component back (after a kill -9 or while running), data intact."""
        with operation_lock(self.layout):
            state = self.state()
            if component is Component.CONTROL_PLANE:
                comp = state.components[component]
                live = [ref for ref in comp.processes if ref.alive()]
                self.supervisor.terminate(live, timeout_seconds=5.0)
                comp.processes = []
                wanted = comp.replicas or self.default_replicas
                self._scale_control_plane(state, wanted)
            else:
                self.start_component(state, component)

    def down(self, purge: bool = False) -> None:
        """Stop everything this sandbox started (also after a crashed up); keep data unless purge."""
        if not self.layout.root.exists():
            return
        with operation_lock(self.layout):
            try:
                state = load_state(self.layout)
            except StateDirError:  # a corrupt state file: its servers are found by label below
                state = None
            if state is not None:
                self._stop(state, list(START_ORDER))
            self.fault_proxy().stop()
            # scratch restores (backup-restore-test) a killed harness may have left running
            from drills.targets.sandbox.pitr import stop_scratch_instances
            from drills.targets.sandbox.recovery import scratch_root

            stop_scratch_instances(scratch_root(self))
            # anything of ours whose pid never reached a file (the harness died in between)
            crash_labelled(str(self.layout.root))
        if purge:
            shutil.rmtree(self.layout.root, ignore_errors=True)

    def _stop(self, state: SandboxState, components: list[Component]) -> None:
        """Stop these components, in reverse start order, saving the state after each."""
        for component in reversed(START_ORDER):
            if component not in components:
                continue
            refs = state.components[component].processes
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM for the others.
            sig = signal.SIGINT if component in _POSTGRES else signal.SIGTERM
            self.supervisor.terminate(refs, sig=sig)
            state.components[component].processes = []
            # A state file that cannot be saved (a full disk) must not leave the rest running:
            # the pids it still lists are dead, and dead pids read as stopped.
            with contextlib.suppress(StateDirError):
                self._save(state)

    # ------------------------------------------------------------------ reading

    def _healthy(self, state: SandboxState, component: Component) -> bool:
        refs = state.components[component].processes
        if not refs or not all(ref.alive() for ref in refs):
            return (
                component is Component.CONTROL_PLANE and state.components[component].replicas == 0
            )
        if component is Component.CONTROL_PLANE:
            return _serving(self._control_plane(state))
        return True

    def status(self) -> dict[str, Any]:
        state = load_state(self.layout)
        if state is None:
            return {"state_dir": str(self.layout.root), "running": False, "components": {}}
        components: dict[str, Any] = {}
        unavailable = missing_packages()
        for component in START_ORDER:
            comp = state.components[component]
            live = [ref for ref in comp.processes if ref.alive()]
            wanted = _wanted(component, comp.replicas)
            if component is Component.MONITORING and unavailable and not live:
                components[component.value] = {
                    "state": "unavailable",
                    "reason": unavailable,
                    "pids": [],
                    "address": f"127.0.0.1:{state.ports[component]}",
                    "replicas": 0,
                }
                continue
            if not live:
                condition = "stopped"
            elif len(live) < wanted:
                condition = "degraded"
            else:
                condition = "running"
            components[component.value] = {
                "state": condition,
                "pids": [ref.pid for ref in live],
                "address": f"127.0.0.1:{state.ports[component]}",
                "replicas": comp.replicas if component is Component.CONTROL_PLANE else 1,
            }
        running = all(c["state"] in ("running", "unavailable") for c in components.values())
        return {
            "state_dir": str(self.layout.root),
            "sandbox_id": state.sandbox_id,
            "running": running,
            "control_plane": {"url": self._control_plane_url(state)},
            "components": components,
        }

    def logs(self, component: Component, lines: int = 100) -> str:
        if component in (Component.CONTROL_PLANE, Component.MONITORING):
            logs = sorted(self.layout.logs.glob(f"{component.value}-*.log"))
            return "\n".join(f"==> {log.name} <==\n{tail(log, lines)}" for log in logs)
        return tail(self.layout.log(component), lines)


_POSTGRES = (Component.POSTGRES, Component.POSTGRES_STANDBY)
MONITORING_PROCESSES = 3  # webhook receiver, Alertmanager, Prometheus


def _serving(endpoint: Endpoint) -> bool:
    """The control plane is up for traffic (`drills.controlplane.health.serving`). A certificate
    the sandbox's own CA does not verify is raised, not waited for."""
    try:
        return serving(ask_fresh(endpoint, "GET", paths.HEALTH, timeout_seconds=1.0))
    except ServiceUnreachableError:
        return False


def _wanted(component: Component, replicas: int) -> int:
    """How many live processes a running component has."""
    if component is Component.CONTROL_PLANE:
        return replicas
    if component is Component.NEO4J:
        return 2  # the server and its backup schedule
    return MONITORING_PROCESSES if component is Component.MONITORING else 1


def _argument(ref: ProcessRef, flag: str) -> int | None:
    """The integer after `flag` on a live process's command line."""
    proc = ref.process()
    if proc is None:
        return None
    try:
        cmd = proc.cmdline()
        return int(cmd[cmd.index(flag) + 1])
    except (psutil.Error, ValueError, IndexError):
        return None


def _metrics_port(state: SandboxState, taken: dict[int, int]) -> int:
    """A free port for one replica's own metrics listener (none of the sandbox's ports)."""
    while True:
        port = free_port()
        if port not in taken.values() and port not in state.ports.values():
            return port


def _listens_on(ref: ProcessRef, port: int) -> bool:
    proc = ref.process()
    if proc is None:
        return False
    try:
        conns = proc.net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns)
