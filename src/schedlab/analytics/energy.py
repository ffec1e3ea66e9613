"""Energy per job from measured power, with the part no job can be charged for kept as its own line.

Telemetry is read into fixed slots of length ``interval`` (a time stamp marks the END of its slot,
as OpenDC and most exporters write it).  Per slot the measured energy E is split so that

    E = sum over jobs (static + dynamic)  +  idle-node loss  +  no-usage loss

holds exactly, so ``attributed + loss == measured`` over the whole period (to rounding).

Cluster-level power (one series for N nodes, e.g. SURF Lisa's measured partition power):
  * static (idle) power per node ``p0``: from the hardware table (``idle_w``), else the intercept
    of a least-squares fit of measured power on the jobs' load (CPU usage when given, else busy
    nodes) divided by N, clipped to [0, min power / N].  Each node gets ``min(p0*dt, E/N)``.
  * a job is charged the static share of the nodes it holds, for the part of the slot it ran;
    the static share of nodes no job holds is the **idle-node loss**.
  * the rest of E (dynamic) is split among the jobs running in the slot by weight: ``usage``
    (measured per-job CPU usage in the slot, OpenDC fragments), ``equal`` (node-seconds held, i.e.
    an equal split per busy node), ``cores`` (core-seconds) or ``gpus`` (GPU-seconds).  A slot with
    no weight at all gives its dynamic energy to the **no-usage loss**.

Per-node power (node, time, power): per node and slot the jobs on that node (from their Slurm node
lists) share the energy by weight: ``equal`` (the baseline: co-located jobs share equally),
``cores`` or ``gpus`` (per node: job cores / job nodes).  The fraction of the slot that no job
covered (``1 - max overlap / dt``, exact when jobs share the node at the same time) is idle-node
loss; a node with no job is idle-node loss throughout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import DataNotFound, SchedlabError, TelemetryFormatError

METHODS = ("auto", "usage", "equal", "cores", "gpus")


_TIME = ("timestamp", "time", "ts", "datetime", "date", "t")
_NODE = ("node", "host", "hostname", "node_id", "nodename", "entity", "name")
_POWER = ("power_draw", "power", "power_w", "watts", "node_power", "total_power")
_ENERGY = ("energy_usage", "energy", "energy_j", "joules")


@dataclass
class PowerTelemetry:
    """Measured power on a regular grid: one row per (node, slot).

    ``frame`` columns: node ('__cluster__' for cluster-level), slot (int, slot i covers
    [t0 + i*interval, t0 + (i+1)*interval)), energy_j, power_w.  ``n_nodes`` is the number of
    nodes the series covers when the file says so (SURF's host strings list them).
    """

    frame: object
    interval: float
    t0: float
    level: str
    n_nodes: int | None
    source: str
    notes: list = field(default_factory=list)

    @property
    def measured_j(self) -> float:
        return float(self.frame["energy_j"].sum())

    def series(self):
        """Total power per slot (W) with the slot END time in epoch seconds."""
        g = self.frame.groupby("slot", sort=True)["energy_j"].sum()
        import pandas as pd

        return pd.DataFrame(
            {"time": self.t0 + (g.index.to_numpy() + 1) * self.interval, "power_w": g.to_numpy() / self.interval}
        )


def _pick(cols, names):
    low = {c.lower(): c for c in cols}
    return next((low[n] for n in names if n in low), None)


def split_concatenated_hosts(text: str) -> list[str]:
    """SURF/OpenDC host strings glue node names together (``r27n19r27n13...``): split before each
    repeat of the first name's leading letters followed by a digit."""
    if "," in text or "[" in text:
        from schedlab.analytics.jobs import expand_hostlist

        return expand_hostlist(text)
    m = re.match(r"[A-Za-z]+", text)
    if not m:
        return [text]
    return [p for p in re.split(rf"(?={re.escape(m.group(0))}\d)", text) if p]


def read_power(path: str | Path, origin: float | None = None, timezone: str = "UTC") -> PowerTelemetry:
    """Read power telemetry in long form (node, time, power or energy), wide form (time + one
    column per node) or cluster form (time, power), from CSV or Parquet.

    Times: epoch seconds, epoch ms (> 1e11), datetimes (offsets honoured, naive in ``timezone``), or
    relative offsets (< 1e9; milliseconds for OpenDC output with ``power_draw``/``energy_usage``),
    which count from ``origin`` (epoch seconds; required for relative times).
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataNotFound(f"telemetry file not found: {path}")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:
        raise TelemetryFormatError(f"{path}: cannot read telemetry ({exc})") from None
    notes: list[str] = []
    tcol = _pick(df.columns, _TIME)
    if tcol is None:
        raise TelemetryFormatError(
            f"{path}: no time column (one of {', '.join(_TIME)}); found {', '.join(map(str, df.columns))}"
        )
    opendc = {"power_draw", "energy_usage"} <= {c.lower() for c in df.columns}
    long, n_nodes = _long_form(df, tcol, path, notes)
    long["time"] = _epoch_seconds(long["time"], tcol, opendc, origin, timezone, path, notes)
    return _on_slots(long, n_nodes, path, notes)


def _long_form(df, tcol: str, path: Path, notes: list[str]):
    """``(frame of node, time, p (W), e (J), nodes the series covers or None)`` from any of the layouts."""
    import pandas as pd

    ncol, pcol, ecol = _pick(df.columns, _NODE), _pick(df.columns, _POWER), _pick(df.columns, _ENERGY)
    n_nodes = None
    if ncol is not None and (pcol or ecol):
        names = df[ncol].astype(str)
        if names.str.len().median() > 40 or names.str.contains(r"[,\[]").any():
            hosts = split_concatenated_hosts(names.iloc[0])
            n_nodes = len(set(hosts))
            notes.append(f"'{ncol}' lists {n_nodes} nodes per row: one cluster-level series")
            long = pd.DataFrame(
                {
                    "node": "__cluster__",
                    "time": df[tcol],
                    "p": df[pcol] if pcol else np.nan,
                    "e": df[ecol] if ecol else np.nan,
                }
            )
        else:
            long = pd.DataFrame(
                {"node": names, "time": df[tcol], "p": df[pcol] if pcol else np.nan, "e": df[ecol] if ecol else np.nan}
            )
    elif pcol or ecol:
        long = pd.DataFrame(
            {
                "node": "__cluster__",
                "time": df[tcol],
                "p": df[pcol] if pcol else np.nan,
                "e": df[ecol] if ecol else np.nan,
            }
        )
    else:
        value_cols = [c for c in df.columns if c != tcol and pd.api.types.is_numeric_dtype(df[c])]
        if not value_cols:
            raise TelemetryFormatError(f"{path}: no power column ({', '.join(_POWER)}) and no numeric node columns")
        long = df.melt(id_vars=[tcol], value_vars=value_cols, var_name="node", value_name="p").rename(
            columns={tcol: "time"}
        )
        long["e"] = np.nan
        notes.append(f"wide form: {len(value_cols)} node columns read as power in W")
    return long, n_nodes


def _epoch_seconds(t, tcol: str, opendc: bool, origin, timezone: str, path: Path, notes: list[str]):
    """Time stamps as epoch seconds: epoch ms scaled, relative offsets counted from ``origin``, text parsed."""
    import pandas as pd

    from schedlab.analytics.jobs import parse_times
    from schedlab.workload.cleaning_report import CleaningReport

    rep = CleaningReport()
    if pd.api.types.is_numeric_dtype(t):
        x = t.to_numpy(dtype=float)
        if np.nanmax(x) > 1e11:
            x = x / 1000.0
        elif np.nanmax(x) < 1e9:
            if opendc:
                x = x / 1000.0
            if origin is None:
                raise TelemetryFormatError(f"{path}: time column {tcol!r} holds offsets, not dates; give an origin")
            notes.append(
                f"relative time stamps{' (ms, OpenDC)' if opendc else ''} counted from "
                f"{pd.Timestamp(origin, unit='s', tz='UTC'):%Y-%m-%d %H:%M:%S} UTC"
            )
            x = x + origin
    else:
        x = parse_times(t, tz=timezone, path=str(path), column=tcol, report=rep)
    notes.extend(rep.notes)
    return x


def _on_slots(long, n_nodes, path: Path, notes: list[str]) -> PowerTelemetry:
    """Energy per (node, slot) on the regular grid of the median sampling interval."""
    import pandas as pd

    bad = long["time"].isna() | (long["p"].isna() & long["e"].isna())
    if bad.any():
        notes.append(f"{int(bad.sum()):,} telemetry rows without time or value dropped")
        long = long[~bad]
    if long.empty:
        raise TelemetryFormatError(f"{path}: no telemetry rows")
    ut = np.unique(long["time"].to_numpy())
    interval = float(np.median(np.diff(ut))) if len(ut) > 1 else 60.0
    if not interval > 0:
        raise TelemetryFormatError(f"{path}: cannot infer the sampling interval")
    energy = long["e"].to_numpy(dtype=float)
    power = long["p"].to_numpy(dtype=float)
    energy = np.where(np.isfinite(energy), energy, power * interval)
    t0 = float(ut[0]) - interval  # first stamp closes the first slot
    slot = np.rint((long["time"].to_numpy() - interval - t0) / interval).astype(np.int64)
    off = np.abs(long["time"].to_numpy() - (t0 + (slot + 1) * interval)) > 0.25 * interval
    if off.any():
        notes.append(f"{int(off.sum()):,} samples off the {interval:g} s grid snapped to the nearest slot")
    frame = pd.DataFrame({"node": long["node"].astype(str).to_numpy(), "slot": slot, "energy_j": energy})
    frame = frame.groupby(["node", "slot"], as_index=False)["energy_j"].mean()  # duplicates: mean
    frame["power_w"] = frame["energy_j"] / interval
    span = int(frame["slot"].max()) + 1
    nodes = frame["node"].nunique()
    missing = span * nodes - len(frame)
    if missing:
        notes.append(f"{missing:,} (node, slot) samples missing in the {span:,}-slot grid: no energy measured there")
    level = "cluster" if (frame["node"] == "__cluster__").all() else "node"
    return PowerTelemetry(frame, interval, t0, level, n_nodes, str(path), notes)


def read_hardware(path: str | Path):
    """Hardware table (CSV/JSON/Parquet): one row per node type with ``nodes`` (count) and any of
    ``cores``, ``gpus``, ``idle_w`` (W per node), ``tdp_w`` (W per node), ``node_type``/``partition``."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataNotFound(f"hardware file not found: {path}")
    if path.suffix == ".json":
        df = pd.read_json(path)
    elif path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path)
    df.columns = [c.lower() for c in df.columns]
    if "nodes" not in df.columns:
        raise TelemetryFormatError(
            f"{path}: hardware table needs a 'nodes' column (nodes of each type); found {', '.join(df.columns)}"
        )
    for c in ("nodes", "cores", "gpus", "idle_w", "tdp_w"):
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            if v.isna().any() or (v < 0).any():
                row = int(np.flatnonzero((v.isna() | (v < 0)).to_numpy())[0]) + 1
                raise TelemetryFormatError(f"{path}: column {c!r}, row {row}: not a non-negative number")
            df[c] = v
    return df


