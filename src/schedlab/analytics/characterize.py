"""Workload characterisation: who runs what, how long, how often it fails, how it arrives.

Every statistic is one SQL query over a :class:`~schedlab.analytics.jobs.JobTable` view, so it runs
on DuckDB over the source Parquet file (no whole-table pandas load) and returns a small DataFrame.

Job classes.  ``ml`` (accelerator / machine-learning) vs ``generic``.  The default rule
(:data:`DEFAULT_CLASS_RULE`) calls a job ``ml`` when it holds GPUs or its partition or node type
names an accelerator (``gpu``, ``a100``, ``h100``, ``v100``, ``mi250``, ``ml``, ``accel``).  ``--class-rule``
replaces it with any SQL boolean expression over the job columns, e.g.
``partition IN ('gpu', 'gpu_a100')`` or ``gpus >= 1 AND run > 600`` or ``"user" LIKE 'ml%'``.

Times: hour of day and weekday are taken in UTC from the submit time.  Failure rates count only
jobs with a known final state; "not completed" is every known state other than COMPLETED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schedlab.errors import ClassRuleError

DEFAULT_CLASS_RULE = (
    "gpus > 0 OR regexp_matches(lower(coalesce(partition, '') || ' ' || coalesce(node_type, '')), "
    "'gpu|a100|h100|v100|mi250|accel|(^|[^a-z])ml([^a-z]|$)')"
)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
ECDF_PROBS = tuple(np.round(np.linspace(0, 1, 101), 2))
METRICS = {"run": "run", "wait": "wait", "nodes": "nodes", "cores": "cores"}
FAIL_STATES = ("FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE")


#: what a class rule may contain: expression node classes, and functions by name (DuckDB's own
#: parser turns the rule into a tree, see :func:`check_rule`; anything else is refused)
RULE_NODES = frozenset(
    {"CONJUNCTION", "COMPARISON", "COLUMN_REF", "CONSTANT", "FUNCTION", "OPERATOR", "BETWEEN", "CASE", "CAST"}
)
RULE_FUNCTIONS = frozenset(
    {
        "lower", "upper", "trim", "length", "contains", "starts_with", "ends_with", "prefix", "suffix",
        "regexp_matches", "regexp_full_match", "strpos", "substring", "concat", "||", "coalesce", "ifnull",
        "abs", "round", "floor", "ceil", "least", "greatest", "+", "-", "*", "/", "//", "%",
        "~~", "!~~", "~~*", "!~~*",
    }
)  # fmt: skip
MAX_RULE_CHARS = 4000


def _walk_rule(node, columns: frozenset, rule: str, depth: int = 0) -> None:
    if depth > 200:
        raise ClassRuleError(f"--class-rule {rule!r}: nested too deeply")
    if isinstance(node, list):
        for item in node:
            _walk_rule(item, columns, rule, depth + 1)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("class")
    if kind is not None:
        if kind not in RULE_NODES:
            raise ClassRuleError(
                f"--class-rule {rule!r}: {kind.lower()} is not allowed (an expression over the job columns only)"
            )
        if kind == "COLUMN_REF" and (len(node["column_names"]) != 1 or node["column_names"][0].lower() not in columns):
            raise ClassRuleError(
                f"--class-rule {rule!r}: unknown column {'.'.join(node['column_names'])!r}; "
                f"the columns are {', '.join(sorted(columns))}"
            )
        if kind == "FUNCTION" and (
            node["function_name"].lower() not in RULE_FUNCTIONS or node.get("schema") or node.get("catalog")
        ):
            raise ClassRuleError(f"--class-rule {rule!r}: function {node['function_name']!r} is not allowed")
    for key, value in node.items():
        if key not in ("value", "type", "cast_type"):
            _walk_rule(value, columns, rule, depth + 1)


def check_rule(rule: str, columns) -> None:
    """Refuse a class rule that is not one boolean expression over ``columns`` built from
    :data:`RULE_NODES` and :data:`RULE_FUNCTIONS` (no subqueries, table functions, file access,
    settings or statements): the rule is parsed by DuckDB into a tree and the tree is checked
    before the rule reaches any SQL that touches data."""
    import json

    import duckdb

    if len(rule) > MAX_RULE_CHARS:
        raise ClassRuleError(f"--class-rule is {len(rule):,} characters; at most {MAX_RULE_CHARS:,}")
    if ";" in rule or "--" in rule or "/*" in rule:
        raise ClassRuleError(f"--class-rule {rule!r}: one expression only (no ';', '--' or '/*')")
    try:
        with duckdb.connect() as con:
            tree = json.loads(con.execute("SELECT json_serialize_sql(?)", ["SELECT " + rule]).fetchone()[0])
    except (RecursionError, duckdb.Error) as exc:
        raise ClassRuleError(f"--class-rule: nested too deeply or not parseable ({type(exc).__name__})") from None
    if tree.get("error"):
        raise ClassRuleError(f"--class-rule {rule!r} does not parse: {tree.get('error_message', 'syntax error')}")
    stmts = tree.get("statements", [])
    node = stmts[0]["node"] if len(stmts) == 1 else {}
    bare = node.get("type") == "SELECT_NODE" and node.get("from_table", {}).get("type") == "EMPTY"
    bare = bare and not node.get("where_clause") and not node.get("group_expressions") and not node.get("having")
    if not bare or len(node.get("select_list", [])) != 1 or node.get("modifiers") or node["cte_map"]["map"]:
        raise ClassRuleError(f"--class-rule {rule!r}: one expression only (a condition over the job columns)")
    _walk_rule(node["select_list"], frozenset(c.lower() for c in columns), rule)


def class_expression(rule: str | None, columns=None) -> str:
    """SQL giving 'ml' or 'generic' for ``rule`` (a boolean SQL expression over ``columns``, checked
    by :func:`check_rule`) or the default rule."""
    expr = DEFAULT_CLASS_RULE if rule is None or not rule.strip() or rule.strip() == "default" else rule.strip()
    if expr is not DEFAULT_CLASS_RULE:
        from schedlab.workload.jobtables.schema import JOB_COLUMNS

        check_rule(expr, columns if columns is not None else (*JOB_COLUMNS, "wait", "run"))
    return f"CASE WHEN coalesce(({expr}), false) THEN 'ml' ELSE 'generic' END"


def _cls(t) -> str:
    return "job_class" if "job_class" in _columns(t) else "'all'"


def _columns(t) -> list[str]:
    return [r[0] for r in t.con.sql(f"DESCRIBE SELECT * FROM {t.view}").fetchall()]


def overview(t) -> dict:
    """Jobs, period, users, node- and core-hours of the whole table."""
    r = t.con.sql(f"""SELECT count(*), min(submit), max(submit), count(DISTINCT "user"),
        sum(nodes * run) / 3600.0, sum(cores * run) / 3600.0, count(run), sum(gpus * run) / 3600.0
        FROM {t.view}""").fetchone()
    n, s0, s1, users, nh, ch, started, gh = r
    return {
        "jobs": int(n),
        "started_jobs": int(started),
        "first_submit": s0,
        "last_submit": s1,
        "span_days": (s1 - s0) / 86400.0 if n else 0.0,
        "users": int(users) or None,
        "node_hours": float(nh or 0.0),
        "core_hours": float(ch) if ch is not None else None,
        "gpu_hours": float(gh or 0.0),
    }


def class_summary(t):
    """Per class: jobs and share, node-hours and share, GPU-hours, runtime/wait medians and means."""
    c = _cls(t)
    return t.con.sql(f"""SELECT {c} AS job_class, count(*) AS jobs,
          count(*) / sum(count(*)) OVER () AS job_share,
          coalesce(sum(nodes * run) / 3600.0, 0) AS node_hours,
          coalesce(sum(nodes * run) / sum(sum(nodes * run)) OVER (), 0) AS node_hour_share,
          coalesce(sum(gpus * run) / 3600.0, 0) AS gpu_hours,
          median(run) AS run_median_s, avg(run) AS run_mean_s,
          median(wait) AS wait_median_s, avg(wait) AS wait_mean_s,
          median(nodes) AS nodes_median, avg(nodes) AS nodes_mean
        FROM {t.view} GROUP BY 1 ORDER BY 1""").df()


def state_mix(t):
    """Per class x final state: jobs, share of the class's jobs, node-hours."""
    c = _cls(t)
    return t.con.sql(f"""SELECT {c} AS job_class, state, count(*) AS jobs,
          count(*) / sum(count(*)) OVER (PARTITION BY {c}) AS share,
          coalesce(sum(nodes * run) / 3600.0, 0) AS node_hours
        FROM {t.view} GROUP BY 1, 2 ORDER BY 1, jobs DESC, state""").df()  # state: ties in the same order every run


