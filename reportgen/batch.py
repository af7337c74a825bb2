"""Run many scorecard jobs at once: in this process, in worker processes, or on a Dask cluster.

A job is a small frozen value (config path, audience, optional segment, output folder, ...) that
pickles cheaply; the worker loads the config itself, so nothing heavy crosses a process boundary
and a job runs the same on a laptop pool and on a cluster node that shares the filesystem. Every job
returns a :class:`JobResult` (status, pages, seconds, error) instead of raising, so one broken
report never stops the others and the caller gets a complete summary.

Worker processes are started with the ``spawn`` method (no inherited DuckDB connections, locks or
threads from the parent; the same on Linux and macOS) and import the heavy libraries (pandas,
DuckDB, WeasyPrint, Pillow) once, in :func:`warm_up`, not once per job; a delivery's worker loads
the delivery's data once for all the groups it runs (:func:`_shared_data`), not once per segment.
In this process (one worker), the next build job's data is computed while the current one renders
(:func:`_run_in_order`), so even one worker keeps two cores busy.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeGuard

from reportgen.errors import ReportgenError
from reportgen.pipeline.result import JobResult, Status  # noqa: F401 - part of batch's API

if TYPE_CHECKING:
    from reportgen.config.models import LoadedConfig
    from reportgen.delivery.deliver import SendGroup, SharedData
    from reportgen.engine import Metrics
    from reportgen.pipeline.build import Segment

class Job(Protocol):
    """Anything with a ``run()`` returning a :class:`JobResult` and a picklable body."""

    def run(self) -> JobResult: ...


@dataclass(frozen=True)
class BuildJob:
    """Build one audience (optionally one segment) of one config into ``output_dir``."""

    config: Path
    audience: str
    output_dir: Path | None = None
    segment: Segment | None = None
    period: str | None = None
    now: datetime | None = None
    duckdb_threads: int | None = None  # this job's share of the cores (see _run_in_processes); None: the default

    def run(self) -> JobResult:
        return self.finish(self.prepare())

    def prepare(self) -> PreparedBuild:
        """The data half of the job: load the config and its data, compute the metrics. It writes
        nothing, and most of its time is spent inside DuckDB, which releases the GIL."""
        from reportgen.pipeline.build import scorecard_metrics
        from reportgen.pipeline.checks import load_checked as load_config

        now = self.now or _utcnow()
        loaded = load_config(self.config)
        metrics = scorecard_metrics(loaded, now=now, audience=self.audience, period=self.period, segment=self.segment,
                                    duckdb_threads=self.duckdb_threads)
        return PreparedBuild(loaded, metrics, now)

    def finish(self, prepared: PreparedBuild) -> JobResult:
        """The rendering half: views, HTML, PDF and exports from the prepared metrics, written atomically."""
        from reportgen.pipeline.build import AudiencesFailed, build

        try:
            built = build(prepared.loaded, now=prepared.now, audience=self.audience, period=self.period,
                          output_dir=self.output_dir, segment=self.segment, metrics=prepared.metrics)
        except AudiencesFailed as exc:  # the job's one audience: its result names it already
            raise ReportgenError(exc.failures[0][1]) from None
        outputs = tuple(p for b in built for p in (b.pdf, b.html, b.csv, b.xlsx) if p is not None)
        return JobResult(str(self.config), self.audience, self.segment.value if self.segment else None, "ok",
                         pages=sum(b.pages for b in built), outputs=outputs)


@dataclass(frozen=True)
class PreparedBuild:
    """A build job's config and metrics, computed ahead of its rendering (see :func:`run_jobs`)."""

    loaded: LoadedConfig
    metrics: Metrics
    now: datetime


@dataclass(frozen=True)
class SendJob:
    """Build one delivery group's scorecard and mail it (see :func:`reportgen.delivery.deliver.send_group`)."""

    group: SendGroup  # imported for type checking only, so this module imports nothing heavy
    duckdb_threads: int | None = None  # this job's share of the cores (see _run_in_processes); None: the default

    def run(self) -> JobResult:
        from reportgen.delivery.deliver import send_group
        from reportgen.pipeline.checks import load_checked as load_config

        group = self.group
        loaded = load_config(group.config)
        from reportgen.delivery.plan import select_deliveries

        [spec] = select_deliveries(loaded, (group.delivery,))
        result = send_group(loaded, spec, group, shared=_shared_data(loaded, group, self.duckdb_threads))
        failed = [o for o in result.outcomes if not o.ok]
        return JobResult(str(group.config), spec.audience, group.segment, "failed" if failed else "ok",
                         pages=result.pages, error=failed[0].detail if failed else None,
                         outputs=tuple({o.pdf for o in result.outcomes if o.pdf}), details=result.outcomes,
                         server_down=result.server_down)


_run_data: dict[int, tuple[tuple[object, ...], SharedData]] = {}
"""Per thread of this process: the delivery run it is working for and that run's data."""


