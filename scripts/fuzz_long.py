"""Long fuzzing run of the trace and job-table readers (issue 17); not part of the test run.

Runs the strategies of ``tests/workload/test_fuzz_swf.py`` and ``tests/analytics/test_fuzz_job_tables.py``
with fresh random seeds, in rounds, until the time is up, and prints how many cases each target ran
and how they ended (read, or refused with which error).  A case that breaks the contract (another
exception type, a message without the file name, a value out of range) stops the run with
Hypothesis' shrunk example and exit status 1.

    .venv/bin/python scripts/fuzz_long.py --minutes 10
    .venv/bin/python scripts/fuzz_long.py --minutes 2 --target swf --target csv
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests package holds the strategies

from hypothesis import HealthCheck, given, settings  # noqa: E402
from tests.analytics.test_fuzz_job_tables import JobCase, check_job_case, csv_cases, parquet_cases, sacct_cases  # noqa: E402
from tests.workload.test_fuzz_swf import check_swf_case, swf_cases  # noqa: E402

TARGETS = {
    "swf": (swf_cases, check_swf_case),
    "sacct": (sacct_cases, check_job_case),
    "csv": (csv_cases, check_job_case),
    "parquet": (parquet_cases, check_job_case),
    "swf-table": (lambda: swf_cases().map(lambda c: JobCase("swf", c.data, [], mutated=True)), check_job_case),
}


def run_round(name: str, examples: int, outcomes: Counter) -> None:
    strategy, check = TARGETS[name]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy())
    def prop(case):
        with tempfile.TemporaryDirectory() as d:
            outcomes[check(case, Path(d))] += 1

    prop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    ap.add_argument("--target", action="append", choices=sorted(TARGETS), help="what to fuzz (default: all)")
    ap.add_argument("--round", type=int, default=200, help="examples per round and target (default 200)")
    args = ap.parse_args(argv)
    targets = args.target or list(TARGETS)
    stop = time.monotonic() + args.minutes * 60
    counts = {t: Counter() for t in targets}
    rounds = 0
    while time.monotonic() < stop:
        for t in targets:
            if time.monotonic() >= stop:
                break
            try:
                run_round(t, args.round, counts[t])
            except Exception:
                _print(counts, rounds)
                print(f"\nFAILED on target {t}: the shrunk case is above", file=sys.stderr)
                raise
        rounds += 1
    _print(counts, rounds)
    return 0


def _print(counts: dict[str, Counter], rounds: int) -> None:
    print(f"rounds: {rounds}")
    for t, c in counts.items():
        total = sum(c.values())
        detail = ", ".join(f"{k} {v:,}" for k, v in c.most_common())
        print(f"{t:8s} {total:8,} cases: {detail}")


if __name__ == "__main__":
    sys.exit(main())
