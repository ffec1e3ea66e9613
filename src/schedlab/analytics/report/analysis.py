"""``run_analysis``: read the jobs, characterise them and, with telemetry, attribute energy and look
at the power series; everything lands in one :class:`Analysis`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from schedlab.analytics.report.formatting import _records
from schedlab.analytics.report.key_findings import findings
from schedlab.analytics.report.telemetry import telemetry_section


@dataclass
class Analysis:
    """Everything one ``analyze`` run computed: ``summary`` (JSON-ready numbers), ``frames``
    (name -> DataFrame, written as tables) and what the plots need."""

    summary: dict
    frames: dict
    stats: object
    energy: object = None
    telemetry: object = None
    tel_result: dict = field(default_factory=dict)


def run_analysis(
    jobs_path,
    format: str = "auto",
    telemetry=None,
    fragments=None,
    hardware=None,
    class_rule: str | None = None,
    timezone: str = "UTC",
    method: str = "auto",
    lenient: bool = False,
    step=lambda name: None,
    memory_limit: str | None = None,
    temp_directory=None,
) -> Analysis:
    """Read and analyse; ``step(name)`` is called before each stage (progress display).

    ``memory_limit`` / ``temp_directory``: DuckDB's memory cap and spill folder (see
    :func:`schedlab.analytics.jobs.read_jobs`)."""
    from schedlab.analytics import characterize as C

    timings = {}
    t = time.perf_counter()
    step("reading jobs")
    jobs, hw = _read(jobs_path, format, timezone, lenient, memory_limit, temp_directory, hardware, class_rule)
    timings["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    step("characterising the workload")
    stats = C.characterize(jobs)
    timings["characterize_s"] = time.perf_counter() - t
    frames = dict(stats.frames())
    summary = _workload_summary(jobs_path, jobs, stats, timezone, class_rule)
    an = Analysis(summary, frames, stats)
    if telemetry is not None:
        t = time.perf_counter()
        step("attributing energy")
        tel = _energy(an, jobs, telemetry, fragments, hw, method, timezone)
        timings["energy_s"] = time.perf_counter() - t
        t = time.perf_counter()
        step("telemetry: changepoints and anomalies")
        _telemetry(an, tel)
        timings["telemetry_s"] = time.perf_counter() - t
    else:
        summary["energy"] = None
        summary["telemetry"] = None
    summary["findings"] = findings(summary)
    summary["timings"] = timings
    an.summary = summary
    return an


def _read(jobs_path, format, timezone, lenient, memory_limit, temp_directory, hardware, class_rule):
    """The job table with its classes (node types filled from ``hardware``), and the hardware frame."""
    from schedlab.analytics.jobs import read_jobs

    jobs = read_jobs(
        jobs_path,
        format=format,
        timezone=timezone,
        lenient=lenient,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
    )
    hw = None
    if hardware is not None:
        from schedlab.analytics.energy import read_hardware

        hw = read_hardware(hardware)
        _node_types_from_hardware(jobs, hw)
    jobs = jobs.with_classes(class_rule)
    return jobs, hw


def _workload_summary(jobs_path, jobs, stats, timezone: str, class_rule: str | None) -> dict:
    """The JSON-ready numbers of the workload characterisation."""
    return {
        "source": str(jobs_path),
        "format": jobs.format,
        "timezone_of_naive_times": timezone,
        "class_rule": class_rule or "default",
        "class_sql": jobs.meta.get("class_sql"),
        "states_known": jobs.states_known,
        "waits_known": jobs.waits_known,
        "cleaning": jobs.cleaning.to_dict(),
        "overview": stats.overview,
        "classes": _records(stats.classes),
        "failure_rates": _records(stats.failures),
        "state_mix": _records(stats.states),
        "distributions": _records(stats.distributions),
        "burstiness": _records(stats.burstiness),
        "notes": list(stats.notes),
    }


def _energy(an: Analysis, jobs, telemetry, fragments, hw, method: str, timezone: str):
    """Attribute the measured energy to the jobs: frames and ``summary["energy"]``; the telemetry read."""
    from schedlab.analytics.energy import attribute_energy, energy_by, read_power

    origin = jobs.scalar("SELECT min(submit) FROM {jobs}")
    tel = read_power(telemetry, origin=origin, timezone=timezone)
    res = attribute_energy(jobs, tel, method=method, fragments=fragments, hardware=hw)
    by_state = energy_by(jobs, res, "state")
    by_class = energy_by(jobs, res, "job_class")
    jobs.con.register("energy_jobs", res.jobs)
    per_job = jobs.con.sql(f"""SELECT e.*, j.job_class, j.state, j.nodes, j.run FROM energy_jobs e
                               JOIN {jobs.view} j USING (job_id) ORDER BY e.energy_j DESC""").df()
    an.frames.update(
        {
            "energy_jobs": per_job,
            "energy_slots": res.slots,
            "energy_by_state": by_state,
            "energy_by_class": by_class,
        }
    )
    an.summary["energy"] = {
        "method": res.method,
        "level": res.level,
        "balance": res.balance,
        "by_state": _records(by_state),
        "by_class": _records(by_class),
        "notes": res.notes,
    }
    an.energy = res
    return tel


def _telemetry(an: Analysis, tel) -> None:
    """Changepoints and anomalies of the power telemetry: ``an.tel_result``, frames and ``summary["telemetry"]``."""
    an.telemetry = tel
    an.tel_result = telemetry_section(tel)
    an.summary["telemetry"] = {
        k: v for k, v in an.tel_result.items() if k not in ("series", "segments", "scores", "cp_times")
    }
    if an.tel_result.get("segments") is not None:
        an.frames["power_segments"] = an.tel_result["segments"]
    if an.tel_result.get("scores") is not None:
        an.frames["anomaly_scores"] = an.tel_result["scores"]


def _node_types_from_hardware(jobs, hw) -> None:
    """Fill a missing node_type from the hardware table where its partition names the type."""
    key = "partition" if "partition" in hw.columns else ("node_type" if "node_type" in hw.columns else None)
    if key is None or "node_type" not in hw.columns:
        return
    m = hw[[key, "node_type"]].drop_duplicates().rename(columns={key: "hw_key", "node_type": "hw_type"})
    m["hw_key"] = m["hw_key"].astype(str)
    jobs.con.register("hw_types", m)
    jobs.con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {jobs.view}_hw AS SELECT j.* REPLACE
        (coalesce(j.node_type, h.hw_type) AS node_type) FROM {jobs.view} j """
        "LEFT JOIN hw_types h ON h.hw_key = j.partition"
    )
    jobs.view = f"{jobs.view}_hw"