def _shared_data(loaded: LoadedConfig, group: SendGroup, duckdb_threads: int | None = None) -> SharedData:
    """The delivery's data, loaded once per worker for all the groups of one run.

    A burst to fifty reps on two workers reads the file twice (once per worker), not fifty times.
    The key is the run (config file and its state, delivery, period, the run's ``now``), so a
    long-lived worker (a Dask node serving the scheduler day after day) never serves one run's
    rows to the next; only the latest run's data is kept. It is kept per thread: a Dask worker runs
    jobs in several threads, and one DuckDB connection must not serve two of them at once.
    """
    import threading

    from reportgen.delivery.deliver import SharedData

    try:
        stat = group.config.stat()
        state: tuple[int, int] = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        state = (0, 0)
    key = (str(group.config), state, group.delivery, group.period, group.now)
    thread = threading.get_ident()
    held = _run_data.get(thread)
    if held is None or held[0] != key:
        held = (key, SharedData(loaded, group.now, duckdb_threads=duckdb_threads))
        _run_data[thread] = held
    return held[1]


def with_duckdb_threads(job: Job, threads: int) -> Job:
    """``job`` with its DuckDB capped at ``threads``, so that workers x threads fits the cores (two
    workers with two DuckDB threads each on two cores would fight over them). The cap travels in the
    job itself, not in the worker's environment; a job that loads no data is returned as it is."""
    if isinstance(job, BuildJob | SendJob):
        return dataclasses.replace(job, duckdb_threads=threads)
    return job


def run_job(job: Job) -> JobResult:
    """Run one job and time it; any error becomes a failed result with one readable line."""
    return _timed(job, job.run)


def _timed(job: object, work: Callable[[], JobResult]) -> JobResult:
    """``work()``'s result with its seconds; an error becomes ``job``'s failed result."""
    start = time.perf_counter()
    try:
        result = work()
    except Exception as exc:  # noqa: BLE001 - the summary reports it; one report never stops the batch
        result = failed_result(job, exc)
    return _with_seconds(result, time.perf_counter() - start)


def failed_result(job: object, exc: BaseException | str) -> JobResult:
    """A failed result for ``job`` from an exception (ReportgenError: its message; a bug: type + message)."""
    if isinstance(exc, str):
        text = exc
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        text = first if isinstance(exc, ReportgenError) else f"{type(exc).__name__}: {first}".rstrip(": ")
    config, audience, segment = _job_identity(job)
    return JobResult(config, audience, segment, "failed", error=text)


def warm_up() -> None:
    """Import the heavy libraries once per worker process, before the first job arrives."""
    from reportgen.prefetch import tune_gc

    tune_gc()  # a worker process is the command line's, spawned: the same garbage collection policy
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import PIL.Image  # noqa: F401
    import weasyprint  # noqa: F401

    from reportgen import (
        data,  # noqa: F401
        render,  # noqa: F401
    )
    from reportgen import engine as compute  # noqa: F401
    from reportgen.pdf.limits import start_layout_process
    from reportgen.pipeline import build  # noqa: F401

    try:
        start_layout_process()  # forked before the first job starts DuckDB's threads
    except ReportgenError:
        pass  # a bad REPORTGEN_PDF_* setting: each job reports it as its failure


ResultCallback = Callable[[JobResult], None]


def run_jobs(jobs: Sequence[Job], *, workers: int = 1, cluster: str | None = None,
             on_result: ResultCallback | None = None) -> list[JobResult]:
    """Run ``jobs`` and return their results in the order given; ``on_result`` sees each as it finishes.

    ``workers=1`` without a cluster runs in this process (no start-up cost; what tests and single
    deliveries want). ``cluster`` is a Dask scheduler address such as ``tcp://10.0.0.5:8786``.
    """
    notify = on_result or (lambda _result: None)
    if cluster:
        return _run_on_dask(jobs, cluster, notify)
    if workers <= 1 or len(jobs) <= 1:
        return _run_in_order(jobs, notify)
    return _run_in_processes(jobs, workers, notify)


def _run_in_order(jobs: Sequence[Job], notify: ResultCallback) -> list[JobResult]:
    """One job after another in this process, each build job's data computed while the job before
    it renders.

    Why: a scorecard's PDF is WeasyPrint, pure Python on one core, and the next config's load and
    metrics are mostly DuckDB, which releases the GIL and would leave the second core idle. Computed
    ahead in a thread, the two overlap (100K-row configs: about 0.56 s -> 0.43 s each). Only the
    data half runs ahead, one job at most, and it writes nothing; the jobs still render and write in
    order, and a job whose data half failed fails with its own error, as if run alone. A job's
    seconds are its two halves' own time."""
    from concurrent.futures import Future, ThreadPoolExecutor
    from functools import partial

    def prepare(job: BuildJob) -> tuple[PreparedBuild | Exception, float]:
        start = time.perf_counter()
        try:
            return job.prepare(), time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001 - reported as the job's failure when its turn comes
            return exc, time.perf_counter() - start

    def ahead(index: int) -> Future[tuple[PreparedBuild | Exception, float]] | None:
        job = jobs[index] if index < len(jobs) else None
        return pool.submit(prepare, job) if isinstance(job, BuildJob) else None

    results: list[JobResult] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportgen-prepare") as pool:
        upcoming = ahead(0)
        for index, job in enumerate(jobs):
            prepared = upcoming.result() if upcoming is not None else None
            upcoming = ahead(index + 1)
            if prepared is None:
                result = run_job(job)
            elif isinstance(prepared[0], Exception):
                result = _with_seconds(failed_result(job, prepared[0]), prepared[1])
            else:
                assert isinstance(job, BuildJob)  # only build jobs are prepared ahead
                result = _timed(job, partial(job.finish, prepared[0]))
                result = _with_seconds(result, result.seconds + prepared[1])
            results.append(result)
            notify(result)
    return results


