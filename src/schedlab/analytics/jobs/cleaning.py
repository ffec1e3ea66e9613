"""Counted cleaning, in SQL so that it also runs lazily over Parquet: every rule that drops or
rewrites a job is counted in the :class:`CleaningReport`."""

from __future__ import annotations

from schedlab.analytics.jobs.hostlist import expand_hostlist
from schedlab.errors import HostlistError, JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.schema import STATES


def _clean(con, staged: str, name: str, report: CleaningReport, materialize: bool = True) -> None:
    """Create view ``name`` from relation ``staged`` applying the documented rules, counting each.

    Drop rules run in order (a job is counted under the first that removes it): no id or submit
    time; end before start (negative runtime); started but no end (still running); duplicate id
    (the earliest submit is kept).  Rewrites: start before submit -> wait 0; nodes missing -> 1;
    cores < 0 -> NULL (unknown); gpus < 0 -> 0; unknown state -> UNKNOWN.  The readers count their
    own rewrites (negative times -> missing, negative time limits -> NULL) and refuse values that
    are not numbers, not finite, fractional counts or out of range.  Jobs that never started stay
    (state counts) without runtime/wait.

    ``staged`` has a unique row number ``_row``.  Only the rows dropped as duplicates are stored
    (a temp table of their ``_row``, usually empty); with ``materialize=False`` the cleaned table
    is a view over ``staged`` (a Parquet scan), so nothing of size O(table) is held in memory and
    each statistic re-scans the file; with ``materialize=True`` it is a DuckDB temp table (columnar,
    spilled to the temp directory past the memory limit), which makes the statistics faster.
    """
    states = ", ".join(f"'{s}'" for s in STATES)
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {name}_flag0 AS
        SELECT *, CASE
          WHEN job_id IS NULL OR submit IS NULL OR isnan(submit) THEN 'with no job id or submit time'
          WHEN start IS NOT NULL AND NOT isnan(start) AND "end" IS NOT NULL AND "end" < start
               THEN 'with end before start (negative runtime)'
          WHEN start IS NOT NULL AND NOT isnan(start) AND ("end" IS NULL OR isnan("end"))
               THEN 'still running (start but no end time)'
          ELSE NULL END AS _drop
        FROM {staged}""")
    # duplicates: a (spillable) hash aggregate finds the repeated ids, a window over those rows
    # alone picks the ones to drop; only their row numbers are kept
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name}_dups AS
      WITH d AS (SELECT job_id FROM {name}_flag0 WHERE _drop IS NULL GROUP BY job_id HAVING count(*) > 1),
           r AS (SELECT _row, row_number() OVER (PARTITION BY job_id ORDER BY submit, start NULLS LAST, _row) AS rn
                 FROM {name}_flag0 WHERE _drop IS NULL AND job_id IN (SELECT job_id FROM d))
      SELECT _row FROM r WHERE rn > 1""")
    n_dups = int(con.sql(f"SELECT count(*) FROM {name}_dups").fetchone()[0])
    if n_dups:
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {name}_flag AS
          SELECT f.*, CASE WHEN _drop IS NOT NULL THEN _drop WHEN d._row IS NOT NULL
                           THEN 'duplicate job id (first kept)' ELSE NULL END AS _why
          FROM {name}_flag0 f LEFT JOIN {name}_dups d ON f._row = d._row""")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_flag AS SELECT *, _drop AS _why FROM {name}_flag0")
    c = con.sql(f"""SELECT count(*),
        count(*) FILTER (WHERE _why IS NULL AND start IS NOT NULL AND NOT isnan(start) AND start < submit),
        count(*) FILTER (WHERE _why IS NULL AND (start IS NULL OR isnan(start))),
        count(*) FILTER (WHERE _why IS NULL AND (nodes IS NULL OR nodes < 1)),
        count(*) FILTER (WHERE _why IS NULL AND state NOT IN ({states})),
        count(*) FILTER (WHERE _why IS NULL),
        count(*) FILTER (WHERE _why IS NULL AND cores < 0),
        count(*) FILTER (WHERE _why IS NULL AND gpus < 0)
      FROM {name}_flag""").fetchone()
    total, neg_wait, never, no_nodes, odd_state, kept, neg_cores, neg_gpus = (int(v or 0) for v in c)
    if not report.read:
        report.read = total
    for why, n in con.sql(
        f"SELECT _why, count(*) FROM {name}_flag WHERE _why IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall():
        report.drop(why, int(n))
    report.change("started before submit -> wait 0 (submit := start)", neg_wait)
    report.change("never started (no start time): kept for state counts, left out of runtime/wait/energy", never)
    report.change("nodes missing or < 1 -> 1", no_nodes)
    report.change("unrecognised state -> UNKNOWN", odd_state)
    report.change("cores < 0 -> unknown (NULL)", neg_cores)
    report.change("gpus < 0 -> 0", neg_gpus)
    kind = "TABLE" if materialize else "VIEW"
    con.execute(f"""CREATE OR REPLACE TEMP {kind} {name} AS
      WITH k AS (SELECT *, start IS NULL OR isnan(start) AS _ns FROM {name}_flag WHERE _why IS NULL)
      SELECT job_id, "user", partition, node_type,
             CASE WHEN NOT _ns AND start < submit THEN start ELSE submit END AS submit,
             CASE WHEN _ns THEN NULL ELSE start END AS start,
             CASE WHEN _ns THEN NULL ELSE "end" END AS "end",
             CASE WHEN nodes IS NULL OR nodes < 1 THEN 1 ELSE nodes END AS nodes,
             CASE WHEN cores < 0 THEN NULL ELSE cores END AS cores,
             CASE WHEN gpus < 0 THEN 0 ELSE coalesce(gpus, 0) END AS gpus, time_limit,
             CASE WHEN state IN ({states}) THEN state ELSE 'UNKNOWN' END AS state,
             exit_code, nodelist, account, qos, cpus, mem_per_node, gpu_type, gpu_share, nice,
             CASE WHEN _ns THEN NULL ELSE start - least(start, submit) END AS wait,
             CASE WHEN _ns THEN NULL ELSE "end" - start END AS run
      FROM k""")
    report.kept = kept
    if kept == 0:
        raise JobFormatError(f"{report.source}: no jobs left to analyse ({report.summary()})")


def _check_hostlists(con, view: str, path: str, report: CleaningReport, lenient: bool) -> list[str]:
    """Parse every distinct node list once; bad ones raise (or, lenient, are cleared and counted)."""
    vals = [r[0] for r in con.sql(f"SELECT DISTINCT nodelist FROM {view} WHERE nodelist IS NOT NULL").fetchall()]
    bad = []
    for v in vals:
        try:
            expand_hostlist(v)
        except HostlistError as exc:
            if not lenient:
                row = con.execute(f"SELECT job_id FROM {view} WHERE nodelist = ? LIMIT 1", [v]).fetchone()[0]
                raise HostlistError(
                    f"{path}: job {row}: {exc} (use --lenient to clear such node lists and count them)"
                ) from None
            bad.append(v)
    if bad:
        n = con.execute(f"SELECT count(*) FROM {view} WHERE list_contains(?, nodelist)", [bad]).fetchone()[0]
        report.change("unparseable node list cleared (job kept; no per-node energy)", int(n))
        bad_sql = "[" + ", ".join("'" + b.replace("'", "''") + "'" for b in bad) + "]"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view}_h AS SELECT * REPLACE "
            f"(CASE WHEN list_contains({bad_sql}, nodelist) THEN NULL ELSE nodelist END AS nodelist) FROM {view}"
        )
    return bad