@dataclass
class EnergyResult:
    """Per-job energy and the exact balance ``measured = attributed + loss``.

    ``jobs``: job_id, static_j, dynamic_j, energy_j (jobs that ran inside the telemetry window).
    ``slots``: per slot measured_j, static_jobs_j, dynamic_jobs_j, idle_loss_j, no_usage_loss_j.
    ``balance``: measured_j, attributed_j, loss_j (+ its parts), residual_j, idle_w_per_node ...
    """

    method: str
    level: str
    jobs: object
    slots: object
    balance: dict
    notes: list = field(default_factory=list)


def _job_slots_sql(view: str, t0: float, dt: float, nslots: int) -> str:
    """(job index jx, slot, overlap seconds) for every job running in the telemetry window; ``view``
    must carry an integer ``jx`` per job (integer keys keep the big joins cheap)."""
    return f"""WITH u AS (
          SELECT jx, nodes, coalesce(cores, nodes) AS cores, gpus, start, "end",
                 unnest(range(CAST(greatest(0, floor((start - {t0}) / {dt})) AS BIGINT),
                              CAST(least({nslots}, ceil(("end" - {t0}) / {dt})) AS BIGINT))) AS slot
          FROM {view} WHERE start IS NOT NULL AND "end" > start)
        SELECT jx, nodes, cores, gpus, slot,
               least("end", {t0} + (slot + 1) * {dt}) - greatest(start, {t0} + slot * {dt}) AS ov
        FROM u"""