def _run_in_processes(jobs: Sequence[Job], workers: int, notify: ResultCallback) -> list[JobResult]:
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[JobResult | None] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    n = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 2) // n)
    with ProcessPoolExecutor(max_workers=n, mp_context=context, initializer=warm_up) as pool:
        futures = {pool.submit(run_job, with_duckdb_threads(job, threads)): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died (BrokenProcessPool) fails its job only
                result = failed_result(jobs[i], f"worker process failed: {type(exc).__name__}: {exc}")
            results[i] = result
            notify(result)
    return _every_result(results)


def _run_on_dask(jobs: Sequence[Job], address: str, notify: ResultCallback) -> list[JobResult]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ReportgenError("--cluster needs Dask: pip install 'reportgen[cluster]'") from None
    try:
        client = Client(address, timeout="15s")  # type: ignore[no-untyped-call]  # distributed: __init__ unannotated
    except (OSError, TimeoutError) as exc:
        raise ReportgenError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    results: list[JobResult | None] = [None] * len(jobs)
    with client:
        client.run(warm_up)
        futures = [client.submit(run_job, job, pure=False) for job in jobs]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]  # distributed: unannotated
            i = index[future.key]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its job, not the batch
                result = failed_result(jobs[i], f"Dask worker failed: {type(exc).__name__}: {exc}")
            results[i] = result
            notify(result)
    return _every_result(results)


def _all_present(results: list[JobResult | None]) -> TypeGuard[list[JobResult]]:
    return all(result is not None for result in results)


def _every_result(results: list[JobResult | None]) -> list[JobResult]:
    """The results in job order; as_completed yields every future, so each job has one by now."""
    if not _all_present(results):
        raise RuntimeError("a job finished without a result")
    return results


def build_jobs(configs: Sequence[Path], *, audience: str | None = None, output_dir: Path | None = None,
               period: str | None = None, now: datetime | None = None) -> tuple[list[BuildJob], list[JobResult]]:
    """One job per (config, audience); configs that do not load become failed results straight away.

    Two jobs that would write the same file (two clients' ``scorecard.yaml`` built into one folder)
    both fail before anything is built: one client's PDF must never overwrite, or be mailed as,
    another's.
    """
    from reportgen.pipeline.build import audiences_of, output_stem
    from reportgen.pipeline.checks import load_checked as load_config

    jobs, failures = [], []
    targets: dict[Path, list[BuildJob]] = {}
    # a job may run on another machine whose working folder is not ours: ship absolute paths only
    output_dir = output_dir.absolute() if output_dir is not None else None
    for path in (Path(p).absolute() for p in configs):
        try:
            loaded = load_config(path)
            names = list(audiences_of(loaded, audience))
        except ReportgenError as exc:
            failures.append(JobResult(str(path), audience or "*", None, "failed", error=str(exc).splitlines()[0]))
            continue
        try:
            folder = (output_dir or loaded.resolve(loaded.config.scorecard.output_dir)).resolve()
        except ReportgenError as exc:
            failures.append(JobResult(str(path), audience or "*", None, "failed", error=str(exc).splitlines()[0]))
            continue
        for name in names:
            job = BuildJob(path, name, output_dir, None, period, now)
            targets.setdefault(folder / f"{output_stem(loaded, name)}.pdf", []).append(job)
    for target, clashing in targets.items():
        if len(clashing) == 1:
            jobs += clashing
            continue
        others = ", ".join(str(j.config) for j in clashing)
        for job in clashing:
            failures.append(JobResult(str(job.config), job.audience, None, "failed",
                                      error=f"{others} would all write {target}; rename the configs or give "
                                            "each its own output folder"))
    return jobs, failures


def _job_identity(job: object) -> tuple[str, str, str | None]:
    if isinstance(job, BuildJob):
        return str(job.config), job.audience, job.segment.value if job.segment else None
    group = getattr(job, "group", None)
    if group is not None:
        return str(group.config), group.delivery, group.segment
    return repr(job), "", None


def _with_seconds(result: JobResult, seconds: float) -> JobResult:
    from dataclasses import replace

    return replace(result, seconds=seconds)


def _utcnow() -> datetime:
    """A build job's instant: SOURCE_DATE_EPOCH when set (reproducible files, as `reportgen build`), else the clock."""
    from reportgen.environment import build_now

    return build_now()


__all__ = ["BuildJob", "JobResult", "SendJob", "build_jobs", "failed_result", "run_job", "run_jobs", "warm_up"]
