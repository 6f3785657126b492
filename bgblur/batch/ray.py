"""A folder run on Ray: the same per-file task (:func:`bgblur.batch.task.run_task`) as a Ray remote task, on a
local runtime (no address) or a cluster (``--ray ADDRESS`` or ``$RAY_ADDRESS``).

Every node reads the inputs and writes the outputs under the same paths, so IN_DIR and OUT_DIR must be on a
filesystem all nodes mount (NFS, a cluster filesystem, an object store mount); a probe task on every node
checks that before the library starts. A task whose worker dies (a lost node, the OOM killer) is retried
``RETRIES`` times, then its file is reported as failed; bad files are not retried (they fail the same way).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bgblur.batch.plan import Item
from bgblur.batch.progress import LibraryBar
from bgblur.batch.task import Result, run_task
from bgblur.errors import BgblurError
from bgblur.options import Options

RETRIES = 2  # extra tries of a file whose worker was lost
INSTALL_HINT = "pip install 'bgblur[ray]'"
WAIT = 0.5  # s between looks for finished tasks (and at the stop flag)
PROBE_TIMEOUT = 120  # s for every node to answer the probe (a cold node may have to start a worker)


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


def _start(ray: Any, address: str | None, cpus: int) -> None:
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=cpus, **options)
    except Exception as exc:  # ConnectionError, a timeout, a bad address: one line
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        raise BgblurError(f"cannot start or join {where}: {str(exc).splitlines()[0] if str(exc) else exc}") from None


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
    runs as many as its nodes' CPUs allow); returns every file's result. ``folders``: the output folders to probe
    from every node first."""
    ray = _import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    _start(ray, address, jobs * threads)
    try:
        _preflight(ray, folders)
        task = ray.remote(num_cpus=threads, max_retries=RETRIES, retry_exceptions=True)(run_task)
        pending = {task.remote(options, item, threads): item for item in items}
        results: list[Result] = []
        try:
            while pending and not stopping():
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT)
                for ref in ready:
                    item = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        result = Result(
                            str(item.source),
                            str(item.output),
                            "failed",
                            error=f"its Ray task failed {RETRIES + 1} times ({type(exc).__name__}: {cause})",
                        )
                    results.append(result)
                    report(result)
        finally:
            for ref in pending:  # stopped: kill what runs (it leaves only hidden files) and drop the rest
                ray.cancel(ref, force=True)
        return results
    finally:
        ray.shutdown()
