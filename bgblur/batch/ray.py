"""A folder run on Ray: the same per-file task (:func:`bgblur.batch.task.run_task`) as a Ray remote task, on a
local runtime (no address) or a cluster (``--ray ADDRESS`` or ``$RAY_ADDRESS``).

Every node reads the inputs and writes the outputs under the same paths, so IN_DIR and OUT_DIR must be on a
filesystem all nodes mount (NFS, a cluster filesystem, an object store mount); a probe task on every node
checks that before the library starts.

A task whose node or worker is lost (a node that died or was preempted, the OOM killer) is sent again, up to
``RETRIES`` times, by this loop rather than by Ray, so that bgblur can say which files were retried: one line per
loss on the terminal, and each file's ``lost`` list in the report. Bad files are not retried (they fail the same way
on any node). When no node that can run a file is left, and none joins within ``NO_NODE_WAIT`` seconds, the run
stops with :class:`ClusterLost`: the files not done are reported, nothing half-written is left. Ray's own lines
(a dead raylet's last log lines, autoscaler warnings) go to its session's log folder (:mod:`bgblur.batch.raylog`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bgblur.batch.plan import Item
from bgblur.batch.progress import LibraryBar
from bgblur.batch.raylog import RayLog
from bgblur.batch.task import Result, leftovers, run_task
from bgblur.errors import BgblurError
from bgblur.options import Options

RETRIES = 2  # extra tries of a file whose worker was lost
INSTALL_HINT = "pip install 'bgblur[ray]'"
WAIT = 0.5  # s between looks for finished tasks (and at the stop flag)
PROBE_TIMEOUT = 120  # s for every node to answer the probe (a cold node may have to start a worker)
NO_NODE_WAIT = 30.0  # s to wait for a node that can run a file, once every such node was lost (one may rejoin)
# What Ray raises when a task's node or worker went away (not the task's own failure): worth another try.
LOST_ERRORS = ("NodeDiedError", "WorkerCrashedError", "LocalRayletDiedError", "ObjectLostError", "OutOfMemoryError")
CANCEL_WAIT = 10.0  # s for cancelled tasks to end before their hidden files are removed (the next run removes the rest)
NODE_LOOK = 2.0  # s between looks at which nodes are alive
NAMES_SHOWN = 5  # files named in a terminal line; the report lists them all


class ClusterLost(BgblurError):
    """No Ray node that can run a file is left: ``results`` holds every file's result, the ones not done included."""

    def __init__(self, message: str, results: list[Result]) -> None:
        super().__init__(message)
        self.results = results


def _import_ray():
    try:
        import ray
    except ImportError:
        raise BgblurError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def probe(folders: list[str]) -> str | None:
    """On a worker: None if every folder exists and a file can be made in it, else what is wrong."""
    import socket
    import tempfile

    host = socket.gethostname()
    for folder in folders:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".bgblur-probe-"):
                pass
        except OSError as exc:
            return f"{folder} is not writable from Ray worker on {host} ({exc.strerror or exc})"
    return None


def _start(ray: Any, address: str | None, cpus: int) -> str | None:
    """Start or join Ray; returns its session folder (where its logs are) when it says."""
    # configure_logging=False: the ``ray`` logger stays as RayLog set it (to the log file, not the terminal).
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        context = ray.init(address=address, **options) if address else ray.init(num_cpus=cpus, **options)
    except Exception as exc:  # ConnectionError, a timeout, a bad address: one line
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        # Joining fails the same way for a head that is down and for a token this machine does not have.
        hint = " (is the head up, and are RAY_AUTH_MODE and its token the same here as on the nodes?)"
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BgblurError(f"cannot start or join {where}: {cause}{hint if address else ''}") from None
    return (getattr(context, "address_info", None) or {}).get("session_dir")


def _preflight(ray: Any, folders: list[str]) -> None:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(num_cpus=0, max_retries=0)(probe)
    nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
    refs = [
        remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(folders)
        for node in nodes
    ]
    try:
        problems = [p for p in ray.get(refs, timeout=PROBE_TIMEOUT) if p]
    except ray.exceptions.RayError as exc:  # a node that cannot run a task at all, or never answers
        raise BgblurError(
            f"the Ray workers did not answer the output-folder probe within {PROBE_TIMEOUT} s "
            f"({type(exc).__name__}); is bgblur installed on every node?"
        ) from None
    if problems:
        raise BgblurError(
            f"{problems[0]}: every Ray node must read the inputs and write the outputs under the same paths "
            "(a shared filesystem or object store mount)"
        )


def describe_loss(ray: Any, exc: Exception) -> str:
    """What a lost task's error says was lost: ``Ray node 10.0.0.7 (0c368dd6)``, or a worker process."""
    if isinstance(exc, ray.exceptions.NodeDiedError):
        found = re.search(r"Node IP: ([^,\s]+), node ID: ([0-9a-f]{8})", str(exc))
        return f"Ray node {found[1]} ({found[2]})" if found else "a Ray node"
    return f"a Ray worker process ({type(exc).__name__})"


def names(items: list[Item]) -> str:
    shown = ", ".join(str(i.source) for i in items[:NAMES_SHOWN])
    return shown + (f" and {len(items) - NAMES_SHOWN} more (see --report)" if len(items) > NAMES_SHOWN else "")


def _clean(item: Item) -> None:
    """What a killed task left under hidden names (its worker never got to remove it)."""
    for target in (item.output, item.matte):
        for path in leftovers(target) if target is not None else ():
            path.unlink(missing_ok=True)