def _index_jobs(jobs) -> None:
    jobs.con.execute(f"""CREATE OR REPLACE TEMP TABLE jx AS SELECT row_number() OVER () AS jx, job_id, nodes, cores,
                         gpus, start, "end" FROM {jobs.view} WHERE start IS NOT NULL""")


def attribute_energy(
    jobs, tel: PowerTelemetry, method: str = "auto", fragments: str | Path | None = None, hardware=None
) -> EnergyResult:
    """Split measured energy over the jobs of ``jobs`` (a JobTable); see the module docstring.

    ``method`` auto = usage with ``fragments``, else equal.  ``fragments``: OpenDC per-job usage
    Parquet (id, duration ms, cpu_usage; rows of a job in execution order from its start).
    ``hardware``: a :func:`read_hardware` frame (node count, idle power).
    """
    if method not in METHODS:
        raise SchedlabError(f"unknown attribution method {method!r}; choose from {', '.join(METHODS)}")
    if method == "auto":
        method = "usage" if fragments is not None else "equal"
    if method == "usage" and fragments is None:
        raise SchedlabError("method 'usage' needs per-job usage (--fragments)")
    if tel.level == "node":
        if method == "usage":
            raise SchedlabError("per-job usage weights need cluster-level telemetry; use equal, cores or gpus per node")
        return _attribute_per_node(jobs, tel, method)
    return _attribute_cluster(jobs, tel, method, fragments, hardware)


