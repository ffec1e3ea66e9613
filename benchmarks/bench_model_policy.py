"""Decisions per second of a trained model used as a policy on a whole trace.

    .venv/bin/python benchmarks/bench_model_policy.py   # writes benchmarks/results/model_policy.{txt,json}

``simulate --policy model:theta_2022-dras`` on all 23,911 jobs of theta_2022 (and the shipped
lublin_256 scorer on its trace), with the compiled forward pass schedlab uses
(:mod:`schedlab.rl.inference`) and, side by side in the same run, with the PyTorch network
(batch 1, one thread) taking the same decisions.  Each timing includes the environment's stepping;
medians of REPEATS runs.  The target is >= 10,000 decisions/s.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from schedlab.metrics import result_metrics
from schedlab.rl.agents import masked_logits, to_action
from schedlab.rl.policy import model_policy, simulate_agent
from schedlab.simulator.config import SimConfig
from schedlab.workload import load_trace

REPEATS = 3
CASES = (("theta_2022-dras", "theta_2022"), ("lublin_256-scorer", "lublin_256"))


def torch_act(net):
    @torch.no_grad()
    def act(env) -> int:
        obs = torch.as_tensor(env.observation(), dtype=torch.float32)[None]
        lg, _, k = masked_logits(net, obs, torch.as_tensor(env.action_masks())[None])
        return int(to_action(lg.argmax(-1), k, net.W)[0])

    return act


def timed(run) -> tuple[float, int, float]:
    t0 = time.perf_counter()
    res = run()
    return time.perf_counter() - t0, int(res.passes), float(result_metrics(res)["mean_bsld"])


def main() -> None:
    torch.set_num_threads(1)
    config = SimConfig()
    rows = []
    for name, trace in CASES:
        wl = load_trace(trace)
        pol = model_policy(name)
        options = pol.env_options(config)
        pol.simulate(wl, config)  # compile the kernels first

        def fast(wl=wl, pol=pol):
            return pol.simulate(wl, config)

        def slow(wl=wl, pol=pol, options=options):
            return simulate_agent(wl, config, options, torch_act(pol.model.net), {})

        f = [timed(fast) for _ in range(REPEATS)]
        s = [timed(slow) for _ in range(REPEATS)]
        tf, ts = statistics.median(x[0] for x in f), statistics.median(x[0] for x in s)
        rows.append(
            {
                "model": name,
                "jobs": len(wl),
                "decisions": f[0][1],
                "compiled_s": tf,
                "torch_s": ts,
                "compiled_decisions_per_s": f[0][1] / tf,
                "torch_decisions_per_s": s[0][1] / ts,
                "speedup": ts / tf,
                "mean_bsld_compiled": f[0][2],
                "mean_bsld_torch": s[0][2],
            }
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "model_policy.json").write_text(json.dumps({"repeats": REPEATS, "rows": rows}, indent=2))
    lines = [
        f"{r['model']} ({r['jobs']} jobs, {r['decisions']} decisions): compiled {r['compiled_s']:.2f} s "
        f"= {r['compiled_decisions_per_s']:,.0f} decisions/s; torch {r['torch_s']:.2f} s = "
        f"{r['torch_decisions_per_s']:,.0f}/s; x{r['speedup']:.1f}; mean bsld {r['mean_bsld_compiled']:.2f} "
        f"(torch {r['mean_bsld_torch']:.2f})"
        for r in rows
    ]
    (out / "model_policy.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
