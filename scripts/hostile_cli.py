"""Hostile files of every class through the real command line (issue 17's acceptance check).

Each case writes a crafted file into a scratch folder and runs one ``schedlab`` command on it in a
fresh process with a time limit.  A case passes when the command exits 0 or 2, prints no
traceback, dies of no signal, ends within its limit, creates no file outside its ``--out``, and
runs no payload (the payloads would create ``PWNED`` in the scratch folder).

    .venv/bin/python scripts/hostile_cli.py [--only SUBSTRING] [--limit 120]

Prints one line per case and a summary; exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(ROOT / ".venv" / "bin" / "schedlab")]
HEADER = "; MaxProcs: 64\n; MaxNodes: 64\n"
GOOD = "1 0 0 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n2 10 0 50 8 -1 -1 8 100 -1 1 2 1 -1 -1 -1 -1 -1\n"


class Payload:
    """Unpickling this runs a shell command that creates PWNED."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def swf_cases(d: Path) -> dict[str, bytes]:
    line = lambda *f: " ".join(str(x) for x in f) + "\n"
    return {
        "corrupt.swf.gz": gzip.compress((HEADER + GOOD).encode())[:-12] + b"garbage!",
        "bom.swf": b"\xef\xbb\xbf" + (HEADER + GOOD).encode(),
        "inf_header.swf": ("; MaxProcs: 1e400\n" + GOOD).encode(),
        "nan_field.swf": (HEADER + line(1, 0, 0, "nan", 4, -1, -1, 4, 200, -1, 1, 1, 1, -1, -1, -1, -1, -1)).encode(),
        "huge_procs.swf": (HEADER + line(1, 0, 0, 100, 10**30, -1, -1, 10**30, 200, *[-1] * 9)).encode(),
        "fraction_procs.swf": (
            HEADER + line(1, 0, 0, 100, 0.5, -1, -1, 0.5, 200, -1, 1, 1, 1, -1, -1, -1, -1, -1)
        ).encode(),
        "huge_id.swf": (HEADER + line("1e30", 0, 0, 100, 4, -1, -1, 4, 200, *[-1] * 9)).encode(),
        "arabic_digits.swf": (HEADER + "١ 0 0 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n").encode(),
        "nodes_gt_procs.swf": ("; MaxProcs: 4\n; MaxNodes: 64\n" + GOOD).encode(),
        "endless_line.swf": HEADER.encode() + b"1" * (3 << 20),
        "binary.swf": bytes(range(256)) * 64,
        "duplicate_ids.swf": (HEADER + GOOD + GOOD).encode(),
    }


def model_cases(d: Path) -> dict[str, bytes]:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(Payload(d / "PWNED")))
        z.writestr("archive/version", "3\n")
    return {"payload.pt": buf.getvalue(), "text.pt": b"not a model at all", "empty.pt": b""}


def tree_cases(d: Path) -> dict[str, bytes]:
    base = json.loads((ROOT / "src/schedlab/data/trees/theta_2022-dras.json").read_text())

    def mutate(fn):
        t = json.loads(json.dumps(base))
        fn(t)
        return json.dumps(t).encode()

    def cycle(t):
        t["nodes"]["left"][0] = 0

    def out_of_range(t):
        t["nodes"]["left"][0] = 10**9

    def nan_leaf(t):
        t["nodes"]["threshold"][0] = "NaN"

    def huge_visible(t):
        t.setdefault("env_kwargs", {})["visible"] = 10**12

    return {
        "cycle.json": mutate(cycle),
        "out_of_range.json": mutate(out_of_range),
        "nan.json": mutate(nan_leaf),
        "visible.json": mutate(huge_visible),
        "deep.json": b"[" * 100000 + b"]" * 100000,
    }


