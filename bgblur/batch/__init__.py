"""A library of recordings: a folder in, a folder out, resumable, on this machine (``--jobs``) or Ray (``--ray``).

:func:`run_batch` plans the run (:mod:`~bgblur.batch.plan`), hands each file to the per-file task
(:mod:`~bgblur.batch.task`) through a local process pool (:mod:`~bgblur.batch.local`) or Ray
(:mod:`~bgblur.batch.ray`), and ends with one summary line and, with ``--report``, a JSON report.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict
from pathlib import Path

from bgblur.batch.options import add_arguments
from bgblur.errors import BgblurError, UsageError, info
from bgblur.options import Options
from bgblur.threads import stop_signals, usable_cores

__all__ = ["add_arguments", "default_jobs", "run_batch"]


def default_jobs(cores: int | None = None) -> int:
    """Files at once on this machine: one per core. Measured on 2 cores (scripts/bench_batch.py, docs/scaling.md):
    one file's run keeps at most 1.4-1.7 cores busy (its decoder-and-model thread and its compositing-and-encoding
    thread wait on each other); a second worker, one OpenCV thread each, uses the rest at no extra CPU per frame
    (up to 1.7x the files per minute when the cores are free)."""
    return max(1, cores or usable_cores())


def _check(args: Options) -> tuple[Path, Path, Path | None]:
    from bgblur.batch.plan import classify

    in_dir, out_dir, matte_dir = Path(args.source), args.output, args.matte
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output {out_dir} is a file: a folder as --source needs --output FOLDER")
    if not out_dir.exists() and classify(out_dir) is not None:  # a file name, not a folder to create
        raise UsageError(f"--output {out_dir} names a file: a folder as --source needs --output FOLDER")
    if matte_dir is not None and matte_dir.exists() and not matte_dir.is_dir():
        raise UsageError(f"--matte {matte_dir} is a file: a folder as --source needs --matte FOLDER")
    if args.virtual_camera is not None:
        raise UsageError("--virtual-camera takes one source, not a folder")
    if in_dir.resolve() in {out_dir.resolve(), matte_dir and matte_dir.resolve()}:
        raise UsageError("--output (or --matte) is the source folder: choose another folder (inputs are never touched)")
    for folder in (out_dir, matte_dir):
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BgblurError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return in_dir, out_dir, matte_dir


def _error_line(result) -> str:
    error = result.error or "failed"
    return f"bgblur: error: {error}" if result.source in error else f"bgblur: error: {result.source}: {error}"


def run_batch(args: Options) -> int:
    """The folder run for the parsed command line; returns the exit status (1 if any file failed, 130 after a
    Ctrl-C). Raises BgblurError for what stops the whole run (a folder not writable, Ray missing)."""
    from bgblur.batch.plan import make_plan
    from bgblur.batch.progress import LibraryBar

    started = time.perf_counter()
    in_dir, out_dir, matte_dir = _check(args)
    plan = make_plan(in_dir, out_dir, recursive=args.recursive, overwrite=args.overwrite, matte_dir=matte_dir)
    if not args.quiet:
        for path, why in plan.skipped:
            info(f"skipped {path}: {why}")
    cores = usable_cores()
    jobs = args.jobs or default_jobs(cores)
    threads = max(1, cores // jobs) if args.ray is None else 1  # a Ray task asks for one CPU, like a local worker
    options = args.replace(recursive=False, jobs=None, ray=None, report=None)  # what each file's task needs
    # Biggest first: a long recording started last would run alone at the end.
    todo = sorted(plan.todo, key=lambda item: -item.source.stat().st_size)
    bar = LibraryBar(len(todo), enabled=not args.quiet)
    interrupt: list[int] = []
    lost: BgblurError | None = None  # the Ray cluster lost every node that could run a file

    def stopped() -> bool:
        return bool(interrupt)

    def report(result) -> None:
        bar.finish(result.frames if args.ray is not None else None)
        if result.status == "failed":
            bar.write(_error_line(result))

    try:
        with stop_signals(interrupt.append):
            if not todo:  # everything complete or skipped: no pool, no runtime
                results = []
            elif args.ray is not None:
                from bgblur.batch.ray import ClusterLost, run_ray

                folders = [str(d) for d in {i.output.parent for i in todo} | {i.matte.parent for i in todo if i.matte}]
                try:
                    results = run_ray(
                        todo, options, args.ray, jobs, threads, folders, bar, report, lambda: bool(interrupt)
                    )
                except ClusterLost as exc:  # the report and the summary still say what was done
                    results, lost = exc.results, exc
            else:
                from bgblur.batch.local import run_local

                results = run_local(todo, options, min(jobs, len(todo)) or 1, threads, bar, report, stopped)
    finally:
        bar.close()
    done = [r for r in results if r.status == "done"]
    failed = [r for r in results if r.status == "failed"]
    left = len(todo) - len(done) - len(failed)
    if args.report is not None:
        _write_report(args.report, plan, todo, results)
    parts = [f"{len(done) + len(plan.complete)} done ({len(plan.complete)} already complete)"]
    parts += [f"{len(plan.skipped)} skipped", f"{len(failed)} failed"]
    if left:
        parts.append(f"{left} not finished (stopped; run the same command again to finish them)")
    info(f"{', '.join(parts)} in {time.perf_counter() - started:.1f} s")
    if lost is not None:
        raise lost
    if interrupt and interrupt[0] == signal.SIGINT:
        return 130
    return 1 if failed else 0


def _write_report(path: Path, plan, todo, results) -> None:
    files = [asdict(r) for r in results]
    ended = {r.source for r in results}
    files += [  # stopped before they started: the next run does them
        {"source": str(i.source), "output": str(i.output), "status": "interrupted"}
        for i in todo
        if str(i.source) not in ended
    ]
    files += [{"source": str(i.source), "output": str(i.output), "status": "complete"} for i in plan.complete]
    files += [{"source": str(p), "status": "skipped", "error": why} for p, why in plan.skipped]
    files.sort(key=lambda f: f["source"])
    summary: dict[str, int] = {}
    for f in files:
        summary[f["status"]] = summary.get(f["status"], 0) + 1
    # Each Ray node or worker lost during the run, with the files it took (each sent again, or not done).
    lost: dict[str, list[str]] = {}
    for f in files:
        for what in f.get("lost", ()):
            lost.setdefault(what, []).append(f["source"])
    report = {"summary": summary, "lost": [{"what": w, "files": f} for w, f in lost.items()], "files": files}
    try:
        path.write_text(json.dumps(report, indent=2) + "\n")
    except OSError as exc:
        raise BgblurError(f"cannot write the report {path}: {exc.strerror or exc}") from None
