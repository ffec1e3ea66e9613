"""A counted record of what the cleaning rules did to a trace (nothing is dropped silently)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CleaningReport:
    """Counts per rule, in the order the rules ran.

    ``dropped`` rules removed jobs, ``changed`` rules rewrote a field, ``notes`` are trace-level
    facts (e.g. "MaxProcs missing: using MaxNodes = 256").
    """

    source: str = ""
    read: int = 0
    malformed_skipped: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kept: int = 0

    def drop(self, rule: str, count: int) -> None:
        if count:
            self.dropped[rule] = self.dropped.get(rule, 0) + int(count)

    def drop_where(self, keep, mask, rule: str) -> None:
        """Drop (set ``keep`` False for) the still-kept jobs where ``mask`` holds; count them."""
        mask = mask & keep
        self.drop(rule, int(mask.sum()))
        keep[mask] = False

    def change(self, rule: str, count: int) -> None:
        if count:
            self.changed[rule] = self.changed.get(rule, 0) + int(count)

    def summary(self) -> str:
        """One human line, e.g. "read 23,911 jobs; dropped 12 with runtime <= 0; kept 23,899"."""
        parts = [f"read {self.read:,} jobs"]
        if self.malformed_skipped:
            parts.append(f"skipped {self.malformed_skipped:,} malformed lines")
        parts += [f"dropped {n:,} {rule}" for rule, n in self.dropped.items()]
        parts += [f"{rule}: {n:,}" for rule, n in self.changed.items()]
        parts.append(f"kept {self.kept:,}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "read": self.read,
            "malformed_skipped": self.malformed_skipped,
            "dropped": dict(self.dropped),
            "changed": dict(self.changed),
            "notes": list(self.notes),
            "kept": self.kept,
        }