def _fail_cols(prefix: str = "") -> str:
    parts = [f"count(*) FILTER (WHERE state = '{s}') AS {s.lower()}" for s in ("COMPLETED", *FAIL_STATES)]
    parts.append("count(*) FILTER (WHERE state = 'FAILED') / count(*) AS failed_rate")
    parts.append("count(*) FILTER (WHERE state = 'TIMEOUT') / count(*) AS timeout_rate")
    parts.append("count(*) FILTER (WHERE state <> 'COMPLETED') / count(*) AS not_completed_rate")
    return ", ".join(parts)


def failure_rates(t):
    """Per class (and 'all'): counts per state and FAILED / TIMEOUT / not-COMPLETED rates among
    jobs with a known state."""
    c = _cls(t)
    return t.con.sql(f"""SELECT {c} AS job_class, count(*) AS jobs_known_state, {_fail_cols()}
          FROM {t.view} WHERE state <> 'UNKNOWN' GROUP BY 1
        UNION ALL
        SELECT 'all', count(*), {_fail_cols()} FROM {t.view} WHERE state <> 'UNKNOWN'
          HAVING count(*) > 0
        ORDER BY 1""").df()


def failure_by_hour(t):
    """Per class x hour of day (UTC, of submit): jobs, FAILED and not-COMPLETED rates."""
    c = _cls(t)
    return t.con.sql(f"""SELECT {c} AS job_class, CAST(floor(submit / 3600) % 24 AS INTEGER) AS hour,
          count(*) AS jobs,
          count(*) FILTER (WHERE state = 'FAILED') / count(*) AS failed_rate,
          count(*) FILTER (WHERE state <> 'COMPLETED') / count(*) AS not_completed_rate
        FROM {t.view} WHERE state <> 'UNKNOWN' GROUP BY 1, 2 ORDER BY 1, 2""").df()


