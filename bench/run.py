"""Measure every performance target of the project in one run, each as a ratio to a reference
measured in the same run, and write the table to bench/results/latest.md.

    python bench/run.py                    # 1M and 10M rows, 5 pairs each
    python bench/run.py --quick            # 1M rows, 3 pairs: under 3 minutes
    python bench/run.py --rows 1e6 --pairs 5
    python bench/run.py --only burst,batch,workers --pairs 3   # just the marginal-cost rows

Why ratios of alternating pairs: the machines are shared and noisy. Running reportgen and its
reference one after the other (reportgen, reference, reportgen, reference, ...) exposes both to the
same noise, and the median of each side drops the outliers. Every measurement is a fresh process
started the way a user starts it (the real ``reportgen`` CLI), timed from spawn to exit, with its peak
resident memory from ``wait4`` (the process and the children it waited for). The reference programs
come from ../shared/baseline; without that folder the rows that need them are skipped, said so, and
the run still exits 0.
"""
from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads as W
from bench.gen_data import ensure_deals, label

RESULTS = W.REPO / "bench" / "results" / "latest.md"


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    work: str
    reference: str
    ours: float
    ref: float
    value: float
    unit: str  # "x slower" (ours/ref, lower is better), "x faster" (ref/ours), "s extra", "s" (ours itself)
    target: float
    peak_mb: float
    peak_limit: float | None = None
    spread: tuple[float, float] | None = None  # lowest and highest of the per-pair values the result is the median of

    @property
    def passed(self) -> bool:
        ok = self.value >= self.target if self.unit == "x faster" else self.value <= self.target
        return ok and (self.peak_limit is None or self.peak_mb <= self.peak_limit)


def run_once(cmd: W.Command) -> Sample:
    """Run one fresh process to completion; wall time and peak RSS (MB). A failure is fatal: a
    benchmark of a command that errors out would be a benchmark of the error path."""
    t0 = time.perf_counter()
    env = {**os.environ, "REPORTGEN_CACHE_DIR": cmd.cache}
    proc = subprocess.Popen(cmd.argv, cwd=cmd.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd.argv)}\n{stderr[-3000:]}")
    for folder in cmd.leaves:
        if not any(folder.glob("*.json")):
            raise SystemExit(f"{' '.join(cmd.argv)} left no entry in {folder}: its timing would not be what it says")
    return Sample(seconds, usage.ru_maxrss / 1024)


def alternate(makers: list[Callable[[Path], W.Command]], pairs: int, scratch: Path,
              data: Path | None = None) -> list[list[Sample]]:
    """Run the commands round-robin ``pairs`` times (A, B, A, B, ...), each in a fresh output folder.

    The data file is read once first, so the page cache holds it for every side alike (cheaper than
    an untimed warm-up round, which would cost a third of a --quick run)."""
    if data is not None:
        with data.open("rb") as f:
            while f.read(1 << 24):
                pass
    samples: list[list[Sample]] = [[] for _ in makers]
    for _ in range(pairs):
        for i, make in enumerate(makers):
            out = Path(tempfile.mkdtemp(dir=scratch))
            samples[i].append(run_once(make(out)))
            shutil.rmtree(out, ignore_errors=True)
    return samples