def _attribute_cluster(jobs, tel, method, fragments, hardware) -> EnergyResult:
    con, dt, t0 = jobs.con, tel.interval, tel.t0
    notes = list(tel.notes)
    meas = tel.frame.groupby("slot", as_index=False)["energy_j"].sum()
    nslots = int(meas["slot"].max()) + 1
    _index_jobs(jobs)
    con.execute(f"CREATE OR REPLACE TEMP TABLE js AS {_job_slots_sql('jx', t0, dt, nslots)}")
    if method == "usage":
        _usage_weights(con, fragments, t0, dt, nslots, notes)
    else:
        expr = {"equal": "nodes * ov", "cores": "cores * ov", "gpus": "gpus * ov"}[method]
        con.execute(f"CREATE OR REPLACE TEMP TABLE fw AS SELECT jx, slot, {expr} AS w FROM js")
    weight_tab = "fw"
    busy = con.sql(f"SELECT slot, sum(nodes * ov) / {dt} AS busy FROM js GROUP BY 1").df()
    load = con.sql(f"SELECT slot, sum(w) AS w FROM {weight_tab} GROUP BY 1").df()
    per = meas.merge(busy, on="slot", how="left").merge(load, on="slot", how="left").fillna({"busy": 0.0, "w": 0.0})
    n = _nodes_in_scope(per, tel, hardware, notes)
    p0, how = _idle_power(per, hardware, method, n, dt)
    notes.append(f"idle power {p0:.1f} W per node: {how}")
    per = _split_slots(per, p0, n, dt)
    job = _cluster_job_energy(con, per, dt)
    slots = per[["slot", "measured_j", "static_jobs_j", "dynamic_jobs_j", "idle_loss_j", "no_usage_loss_j"]].copy()
    slots.insert(1, "time", t0 + (slots["slot"] + 1) * dt)
    bal = _balance(tel, job, slots, notes, jobs)
    bal.update({"nodes_in_scope": n, "idle_w_per_node": p0, "idle_power_source": how})
    con.execute("DROP TABLE IF EXISTS js")
    con.execute("DROP TABLE IF EXISTS fw")
    return EnergyResult(
        method, "cluster", job.sort_values("energy_j", ascending=False, ignore_index=True), slots, bal, notes
    )