def _metrics(t) -> dict:
    return {name: col for name, col in METRICS.items() if name != "wait" or t.waits_known}


def distributions(t):
    """Per class x metric (run s, wait s, nodes, cores): n, mean, quantiles, max.

    One scan for all metrics (the aggregates skip NULLs, i.e. jobs that never started)."""
    import pandas as pd

    c = _cls(t)
    qs = "[" + ", ".join(str(q) for q in QUANTILES) + "]"
    mets = _metrics(t)
    aggs = ", ".join(f"count({col}), avg({col}), quantile_cont({col}, {qs}), max({col})" for col in mets.values())
    res = t.con.sql(f"SELECT {c} AS job_class, {aggs} FROM {t.view} GROUP BY 1 ORDER BY 1").fetchall()
    rows = []
    for k, name in enumerate(mets):
        for r in res:
            n, mean, q, mx = r[1 + 4 * k : 5 + 4 * k]
            if not n:
                continue
            row = {"job_class": r[0], "metric": name, "n": int(n), "mean": mean, "max": mx}
            row.update({f"p{round(p * 100)}": float(v) for p, v in zip(QUANTILES, q, strict=False)})
            rows.append(row)
    return pd.DataFrame(
        rows, columns=["job_class", "metric", "n", "mean", "max"] + [f"p{round(p * 100)}" for p in QUANTILES]
    )


def ecdfs(t):
    """Per class x metric: the value at each probability 0, 0.01, ..., 1 (the inverse ECDF)."""
    import pandas as pd

    c = _cls(t)
    probs = "[" + ", ".join(str(p) for p in ECDF_PROBS) + "]"
    mets = _metrics(t)
    aggs = ", ".join(f"quantile_disc({col}, {probs})" for col in mets.values())
    rows = []
    res = t.con.sql(f"SELECT {c}, {aggs} FROM {t.view} GROUP BY 1 ORDER BY 1").fetchall()
    for k, name in enumerate(mets):
        for r in res:
            if r[1 + k] is not None:
                rows += [(r[0], name, p, float(v)) for p, v in zip(ECDF_PROBS, r[1 + k], strict=False)]
    return pd.DataFrame(rows, columns=["job_class", "metric", "prob", "value"])


def arrivals_hourly(t):
    """Submissions per class per clock hour (UTC), empty hours included as 0."""
    c = _cls(t)
    return t.con.sql(f"""WITH b AS (SELECT CAST(floor(min(submit) / 3600) AS BIGINT) AS h0,
                                      CAST(floor(max(submit) / 3600) AS BIGINT) AS h1 FROM {t.view}),
          hrs AS (SELECT unnest(range(h0, h1 + 1)) AS h FROM b),
          cls AS (SELECT DISTINCT {c} AS job_class FROM {t.view}),
          cnt AS (SELECT {c} AS job_class, CAST(floor(submit / 3600) AS BIGINT) AS h, count(*) AS jobs
                  FROM {t.view} GROUP BY 1, 2)
        SELECT cls.job_class, hrs.h * 3600.0 AS hour_start, coalesce(cnt.jobs, 0) AS jobs
        FROM hrs CROSS JOIN cls LEFT JOIN cnt ON cnt.h = hrs.h AND cnt.job_class = cls.job_class
        ORDER BY 1, 2""").df()


