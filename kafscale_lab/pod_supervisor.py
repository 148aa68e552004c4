"""Supervising one pod's processes the kubelet's way: init containers in order to completion, then
its containers, each restarted after the kubelet's back-off (10, 20, 40 ... 300 s), and its
liveness and startup probes acting as rendered."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from kafscale_lab.pod_plan import MemberPlan
from kafscale_lab.pod_runner import (
    ContainerRun,
)

STOP_GRACE_S = 5.0
# The kubelet's restart back-off for a container that exits (restartPolicy Always) and for a
# failed init container: 10 s, doubled on each restart up to 300 s, back to 10 s once the
# container ran 10 minutes (pkg/kubelet/kubelet.go: backOffPeriod, MaxContainerBackOff; the
# reset is flowcontrol.Backoff's 2 x the maximum).
BACKOFF_INITIAL_S = 10.0
BACKOFF_MAX_S = 300.0
BACKOFF_RESET_AFTER_S = 2 * BACKOFF_MAX_S
_PR_SET_PDEATHSIG = 1


def _child_io(log: IO[bytes], cgroup_procs: Path | None = None) -> dict[str, Any]:
    """A container process's wiring: output to its log, no input, gone with this process, and
    (with `cgroup_procs`) in its pod's cgroup, where the partitions' rules find it."""

    def setup() -> None:
        _die_with_parent()
        if cgroup_procs is not None:
            with contextlib.suppress(OSError):
                cgroup_procs.write_text(str(os.getpid()))

    return {"stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL, "preexec_fn": setup}


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so no etcd is ever orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def restart_delay_s(restarts: int) -> float:
    """The kubelet's back-off before restart number `restarts` + 1 of one container."""
    return min(BACKOFF_INITIAL_S * 2**restarts, BACKOFF_MAX_S)


class _PodRun:
    """One pod's processes: init containers in order, then its containers, on a thread of its own
    so that a pod waiting in an init container does not hold up the others (as on a node). The
    thread lives until the pod stops. With `restart`, what the kubelet does for restartPolicy
    Always: a container that exits starts again, and a failed init container runs again, each
    after the kubelet's back-off."""

    def __init__(
        self,
        plan: MemberPlan,
        log_dir: Path,
        init_deadline_s: float,
        restart: bool = False,
        cgroup_procs: Path | None = None,
    ) -> None:
        self.plan = plan
        self.cgroup_procs = cgroup_procs
        self.log_dir = log_dir
        self.init_deadline_s = init_deadline_s
        self.restart = restart
        self.restarts: dict[str, int] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.current_init: subprocess.Popen[bytes] | None = None
        self.failure: str | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=plan.pod_name, daemon=True)

    def log_path(self, container: str) -> Path:
        if container == "etcd":
            return self.log_dir / f"{self.plan.pod_name}.log"
        return self.log_dir / f"{self.plan.pod_name}.{container}.log"

    def _popen(self, run: ContainerRun) -> subprocess.Popen[bytes]:
        with self.log_path(run.name).open("ab") as log:
            return subprocess.Popen(
                run.argv, env=run.env, start_new_session=True, **_child_io(log, self.cgroup_procs)
            )

    def _run(self) -> None:
        for init in self.plan.init_containers:
            while True:
                with self.lock:
                    if self.stopping.is_set():
                        return
                    self.current_init = self._popen(init)
                deadline = time.monotonic() + self.init_deadline_s
                while self.current_init.poll() is None:
                    if self.stopping.wait(0.05):
                        return
                    if time.monotonic() > deadline:
                        _kill(self.current_init)
                        self.failure = (
                            f"init container {init.name} of {self.plan.pod_name} did not finish "
                            f"in {self.init_deadline_s:.0f}s"
                        )
                        return
                code = self.current_init.returncode
                # What the runtime does once a container's main process ends: whatever it left
                # running (a background responder, say) ends with it.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.current_init.pid, signal.SIGKILL)
                if code == 0:
                    break
                if self.restart:
                    if self._back_off(init.name, 0.0):
                        return
                    continue
                lines = self.log_path(init.name).read_text(errors="replace").strip().splitlines()
                self.failure = (
                    f"init container {init.name} of {self.plan.pod_name} exited with code {code}: "
                    + (lines[-1] if lines else "(no output)")
                )
                return
        started: dict[str, float] = {}
        with self.lock:
            if self.stopping.is_set():
                return
            self.current_init = None
            for container in self.plan.containers:
                self.processes[container.name] = self._popen(container)
                started[container.name] = time.monotonic()
        # The kernel signals a child when the thread that started it ends (PR_SET_PDEATHSIG):
        # this thread lives as long as the pod.
        if not self.restart:
            self.stopping.wait()
            return
        if self.plan.liveness or self.plan.startup:
            watcher = threading.Thread(
                target=self._watch_probes, name=f"{self.plan.pod_name}-probes", daemon=True
            )
            watcher.start()
        while not self.stopping.wait(0.1):
            for container in self.plan.containers:
                process = self.processes[container.name]
                if process.poll() is None:
                    continue
                if self._back_off(container.name, time.monotonic() - started[container.name]):
                    return
                with self.lock:
                    if self.stopping.is_set():
                        return
                    self.processes[container.name] = self._popen(container)
                    started[container.name] = time.monotonic()

    def _watch_probes(self) -> None:
        """The kubelet's startup and liveness probes: a container whose startup probe (until it
        first succeeds), then liveness probe, fails `failureThreshold` times in a row is stopped,
        and the restart loop starts it again after the back-off. Each new process starts over."""
        startup = {p.container: p for p in self.plan.startup}
        liveness = {p.container: p for p in self.plan.liveness}
        state: dict[str, tuple[int, bool, int, float]] = {}  # container -> (pid, started, failures, due)
        while not self.stopping.wait(0.5):
            for name in {*startup, *liveness}:
                with self.lock:
                    process = self.processes.get(name)
                if process is None or process.poll() is not None:
                    continue
                pid, started, failures, due = state.get(name, (0, False, 0, 0.0))
                if pid != process.pid:  # a new process: its probes start over
                    started = name not in startup
                    first = liveness[name] if started else startup[name]
                    pid, failures, due = process.pid, 0, time.monotonic() + first.initial_delay_s
                probe = liveness.get(name) if started else startup[name]
                if probe is None or time.monotonic() < due:
                    state[name] = (pid, started, failures, due)
                    continue
                if probe.passes():
                    started, failures = True, 0
                else:
                    failures += 1
                state[name] = (pid, started, failures, time.monotonic() + probe.period_s)
                if failures >= probe.failure_threshold:
                    kind = "liveness" if started else "startup"
                    with self.log_path(name).open("a") as log:
                        log.write(
                            f"lab kubelet: {kind} probe failed {failures} times in a row: restarting {name}\n"
                        )
                    _kill(process)

    def _back_off(self, container: str, ran_s: float) -> bool:
        """Wait the kubelet's back-off before `container` runs again; True when the pod stops."""
        if ran_s >= BACKOFF_RESET_AFTER_S:
            self.restarts[container] = 0
        count = self.restarts.get(container, 0)
        self.restarts[container] = count + 1
        return self.stopping.wait(restart_delay_s(count))

    def start(self) -> None:
        self.thread.start()

    @property
    def etcd(self) -> subprocess.Popen[bytes] | None:
        return self.processes.get("etcd")

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            running = [p for p in [self.current_init, *self.processes.values()] if p is not None]
        for process in running:
            _kill(process)
        self.thread.join()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the container's process group, SIGKILL after the grace period."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
