"""Time each report of a burst in one process: the per-report cost without start-up, imports or the
data load, split into build (compute + render + files) and messages (e-mail body, charts, .eml).

    python bench/bench_burst.py [--reps 8] [--rows 1e6]

Runs `send --dry-run` of a delivery bursting by rep over the generated deals (bench/gen_data.py),
the way `deliver` runs it on one worker (data loaded once, one group per rep), and prints the median
and the minimum wall and CPU seconds per report after the first (warm-up) one. The minimum is the
figure least disturbed by other processes on a shared machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads as W
from bench.gen_data import REPS, ensure_deals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=8, help="segments timed after the warm-up one")
    parser.add_argument("--rows", default="1e6")
    args = parser.parse_args()
    from reportgen.config.load import load_config
    from reportgen.delivery.deliver import SendGroup, SharedData, send_group
    from reportgen.delivery.plan import plan_groups, resolve_recipients, select_deliveries

    data = ensure_deals(int(float(args.rows)))["parquet"]
    with tempfile.TemporaryDirectory() as tmp:
        config = W.write_config(Path(tmp) / "burst.yaml", data, burst_reps=min(args.reps + 1, len(REPS)))
        loaded = load_config(config)
        [spec] = select_deliveries(loaded, ("burst",))
        groups, _ = plan_groups(spec, resolve_recipients(loaded, spec))
        now = datetime(2026, 1, 5, tzinfo=UTC)
        shared = SharedData(loaded, now)
        shared.get()
        wall, cpu = [], []
        for segment, members in groups.items():
            job = SendGroup(config, spec.name, "2024-12", segment, tuple(members), now, Path(tmp) / "out",
                            Path(tmp) / "eml")
            w0, c0 = time.perf_counter(), time.process_time()
            result = send_group(loaded, spec, job, shared=shared)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            assert all(o.ok for o in result.outcomes), result.outcomes
    wall, cpu = wall[1:], cpu[1:]
    print(f"per report over {len(wall)} reps: wall median {statistics.median(wall):.3f} s, min {min(wall):.3f} s; "
          f"CPU median {statistics.median(cpu):.3f} s, min {min(cpu):.3f} s")


if __name__ == "__main__":
    main()