def arrival_profile(t):
    """Mean submissions per hour of day and per weekday (0 = Monday), UTC, per class."""
    c = _cls(t)
    days = max(1.0, float(t.scalar("SELECT (max(submit) - min(submit)) / 86400.0 FROM {jobs}") or 1.0))
    hod = t.con.sql(f"""SELECT {c} AS job_class, 'hour_of_day' AS profile,
          CAST(floor(submit / 3600) % 24 AS INTEGER) AS slot,
          count(*) / {days} AS jobs_per_day FROM {t.view} GROUP BY 1, 3 ORDER BY 1, 3""").df()
    dow = t.con.sql(f"""SELECT {c} AS job_class, 'weekday' AS profile,
          CAST((floor(submit / 86400) + 3) % 7 AS INTEGER) AS slot,
          count(*) / {max(days / 7.0, 1.0)} AS jobs_per_day FROM {t.view} GROUP BY 1, 3 ORDER BY 1, 3""").df()
    import pandas as pd

    return pd.concat([hod, dow], ignore_index=True)


def burstiness(t, hourly=None):
    """Per class: inter-arrival mean and coefficient of variation (CV = 1 for a Poisson process,
    > 1 bursty), and the index of dispersion (variance / mean) of hourly and daily counts
    (1 for Poisson), empty hours and days included."""
    import pandas as pd

    c = _cls(t)
    ia = t.con.sql(f"""WITH d AS (SELECT {c} AS job_class,
            submit - lag(submit) OVER (PARTITION BY {c} ORDER BY submit) AS gap FROM {t.view})
        SELECT job_class, count(gap) AS gaps, avg(gap) AS interarrival_mean_s,
               stddev_samp(gap) / nullif(avg(gap), 0) AS interarrival_cv
        FROM d GROUP BY 1 ORDER BY 1""").df()
    hourly = arrivals_hourly(t) if hourly is None else hourly
    rows = []
    for cls, g in hourly.groupby("job_class"):
        h = g["jobs"].to_numpy(dtype=float)
        d = np.add.reduceat(h, np.arange(0, len(h), 24)) if len(h) else h
        rows.append(
            {
                "job_class": cls,
                "hourly_dispersion": float(h.var(ddof=1) / h.mean()) if len(h) > 1 and h.mean() > 0 else np.nan,
                "daily_dispersion": float(d.var(ddof=1) / d.mean()) if len(d) > 1 and d.mean() > 0 else np.nan,
                "peak_hour_jobs": int(h.max()) if len(h) else 0,
            }
        )
    return ia.merge(pd.DataFrame(rows), on="job_class", how="left")


@dataclass
class WorkloadStats:
    """All characterisation tables of one job table (see each function for the columns)."""

    overview: dict
    classes: object
    states: object
    failures: object
    failures_by_hour: object
    distributions: object
    ecdf: object
    arrivals: object
    arrival_profile: object
    burstiness: object
    notes: list = field(default_factory=list)

    def frames(self) -> dict:
        return {
            "classes": self.classes,
            "state_mix": self.states,
            "failure_rates": self.failures,
            "failure_by_hour": self.failures_by_hour,
            "distributions": self.distributions,
            "ecdf": self.ecdf,
            "arrivals_hourly": self.arrivals,
            "arrival_profile": self.arrival_profile,
            "burstiness": self.burstiness,
        }


def characterize(t) -> WorkloadStats:
    """Every statistic above for table ``t`` (with ``job_class`` if :meth:`JobTable.with_classes` ran)."""
    notes = []
    if not t.states_known:
        notes.append("the input records no final job states: state mix and failure rates are not available")
    if not t.waits_known:
        notes.append("the input records no start times separate from submit: wait times are not available")
    hourly = arrivals_hourly(t)
    return WorkloadStats(
        overview=overview(t),
        classes=class_summary(t),
        states=state_mix(t),
        failures=failure_rates(t),
        failures_by_hour=failure_by_hour(t),
        distributions=distributions(t),
        ecdf=ecdfs(t),
        arrivals=hourly,
        arrival_profile=arrival_profile(t),
        burstiness=burstiness(t, hourly),
        notes=notes,
    )