def cases(d: Path) -> list[tuple[str, list[str]]]:
    for group in (swf_cases(d), model_cases(d), tree_cases(d)):
        for name, data in group.items():
            (d / name).write_bytes(data)
    (d / "bad.parquet").write_bytes(b"PAR1" + os.urandom(200))
    (d / "inf.csv").write_text("job_id,submit,start,end,nodes\n1,inf,0,10,1\n")
    (d / "sacct.txt").write_text("JobID|Submit|Start|End|NNodes\n1|2024-01-01T00:00:00|x|y|1e400\n")
    raw = d / "raw_bftrainer" / "dataset"
    raw.mkdir(parents=True)
    (raw / "ImageNet-imgps-JNPs-1001J.pkl").write_bytes(pickle.dumps(Payload(d / "PWNED")))
    (d / "outside").mkdir()
    (d / "linked_out").symlink_to(d / "outside")
    out = lambda c: ["--out", str(d / "out" / c)]
    run = []
    for name in swf_cases(d):
        run.append((f"simulate {name}", ["simulate", "--trace", str(d / name), *out(name)]))
        run.append(
            (f"compare {name}", ["compare", "--trace", str(d / name), "--policies", "fcfs,sjf", *out("c" + name)])
        )
        run.append((f"analyze {name}", ["analyze", "--jobs", str(d / name), *out("a" + name)]))
    for name in model_cases(d):
        run.append((f"simulate model:{name}", ["simulate", "--policy", f"model:{d / name}", "--trace", "cqsim_test2"]))
        run.append((f"evaluate {name}", ["evaluate", "--model", str(d / name), "--windows", "1", "--window-len", "50"]))
        run.append((f"explain {name}", ["explain", "--model", str(d / name), "--iterations", "1"]))
    for name in tree_cases(d):
        run.append((f"simulate tree:{name}", ["simulate", "--policy", f"tree:{d / name}", "--trace", "cqsim_test2"]))
        run.append((f"explain --compare {name}", ["explain", "--compare", str(d / name), str(d / name)]))
    for expr in ("__import__('os').system('touch PWNED')", "np.os.system('touch PWNED')", "r.__class__", "9**9**9**9"):
        run.append((f"expr {expr}", ["simulate", "--policy", f"expr:{expr}", "--trace", "cqsim_test2"]))
    for name in ("bad.parquet", "inf.csv", "sacct.txt"):
        run.append((f"analyze {name}", ["analyze", "--jobs", str(d / name), *out(name)]))
    run += [
        ("analyze class-rule file read", ["analyze", "--jobs", str(d / "duplicate_ids.swf"), "--class-rule",
                                          "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0"]),
        ("analyze timezone injection", ["analyze", "--jobs", str(d / "duplicate_ids.swf"), "--timezone",
                                        "UTC'; COPY (SELECT 1) TO 'PWNED"]),
        ("analyze data: escape", ["analyze", "--jobs", "data:surf_lisa/../../../etc/passwd"]),
        ("data fetch payload pickle", ["data", "fetch", "bftrainer", "--convert-only", str(d / "raw_bftrainer"),
                                       "--dest", str(d / "dest")]),
        ("simulate --out symlink", ["simulate", "--trace", "cqsim_test2", "--out", str(d / "linked_out")]),
        ("simulate --load-scale inf", ["simulate", "--trace", "cqsim_test2", "--load-scale", "inf", "--json"]),
        ("simulate --tau nan", ["simulate", "--trace", "cqsim_test2", "--tau", "nan", "--json"]),
        ("compare --seed -1", ["compare", "--trace", "cqsim_test2", "--seed", "-1"]),
    ]  # fmt: skip
    return run


def snapshot(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if "out" not in p.relative_to(d).parts[:1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds each command may take")
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="schedlab-hostile-"))
    failed = 0
    try:
        todo = [c for c in cases(d) if args.only in c[0]]
        for name, argv in todo:
            before = snapshot(d)
            t0 = time.perf_counter()
            try:
                p = subprocess.run(CLI + argv, cwd=d, capture_output=True, text=True, timeout=args.limit)
                rc, text = p.returncode, p.stdout + p.stderr
            except subprocess.TimeoutExpired:
                rc, text = "timeout", ""
            took = time.perf_counter() - t0
            new = snapshot(d) - before
            problems = []
            if rc not in (0, 2):
                problems.append(f"exit {rc}")
            if "Traceback" in text:
                problems.append("traceback")
            if (d / "PWNED").exists() or any("PWNED" in x for x in new):
                problems.append("PAYLOAD RAN")
            if any(x.startswith("outside") for x in new):
                problems.append("wrote outside --out")
            failed += bool(problems)
            first = next((ln for ln in text.splitlines() if ln.startswith("error:")), "")
            status = "FAIL " + ", ".join(problems) if problems else "ok  "
            print(f"{status} {took:5.1f}s rc={rc} {name}: {first[:110]}", flush=True)
        print(f"{len(todo) - failed} of {len(todo)} cases passed")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