def _usage_weights(con, fragments, t0: float, dt: float, nslots: int, notes: list[str]) -> None:
    """Temp table ``fw`` (jx, slot, w): each job's measured CPU usage per slot, from OpenDC fragments."""
    fq = str(fragments).replace("'", "''")
    cols = {r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{fq}')").fetchall()}
    if not {"id", "cpu_usage"} <= cols:
        raise TelemetryFormatError(
            f"{fragments}: per-job usage needs columns id and cpu_usage (found {', '.join(sorted(cols))})"
        )
    dur = "CAST(duration AS DOUBLE) / 1000.0" if "duration" in cols else "30.0"
    fixed = (
        "duration" not in cols
        or con.sql(f"SELECT count(DISTINCT duration) FROM read_parquet('{fq}')").fetchone()[0] <= 1
    )
    # Fragment k of a job covers [start + sum of earlier durations, + its own); with one fixed
    # length (OpenDC's 30 s) that is start + k * d, without the running sum.
    pos = "f.k * f.d + f.d / 2" if fixed else "sum(f.d) OVER (PARTITION BY f.id ORDER BY f.k) - f.d / 2"
    # k = position of the row among its job's rows in file order.  Rows of one job are
    # contiguous in OpenDC files, so k = row - first row of the job (no sort); otherwise rank.
    r = f"(SELECT id, cpu_usage, {dur} AS d, file_row_number AS r FROM read_parquet('{fq}', file_row_number = true))"
    contiguous = con.sql(
        f"SELECT count(*) FILTER (WHERE max_r - min_r + 1 <> n) = 0 FROM (SELECT id, min(r) AS min_r, "
        f"max(r) AS max_r, count(*) AS n FROM {r} GROUP BY id)"
    ).fetchone()[0]
    kq = (
        f"SELECT r.id, r.cpu_usage, r.d, r.r - m.r0 AS k FROM {r} r "
        f"JOIN (SELECT id, min(r) AS r0 FROM {r} GROUP BY id) m USING (id)"
        if contiguous
        else f"SELECT id, cpu_usage, d, row_number() OVER (PARTITION BY id ORDER BY r) - 1 AS k FROM {r}"
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE fw AS
      WITH f AS ({kq}),
      c AS (SELECT j.jx, f.cpu_usage * f.d AS w, j.start + {pos} AS mid
            FROM f JOIN jx j ON j.job_id = CAST(f.id AS VARCHAR))
      SELECT jx, CAST(floor((mid - {t0}) / {dt}) AS BIGINT) AS slot, sum(w) AS w
      FROM c WHERE mid >= {t0} AND mid < {t0} + {nslots} * {dt} GROUP BY 1, 2""")
    nofrag = con.sql(
        "SELECT count(*) FROM (SELECT DISTINCT jx FROM js) a ANTI JOIN (SELECT DISTINCT jx FROM fw) b USING (jx)"
    ).fetchone()[0]
    if nofrag:
        notes.append(f"{nofrag:,} jobs in the window have no usage rows: no dynamic energy charged to them")


def _nodes_in_scope(per, tel, hardware, notes: list[str]) -> int:
    """Nodes the measured power covers: the hardware table, the telemetry's host list, or the most busy at once."""
    if hardware is not None:
        n = int(hardware["nodes"].sum())
        src = "hardware table"
    elif tel.n_nodes:
        n, src = int(tel.n_nodes), "telemetry host list"
    else:
        n, src = int(np.ceil(per["busy"].max())) or 1, "most nodes busy at once (no hardware table)"
    notes.append(f"{n} nodes in the measured scope ({src})")
    over = per["busy"] > n + 1e-9
    if over.any():
        notes.append(f"{int(over.sum()):,} slots with more busy nodes than {n}: static share scaled down there")
    return n


def _idle_power(per, hardware, method: str, n: int, dt: float) -> tuple[float, str]:
    """Idle (static) power per node and where it comes from: the hardware table's ``idle_w``, else the
    intercept of measured power against the jobs' load, clipped to [0, min power] and divided by ``n``."""
    if hardware is not None and "idle_w" in hardware.columns:
        p0 = float((hardware["idle_w"] * hardware["nodes"]).sum() / hardware["nodes"].sum())
        how = "hardware table idle_w"
    else:
        x = per["w"].to_numpy() if method == "usage" else per["busy"].to_numpy()
        y = per["energy_j"].to_numpy() / dt
        if np.ptp(x) > 0:
            _b, a = np.polyfit(x, y, 1)
            how = (
                f"intercept of measured power vs {'job CPU usage' if method == 'usage' else 'busy nodes'} "
                f"({a / 1e3:.2f} kW for {n} nodes)"
            )
        else:
            a, how = float(y.min()), "minimum measured power (load never varies)"
        p0 = float(np.clip(a, 0.0, y.min())) / n
    return p0, how


def _split_slots(per, p0: float, n: int, dt: float):
    """Per slot: static share per node, job static and dynamic energy, idle-node and no-usage loss."""
    e = per["energy_j"].to_numpy()
    s_node = np.minimum(p0 * dt, e / n)
    frac = np.minimum(1.0, n / np.maximum(per["busy"].to_numpy(), 1e-12))
    static_jobs = s_node * np.minimum(per["busy"].to_numpy(), n)
    idle_loss = s_node * n - static_jobs
    dyn = e - s_node * n
    has_w = per["w"].to_numpy() > 0
    return per.assign(
        s_node=s_node,
        frac=frac,
        dyn=dyn,
        measured_j=e,
        static_jobs_j=static_jobs,
        dynamic_jobs_j=np.where(has_w, dyn, 0.0),
        idle_loss_j=idle_loss,
        no_usage_loss_j=np.where(has_w, 0.0, dyn),
    )


def _cluster_job_energy(con, per, dt: float):
    """Per job: its static share of the nodes it held and its weighted share of each slot's dynamic energy."""
    con.register("per_slot", per[["slot", "s_node", "frac", "dyn", "w"]].rename(columns={"w": "wtot"}))
    job = con.sql(f"""WITH st AS (SELECT js.jx, sum(p.s_node * p.frac * js.nodes * js.ov / {dt}) AS static_j
                                 FROM js JOIN per_slot p USING (slot) GROUP BY 1),
                          dy AS (SELECT fw.jx,
                                        sum(CASE WHEN p.wtot > 0 THEN p.dyn * fw.w / p.wtot ELSE 0 END) AS dynamic_j
                                 FROM fw JOIN per_slot p USING (slot) GROUP BY 1)
                     SELECT jx.job_id, coalesce(static_j, 0) AS static_j, coalesce(dynamic_j, 0) AS dynamic_j
                     FROM jx JOIN (SELECT coalesce(st.jx, dy.jx) AS jx, static_j, dynamic_j
                                   FROM st FULL OUTER JOIN dy ON st.jx = dy.jx) a USING (jx)""").df()
    job["energy_j"] = job["static_j"] + job["dynamic_j"]
    return job


def _attribute_per_node(jobs, tel, method) -> EnergyResult:
    import pandas as pd

    from schedlab.analytics.jobs import expand_hostlist

    con, dt, t0 = jobs.con, tel.interval, tel.t0
    notes = list(tel.notes)
    rows = con.sql(
        f"SELECT job_id, nodelist FROM {jobs.view} WHERE nodelist IS NOT NULL AND start IS NOT NULL"
    ).fetchall()
    pairs = [(j, h) for j, nl in rows for h in expand_hostlist(nl)]
    no_list = int(
        con.sql(f"SELECT count(*) FROM {jobs.view} WHERE nodelist IS NULL AND start IS NOT NULL").fetchone()[0]
    )
    if no_list:
        notes.append(f"{no_list:,} started jobs have no node list: not attributed (their nodes' energy counts as idle)")
    con.register(
        "job_nodes",
        pd.DataFrame(pairs, columns=["job_id", "node"])
        if pairs
        else pd.DataFrame({"job_id": pd.Series([], dtype=str), "node": pd.Series([], dtype=str)}),
    )
    frame = tel.frame[["node", "slot", "energy_j"]]
    con.register("tel_nodes", frame)
    nslots = int(frame["slot"].max()) + 1
    unknown = con.sql(
        "SELECT count(DISTINCT node) FROM job_nodes ANTI JOIN (SELECT DISTINCT node FROM tel_nodes) USING (node)"
    ).fetchone()[0]
    if unknown:
        notes.append(f"{unknown:,} nodes in the jobs' node lists have no telemetry: their jobs get no energy there")
    w = {"equal": "js.ov", "cores": "js.ov * js.cores / js.nodes", "gpus": "js.ov * js.gpus / js.nodes"}[method]
    _index_jobs(jobs)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE jns AS
        SELECT jx.job_id, jn.node, js.slot, js.ov, {w} AS w
        FROM ({_job_slots_sql("jx", t0, dt, nslots)}) js JOIN jx USING (jx)
        JOIN job_nodes jn ON jn.job_id = jx.job_id""")
    if method == "gpus":
        nog = con.sql("SELECT count(*) FROM (SELECT node, slot FROM jns GROUP BY 1, 2 HAVING sum(w) = 0)").fetchone()[0]
        if nog:
            notes.append(f"{nog:,} (node, slot) pairs whose jobs hold no GPU: split equally there")
    per = con.sql(f"""WITH g AS (SELECT node, slot, sum(w) AS wtot, count(*) AS k, least(1.0, max(ov) / {dt}) AS cov
                                 FROM jns GROUP BY 1, 2)
        SELECT t.node, t.slot, t.energy_j, coalesce(g.cov, 0) AS cov, coalesce(g.wtot, 0) AS wtot, coalesce(g.k, 0) AS k
        FROM tel_nodes t LEFT JOIN g USING (node, slot)""").df()
    con.register("per_ns", per)
    job = con.sql("""SELECT jns.job_id,
          sum(p.energy_j * p.cov * CASE WHEN p.wtot > 0 THEN jns.w / p.wtot ELSE 1.0 / p.k END) AS energy_j
        FROM jns JOIN per_ns p USING (node, slot) GROUP BY 1""").df()
    job["static_j"] = np.nan
    job["dynamic_j"] = np.nan
    job = job[["job_id", "static_j", "dynamic_j", "energy_j"]]
    per["att"] = per["energy_j"] * per["cov"]
    s = per.groupby("slot", as_index=False).agg(measured_j=("energy_j", "sum"), att=("att", "sum"))
    slots = pd.DataFrame(
        {
            "slot": s["slot"],
            "time": t0 + (s["slot"] + 1) * dt,
            "measured_j": s["measured_j"],
            "static_jobs_j": np.nan,
            "dynamic_jobs_j": s["att"],
            "idle_loss_j": s["measured_j"] - s["att"],
            "no_usage_loss_j": 0.0,
        }
    )
    bal = _balance(tel, job, slots, notes, jobs)
    bal.update(
        {
            "nodes_in_scope": int(frame["node"].nunique()),
            "idle_w_per_node": None,
            "idle_power_source": "per-node telemetry (no idle model)",
        }
    )
    con.execute("DROP TABLE IF EXISTS jns")
    return EnergyResult(
        method, "node", job.sort_values("energy_j", ascending=False, ignore_index=True), slots, bal, notes
    )


def _balance(tel, job, slots, notes, jobs) -> dict:
    measured = float(slots["measured_j"].sum())
    attributed = float(job["energy_j"].sum())
    idle = float(slots["idle_loss_j"].sum())
    nouse = float(slots["no_usage_loss_j"].sum())
    lo, hi = tel.t0, tel.t0 + (int(slots["slot"].max()) + 1) * tel.interval
    outside = jobs.con.sql(f"""SELECT count(*), coalesce(sum(nodes * (least("end", {lo}) - least(start, {lo}))
                                 + nodes * (greatest("end", {hi}) - greatest(start, {hi}))), 0) / 3600.0
                              FROM {jobs.view} WHERE start IS NOT NULL AND (start < {lo} OR "end" > {hi})""").fetchone()
    if outside[0]:
        notes.append(
            f"{outside[0]:,} jobs ran partly or wholly outside the telemetry window "
            f"({outside[1]:,.1f} node-hours not measured, not charged)"
        )
    return {
        "measured_j": measured,
        "attributed_j": attributed,
        "loss_j": idle + nouse,
        "loss_idle_nodes_j": idle,
        "loss_no_usage_j": nouse,
        "residual_j": measured - attributed - idle - nouse,
        "attributed_share": attributed / measured if measured else float("nan"),
        "jobs_charged": int((job["energy_j"] > 0).sum()),
        "jobs_outside_window": int(outside[0]),
        "node_hours_outside_window": float(outside[1]),
        "window_start": lo,
        "window_end": hi,
        "interval_s": tel.interval,
    }


def energy_by(jobs, result: EnergyResult, key: str):
    """Attributed energy grouped by a job column (``state``, ``job_class``, ``user`` ...), with
    shares of the attributed and of the measured total, and jobs per group."""
    con = jobs.con
    con.register("job_energy", result.jobs[["job_id", "energy_j"]])
    df = con.sql(f"""SELECT j.{key} AS {key}, count(*) AS jobs, coalesce(sum(e.energy_j), 0) AS energy_j
                     FROM {jobs.view} j LEFT JOIN job_energy e USING (job_id) GROUP BY 1 ORDER BY energy_j DESC""").df()
    att, meas = result.balance["attributed_j"], result.balance["measured_j"]
    df["share_of_attributed"] = df["energy_j"] / att if att else np.nan
    df["share_of_measured"] = df["energy_j"] / meas if meas else np.nan
    df["energy_kwh"] = df["energy_j"] / 3.6e6
    return df
