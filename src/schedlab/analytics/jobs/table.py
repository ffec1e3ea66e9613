"""The cleaned job table: a DuckDB view of the canonical columns plus derived ``wait`` and ``run``."""

from __future__ import annotations

from dataclasses import dataclass, field

from schedlab.errors import ClassRuleError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.schema import JOB_COLUMNS


@dataclass
class JobTable:
    """A cleaned job table: a DuckDB view of :data:`JOB_COLUMNS` plus derived ``wait`` and ``run``.

    ``waits_known`` / ``states_known`` say whether the source records them at all (OpenDC traces
    have no start time and no final state); statistics on unknown fields are reported as such
    instead of as zeros.
    """

    con: object
    view: str
    source: str
    format: str
    cleaning: CleaningReport
    waits_known: bool = True
    states_known: bool = True
    timezone: str = "UTC"
    meta: dict = field(default_factory=dict)

    def sql(self, query: str):
        """Run ``query`` (``{jobs}`` is replaced by the view name) and return a DataFrame."""
        return self.con.sql(query.replace("{jobs}", self.view)).df()

    def scalar(self, query: str):
        return self.con.sql(query.replace("{jobs}", self.view)).fetchone()[0]

    def __len__(self) -> int:
        return int(self.scalar("SELECT count(*) FROM {jobs}"))

    def df(self):
        """Materialise the table as pandas, in submit order (small tables and tests; statistics use SQL)."""
        return self.sql("SELECT * FROM {jobs} ORDER BY submit, job_id")

    def with_classes(self, rule: str | None = None) -> JobTable:
        """A copy whose view adds ``job_class`` ('ml' or 'generic') from ``rule`` (see
        :func:`schedlab.analytics.characterize.class_expression`)."""
        from schedlab.analytics.characterize import class_expression

        expr = class_expression(rule)
        name = self.view + "_c"
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, {expr} AS job_class FROM {self.view}")
            self.con.sql(f"SELECT job_class FROM {name} LIMIT 1").fetchall()
        except Exception as exc:  # duckdb parser/binder errors
            raise ClassRuleError(
                f"--class-rule {rule!r} is not a valid expression over the job columns "
                f"({', '.join((*JOB_COLUMNS, 'wait', 'run'))}): {exc}"
            ) from None
        meta = dict(self.meta, class_rule=rule or "default", class_sql=expr)
        return JobTable(
            self.con,
            name,
            self.source,
            self.format,
            self.cleaning,
            self.waits_known,
            self.states_known,
            self.timezone,
            meta,
        )
