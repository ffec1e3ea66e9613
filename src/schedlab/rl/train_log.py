"""Training logs: ``train_log.csv`` (one row per PPO update) and, when installed, TensorBoard."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.report.outputs import write_text

#: Columns of ``train_log.csv``, in order.
FIELDS = [
    "update",
    "global_step",
    "stage",
    "episodes",
    "episode_bsld",
    "episode_wait",
    "episode_util",
    "episode_return",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clipfrac",
    "lr",
    "val_bsld",
    "val_ratio",
    "steps_per_s",
    "elapsed_s",
]


class TrainLog:
    """``out/train_log.csv`` and ``out/tensorboard`` (if tensorboard is installed).

    A fresh run starts the CSV (with row 0, the imitation warm start's validation, when given); a
    resumed run keeps the rows up to ``resume_update`` and drops later ones (they are redone).
    Starting it replaces the file atomically; after that it is append-only, one update's row in one
    write, so a killed run leaves whole rows (and a row cut short by a crash is dropped on resume).
    A symbolic link in its place is refused, never written through.
    """

    def __init__(self, out: Path, resume_update: int | None = None, warm_start: dict | None = None):
        self.path = Path(out) / "train_log.csv"
        if resume_update is not None and self.path.exists():
            with open(self.path, newline="") as f:
                kept = [r for r in csv.DictReader(f) if _whole(r) and int(r["update"]) <= resume_update]
            self._write_rows(kept)
        else:
            self._write_rows([warm_start] if warm_start else [])
        self.writer = _tensorboard(Path(out))

    def _write_rows(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
        write_text(self.path, buf.getvalue())

    def write(self, stats: dict) -> None:
        """Append one update's row; its finite numbers also go to TensorBoard at its global step."""
        buf = io.StringIO()
        csv.DictWriter(buf, fieldnames=FIELDS).writerow(stats)
        if self.path.is_symlink():
            raise SchedlabError(f"refusing to write through a symbolic link: {self.path}")
        with open(self.path, "a", newline="") as f:
            f.write(buf.getvalue())
        if self.writer is not None:
            for key, v in stats.items():
                if isinstance(v, float) and np.isfinite(v):
                    self.writer.add_scalar(key, v, stats["global_step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _whole(row: dict) -> bool:
    """A row with every column (one cut short by a crash lacks the last ones)."""
    return all(row.get(k) is not None for k in FIELDS) and None not in row


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional (pip install 'schedlab[tensorboard]')
        return None
    return SummaryWriter(str(out / "tensorboard"))


__all__ = ["FIELDS", "TrainLog"]