class _Library:
    """The files in flight on Ray: sends each, collects results, sends again what a lost node or worker took."""

    def __init__(self, ray: Any, task: Any, options: Options, threads: int, bar: LibraryBar, report: Callable) -> None:
        self.ray, self.task, self.options, self.threads = ray, task, options, threads
        self.bar, self.report = bar, report
        self.lost_errors = tuple(getattr(ray.exceptions, name) for name in LOST_ERRORS)
        self.pending: dict[Any, tuple[Item, list[str]]] = {}
        self.results: list[Result] = []
        self.untold: list[tuple[str, Item]] = []  # retried files not yet told on the terminal
        self.losses: list[str] = []
        self.no_node_since: float | None = None
        self.able: set[str] = set()  # nodes seen alive with the CPUs for a file
        self.looked = -NODE_LOOK

    def send(self, item: Item, lost: list[str]) -> None:
        self.pending[self.task.remote(self.options, item, self.threads)] = (item, lost)

    def collect(self) -> None:
        """One look at the tasks: report what ended, send again what was lost (told once the losses settle)."""
        ready, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=WAIT)
        retried = False
        for ref in ready:
            item, lost = self.pending.pop(ref)
            try:
                result = self.ray.get(ref)
                result.lost = lost
            except self.lost_errors as exc:
                what = describe_loss(self.ray, exc)
                self.losses.append(what)
                if len(lost) < RETRIES:
                    if any(i == item for _, i in self.untold):  # lost again before its first loss was told
                        self.tell()
                    self.send(item, [*lost, what])
                    self.untold.append((what, item))
                    retried = True
                    continue
                _clean(item)
                error = f"its Ray task was lost {len(lost) + 1} times (the last time {what}); not retried again"
                result = Result(str(item.source), str(item.output), "failed", error=error, lost=[*lost, what])
            except self.ray.exceptions.RayError as exc:
                cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                error = f"its Ray task failed ({type(exc).__name__}: {cause})"
                result = Result(str(item.source), str(item.output), "failed", error=error, lost=lost)
            self.results.append(result)
            self.report(result)
        if self.untold and not retried:  # the files of one lost node fail together: one line for them
            self.tell()

    def tell(self) -> None:
        for what in dict.fromkeys(w for w, _ in self.untold):
            items = [i for w, i in self.untold if w == what]
            several = len(items) > 1
            ran = f"{len(items)} files: {names(items)}: retrying them" if several else f"{names(items)}: retrying it"
            self.bar.write(f"bgblur: lost {what} while it ran {ran} on the nodes left")
        self.untold.clear()

    def check_nodes(self) -> None:
        """Tell a node that died without a file of ours; raise ClusterLost once a node was lost and no node that can
        run a file has been there for NO_NODE_WAIT s. (Every NODE_LOOK s: one call to Ray's control store.)"""
        now = time.monotonic()
        if now - self.looked < NODE_LOOK:
            return
        self.looked = now
        nodes = self.ray.nodes()
        able = {n["NodeID"] for n in nodes if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= self.threads}
        for node in nodes:
            if node["NodeID"] in self.able and node["NodeID"] not in able:
                what = f"Ray node {node.get('NodeManagerAddress', '?')} ({node['NodeID'][:8]})"
                if what not in self.losses:  # not yet told by a task it took with it
                    self.losses.append(what)
                    left = f"{len(able)} node{'s' if len(able) > 1 else ''}" if able else "no node"
                    self.bar.write(f"bgblur: lost {what}: {left} left that can run files")
        self.able |= able
        if able or not self.losses:
            self.no_node_since = None
        elif self.no_node_since is None:
            self.no_node_since = now
        elif now - self.no_node_since > NO_NODE_WAIT:
            self.give_up()

    def cancel(self) -> None:
        """Stopped: kill what runs and drop the rest; once the killed tasks have ended, remove their hidden files."""
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        if self.pending:
            ended, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=CANCEL_WAIT)
            for ref in ended:
                _clean(self.pending[ref][0])
        self.pending.clear()

    def give_up(self) -> None:
        self.tell()
        items = sorted((item for item, _ in self.pending.values()), key=lambda i: i.source)
        for ref, (item, lost) in self.pending.items():
            self.ray.cancel(ref, force=True)
            _clean(item)
            error = "no Ray node was left to run it"
            self.results.append(Result(str(item.source), str(item.output), "not done", error=error, lost=lost))
        self.pending.clear()
        lost = ", ".join(dict.fromkeys(self.losses))
        raise ClusterLost(
            f"no Ray node that can run a file is left (lost {lost}) and none joined within {NO_NODE_WAIT:g} s: "
            f"{len(items)} files not done: {names(items)} (start the nodes and run the same command again: "
            "the finished files are kept)",
            self.results,
        )


def run_ray(
    items: list[Item],
    options: Options,
    address: str | None,
    jobs: int,
    threads: int,
    folders: list[str],
    bar: LibraryBar,
    report: Callable[[Result], None],
    stopping: Callable[[], bool],
) -> list[Result]:
    """Run ``items`` as Ray tasks of ``threads`` CPUs each (a local runtime gets ``jobs`` tasks' worth; a cluster
    runs as many as its nodes' CPUs allow); returns every file's result, or raises ClusterLost (which holds them).
    ``folders``: the output folders to probe from every node first."""
    ray = _import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    with RayLog() as log:
        with log.everything():
            log.open(_start(ray, address, jobs * threads))
        try:
            _preflight(ray, folders)
            # max_retries=0: the retries are the library's own, so that it knows which files were retried.
            task = ray.remote(num_cpus=threads, max_retries=0)(run_task)
            library = _Library(ray, task, options, threads, bar, report)
            for item in items:
                library.send(item, [])
            try:
                while library.pending and not stopping():
                    library.collect()
                    library.check_nodes()
            finally:
                library.cancel()
            return library.results
        finally:
            with log.everything():
                ray.shutdown()