def med(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def peak(samples: list[Sample]) -> float:
    return max(s.peak_mb for s in samples)


def extra_per_item(many: list[Sample], one: list[Sample], extra_items: int) -> float:
    """Marginal seconds per extra report: the median over pairs of (k reports - 1 report) / (k - 1)."""
    return statistics.median(pair_slopes(many, one, extra_items))


def pair_slopes(many: list[Sample], one: list[Sample], extra_items: int) -> list[float]:
    """(k reports - 1 report) / (k - 1) for each alternating pair."""
    return [(a.seconds - b.seconds) / extra_items for a, b in zip(many, one)]


def pair_ratios(top: list[Sample], bottom: list[Sample]) -> list[float]:
    """top / bottom for each alternating pair."""
    return [a.seconds / b.seconds for a, b in zip(top, bottom)]


def spread(values: list[float]) -> tuple[float, float]:
    """The lowest and highest per-pair value: how far one pair can be from the median on this machine."""
    return min(values), max(values)


def overhead(ours: list[Sample], ref: list[Sample]) -> float:
    """Seconds over the reference, the median of the pairwise differences."""
    return statistics.median(a.seconds - b.seconds for a, b in zip(ours, ref))


def build_rows(rows: int, pairs: int, scratch: Path, baseline: bool) -> list[Row]:
    """Executive build on a CSV against the stack floor and the hand-written script (+ compute)."""
    data = ensure_deals(rows)["csv"]
    n = label(rows).upper()
    config = W.write_config(scratch / f"bench-{label(rows)}.yaml", data)
    result: list[Row] = []
    if baseline:
        makers = [lambda out: W.build(config, out), lambda out: W.script(data, out)]
        if rows <= 1_000_000:
            makers.append(lambda out: W.floor(data, out))
        samples = alternate(makers, pairs, scratch, data)
        ours, script = samples[0], samples[1]
        if rows <= 1_000_000:
            floor = samples[2]
            result.append(Row(f"executive build, {n} CSV", "stack floor", med(ours), med(floor),
                              med(ours) / med(floor), "x slower", 1.4, peak(ours),
                              spread=spread(pair_ratios(ours, floor))))
        target = 3.0 if rows <= 1_000_000 else 6.0
        result.append(Row(f"executive build, {n} CSV", "hand-written pandas script", med(ours), med(script),
                          med(script) / med(ours), "x faster", target, peak(ours),
                          600.0 if rows >= 10_000_000 else None, spread(pair_ratios(script, ours))))
    ours, scan = alternate([lambda out: W.compute(config, out), lambda out: W.duckdb_scan(data)], pairs, scratch, data)
    result.append(Row(f"`compute`, {n} CSV", "plain DuckDB scan", med(ours), med(scan), med(ours) / med(scan),
                      "x slower", 2.0, peak(ours), spread=spread(pair_ratios(ours, scan))))
    return result


def cache_rows(rows: int, pairs: int, scratch: Path) -> list[Row]:
    """The warm cache (issue 20): a second build of an unchanged 1M-row config against the stack floor,
    and a cold build that writes the cache entry against the same build with the cache off."""
    data = ensure_deals(rows)["csv"]
    n = label(rows).upper()
    config = W.write_config(scratch / f"bench-cache-{label(rows)}.yaml", data)
    warm = scratch / "warm-cache"
    run_once(W.build_cached(config, Path(tempfile.mkdtemp(dir=scratch)), warm))  # fills it, untimed
    makers = [lambda out: W.build_cached(config, out, warm), lambda out: W.floor(data, out),
              lambda out: W.build_cached(config, out, out / "cache"), lambda out: W.build(config, out)]
    hot, floor, cold, off = alternate(makers, pairs, scratch, data)
    # next month's export on a machine that built last month's: the cache folder holds that build's entries,
    # file hash and compiled templates, and nothing of the new file (copied in before each timed run)
    following = next_export(data, scratch / f"deals-{label(rows)}-next.csv")
    config_next = W.write_config(scratch / f"bench-cache-{label(rows)}-next.yaml", following)

    def new_export(out: Path) -> W.Command:
        shutil.copytree(warm, out / "cache")
        return W.build_cached(config_next, out, out / "cache")

    new, new_off = alternate([new_export, lambda out: W.build(config_next, out)], pairs, scratch, following)
    # the same build against itself: how far apart two identical runs land here (what "unchanged" can mean)
    same_a, same_b = alternate([lambda out: W.build(config, out), lambda out: W.build(config, out)], pairs, scratch,
                               data)
    return [
        Row(f"executive build, {n} CSV, warm cache", "stack floor", med(hot), med(floor), med(hot) / med(floor),
            "x slower", 1.0, peak(hot), spread=spread(pair_ratios(hot, floor))),
        Row(f"executive build, {n} CSV, cold: empty cache folder (writes the cache)", "same build, cache off",
            med(cold), med(off), med(cold) / med(off), "x slower", 1.0, peak(cold),
            spread=spread(pair_ratios(cold, off))),
        Row(f"executive build, {n} CSV, cold: a new export, the cache holding the last one's build",
            "same build, cache off", med(new), med(new_off), med(new) / med(new_off), "x slower", 1.0, peak(new),
            spread=spread(pair_ratios(new, new_off))),
        # a check of the run itself: two identical builds more than 5% apart mean the machine is too busy to trust it
        Row(f"executive build, {n} CSV, cache off (the noise: the same build twice)", "same build, cache off",
            med(same_a), med(same_b), med(same_a) / med(same_b), "x slower", 1.05, peak(same_a),
            spread=spread(pair_ratios(same_a, same_b))),
    ]


def next_export(data: Path, target: Path) -> Path:
    """``data`` with one more deal (a copy of its last row under a new id): another file, as next
    month's export is, that builds the same scorecard."""
    if not target.exists():  # copied, not read: this process's size is in the peak memory of every child it forks
        shutil.copyfile(data, target)
        with data.open("rb") as f:
            f.seek(max(0, data.stat().st_size - 4096))
            last = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        deal_id, rest = last.split(b",", 1)
        with target.open("ab") as f:
            f.write(str(int(deal_id) + 10**9).encode() + b"," + rest + b"\n")
    return target


def burst_row(pairs: int, scratch: Path, reps: int) -> Row:
    """`send --dry-run` of a delivery burst by rep to ``reps`` reps against the same with one rep."""
    data = ensure_deals(1_000_000)["parquet"]
    many = W.write_config(scratch / "burst-many.yaml", data, burst_reps=reps)
    one = W.write_config(scratch / "burst-one.yaml", data, burst_reps=1)
    k, s1 = alternate([lambda out: W.burst(many, out), lambda out: W.burst(one, out)], pairs, scratch, data)
    return Row(f"each extra report in a burst by rep ({reps} reps, 1M Parquet)", "the same burst to 1 rep",
               med(k), med(s1), extra_per_item(k, s1, reps - 1), "s extra", 0.4, peak(k),
               spread=spread(pair_slopes(k, s1, reps - 1)))


def batch_row(pairs: int, scratch: Path, configs: int) -> Row:
    """`batch` of ``configs`` configs (100k Parquet each) against a batch of one."""
    data = ensure_deals(100_000)["parquet"]
    paths = [W.write_config(scratch / f"batch-{i}.yaml", data, title=f"Client {i}") for i in range(configs)]
    k, s1 = alternate([lambda out: W.batch(paths, out), lambda out: W.batch(paths[:1], out)], pairs, scratch, data)
    return Row(f"each extra config in `batch` ({configs} configs, 100K Parquet)", "a batch of 1 config",
               med(k), med(s1), extra_per_item(k, s1, configs - 1), "s extra", 0.4, peak(k),
               spread=spread(pair_slopes(k, s1, configs - 1)))


def workers_rows(pairs: int, scratch: Path, items: int) -> list[Row]:
    """Two workers against one: the marginal cost of a report (burst by rep, 1M Parquet; batch,
    100k Parquet) with ``--workers 1`` divided by the same with ``--workers 2``.

    Both sides take the marginal between ``items`` and 2 reports (not 1: a single job runs in the
    parent process, without a pool), so the pool's start-up and each worker's one data load cancel
    out and what is compared is the cost of each further report."""
    rows = []
    data = ensure_deals(1_000_000)["parquet"]
    many = W.write_config(scratch / "workers-many.yaml", data, burst_reps=items)
    two = W.write_config(scratch / "workers-two.yaml", data, burst_reps=2)
    s = alternate([lambda out: W.burst(many, out, 1), lambda out: W.burst(two, out, 1),
                   lambda out: W.burst(many, out, 2), lambda out: W.burst(two, out, 2)], pairs, scratch, data)
    one_worker, two_workers = extra_per_item(s[0], s[1], items - 2), extra_per_item(s[2], s[3], items - 2)
    rows.append(Row(f"extra report in a burst ({items} vs 2 reps), 2 workers vs 1", "the same on 1 worker",
                    two_workers, one_worker, one_worker / two_workers, "x faster", 1.8, peak(s[2])))
    data = ensure_deals(100_000)["parquet"]
    paths = [W.write_config(scratch / f"wbatch-{i}.yaml", data, title=f"Client {i}") for i in range(items)]
    s = alternate([lambda out: W.batch(paths, out, 1), lambda out: W.batch(paths[:2], out, 1),
                   lambda out: W.batch(paths, out, 2), lambda out: W.batch(paths[:2], out, 2)], pairs, scratch, data)
    one_worker, two_workers = extra_per_item(s[0], s[1], items - 2), extra_per_item(s[2], s[3], items - 2)
    rows.append(Row(f"extra config in `batch` ({items} vs 2 configs), 2 workers vs 1", "the same on 1 worker",
                    two_workers, one_worker, one_worker / two_workers, "x faster", 1.8, peak(s[2])))
    return rows


def serve_row(pairs: int, scratch: Path) -> Row:
    """`reportgen serve` on the 1M-row config: a template edit to the new page served (plus what the page's
    poll may add), worst of ``pairs`` x 3 edits, against the 1.5 s target; the stack floor of the same run
    beside it, for scale."""
    from bench.bench_serve import POLL, measure

    data = ensure_deals(1_000_000)["csv"]
    times = measure(data, edits=3 * pairs, config_edits=1)
    (floor,) = alternate([lambda out: W.floor(data, out)], pairs, scratch, data)
    return Row("`serve`: template edit -> new page served (+ the page's poll), 1M CSV", "stack floor (for scale)",
               max(times.edits) + POLL, med(floor), max(times.edits) + POLL, "s", 1.5, times.peak_mb)


def startup_rows(pairs: int, scratch: Path) -> list[Row]:
    """Commands that should answer at once: their cost over bare Python / over `reportgen --help`."""
    kp, py = alternate([lambda out: W.kpis(), lambda out: W.python_pass()], pairs, scratch)
    vh, rh = alternate([lambda out: W.validate_help(), lambda out: W.reportgen_help()], pairs, scratch)
    return [Row("`reportgen kpis`", "`python -c pass`", med(kp), med(py), overhead(kp, py), "s extra", 0.2, peak(kp)),
            Row("`reportgen validate --help`", "`reportgen --help`", med(vh), med(rh), overhead(vh, rh), "s extra",
                0.2, peak(vh))]


def markdown(rows: list[Row], header: str) -> str:
    lines = [header, "", "| work | reference | reportgen s | reference s | result | target | peak MB | pass |",
             "|---|---|---:|---:|---:|---:|---:|:-:|"]
    for r in rows:
        target = f"{'>=' if r.unit == 'x faster' else '<='} {r.target:g}{' s' if r.unit[0] == 's' else 'x'}"
        if r.peak_limit:
            target += f", <= {r.peak_limit:g} MB"
        value = f"{r.value:.2f} s" if r.unit[0] == "s" else f"{r.value:.2f}x {r.unit.split()[1]}"
        if r.spread is not None and r.spread[0] != r.spread[1]:
            value += f" ({r.spread[0]:.2f}-{r.spread[1]:.2f})"
        lines.append(f"| {r.work} | {r.reference} | {r.ours:.2f} | {r.ref:.2f} | {value} | {target} | "
                     f"{r.peak_mb:.0f} | {'yes' if r.passed else '**no**'} |")
    return "\n".join(lines) + "\n"


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=W.REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M rows, 3 pairs, smaller burst and batch")
    parser.add_argument("--rows", default=None, help="comma-separated row counts, e.g. 1e6,1e7 (default 1e6,1e7)")
    parser.add_argument("--pairs", type=int, default=None, help="alternating pairs per row (default 5; quick 3)")
    parser.add_argument("--only-builds", action="store_true", help="only the build and compute rows of --rows")
    parser.add_argument("--only", default=None,
                        help="comma-separated groups to run: builds, cache, serve, burst, batch, workers, startup "
                             "(default: all but workers; --only-builds is --only builds)")
    parser.add_argument("--items", type=int, default=None,
                        help="reports in the burst and batch rows (default 5; quick 2; workers rows 6)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    groups = set((args.only or ("builds" if args.only_builds else "builds,cache,serve,burst,batch,startup")).split(","))
    unknown = groups - {"builds", "cache", "serve", "burst", "batch", "workers", "startup"}
    if unknown:
        parser.error(f"--only: unknown group(s) {', '.join(sorted(unknown))}")
    items = args.items or (2 if args.quick else 5)
    sizes = [int(float(x)) for x in (args.rows or ("1e6" if args.quick else "1e6,1e7")).split(",")]
    pairs = args.pairs or (3 if args.quick else 5)
    baseline = W.baseline_available()
    if not baseline:
        print(f"NOTE: {W.BASELINE} is absent: the rows against the stack floor and the hand-written script "
              "are skipped (the other rows need no reference program).")
    # Measure reportgen as installed: byte-compiled, as setup.sh leaves it. A module edited since
    # would otherwise be compiled again by every timed process when PYTHONDONTWRITEBYTECODE is set.
    compileall.compile_dir(W.REPO / "reportgen", quiet=1)
    began = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        scratch = Path(tmp)
        if "builds" in groups:
            for n in sizes:
                rows += build_rows(n, pairs, scratch, baseline)
        if "cache" in groups and baseline:
            rows += cache_rows(min(sizes), pairs, scratch)
        if "serve" in groups and baseline:
            rows.append(serve_row(pairs, scratch))
        if "burst" in groups:
            rows.append(burst_row(pairs, scratch, reps=items))
        if "batch" in groups:
            rows.append(batch_row(pairs, scratch, configs=items))
        if "workers" in groups:
            rows += workers_rows(pairs, scratch, max(args.items or 6, 3))
        if "startup" in groups:
            rows += startup_rows(pairs, scratch)
    load = os.getloadavg()
    header = (f"reportgen benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_git_head()}, "
              f"{os.cpu_count()} CPUs, load {load[0]:.1f} at the end, {platform.python_version()}; medians of "
              f"{pairs} alternating pairs{' (--quick)' if args.quick else ''}; {time.perf_counter() - began:.0f} s "
              "in all.")
    text = markdown(rows, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
