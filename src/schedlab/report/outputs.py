"""The one writer: the output folders every command writes (summary.json, each table as Parquet
and CSV, plots) and every file in them, written so that a result on disk can be trusted.

Files.  A file is written to a temporary name in its own folder and renamed over the target
(:func:`atomic_path`), so a reader never sees half a file and an interrupted write leaves the old
file in place.  A target that is a symbolic link is refused: nothing is written through a link.

Folders (``--out``).  :func:`prepare_out` checks the folder *before* the work starts, so a long run
is never lost at the end: a symbolic link, a file, a parent that cannot be created or written
(a probe folder is created and removed), or a non-empty folder that schedlab did not write
(without ``force``) is refused with a :class:`~schedlab.errors.SchedlabError`.  The results are
then written into a hidden temporary folder beside it (``.NAME.schedlab-tmp-XXXX``, same parent)
and moved into place only when complete (:meth:`OutputFolder.write`), with the marker
``.schedlab-run.json`` (schedlab version, command, time) written last.  A folder that holds an
earlier run is replaced as a whole: the old one is moved aside, the new one moved in, then the old
one deleted, so no earlier file survives beside the new ones.  On an error or Ctrl-C the temporary
folder is removed and ``--out`` is as it was.  Recognised as an earlier run: a folder with the
marker.  Not replaced without ``force``: a folder without it (someone else's files) and a training
run (``run.json``: its model and checkpoints are costly).  With ``force`` those are replaced too,
only ever ``--out`` itself and only once the new results are complete; the current folder, a
folder above it and the home folder are never replaced.

A command that must write while it works (``schedlab train``: checkpoints it can resume from)
uses :meth:`OutputFolder.progressive` instead: each file atomic, and the marker written last,
when the run has finished; a folder without it is a run under way or stopped.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schedlab.errors import SchedlabError

#: The file that marks a folder as a finished schedlab run (written last).
MARKER = ".schedlab-run.json"
#: A training run's own record; a folder with it is a training run (see ``schedlab.rl.training``).
TRAINING_RUN = "run.json"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed onto ``path`` when the block ends without error."""
    path = Path(path)
    if path.is_symlink():
        raise SchedlabError(f"refusing to write through a symbolic link: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file (mkstemp makes it private)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding=encoding, newline="")
    return Path(path)


def json_safe(obj):
    """``obj`` with every non-finite float (NaN, ±inf) replaced by None, recursively, and numpy
    scalars as Python numbers: what strict JSON readers accept."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kw) -> str:
    """Strict JSON (no NaN/Infinity: see :func:`json_safe`)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kw)


def write_json(path: Path, obj, indent: int | None = 2, **kw) -> Path:
    return write_text(path, dumps(obj, indent=indent, **kw))


def write_csv(path: Path, df, **kw) -> Path:
    """``df`` as CSV at ``path``, atomically (gzip-compressed when the name ends in ``.gz``)."""
    path = Path(path)
    kw.setdefault("index", False)
    if path.name.endswith(".gz"):
        kw.setdefault("compression", "gzip")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kw)
    return path


def write_frame(out: Path, name: str, df) -> list[str]:
    """``df`` as ``out/name.parquet`` and ``out/name.csv``; the two paths."""
    pq, csv = Path(out) / f"{name}.parquet", Path(out) / f"{name}.csv"
    with atomic_path(pq) as tmp:
        df.to_parquet(tmp, index=False)
    write_csv(csv, df)
    return [str(pq), str(csv)]


def write_outputs(out: Path, summary: dict, frames: dict, plots) -> list[str]:
    """Write ``frames`` (name -> DataFrame), ``plots`` (callables that draw one PNG each and return
    its path) and, last, ``summary`` as summary.json into ``out``.  Returns every path written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in frames.items():
        written += write_frame(out, name, df)
    for make in plots:
        written.append(str(make()))
    written.append(str(write_json(out / "summary.json", summary)))
    return written


# --- output folders --------------------------------------------------------------------------------
def refuse_links(folder: Path) -> None:
    """Raise if ``folder`` or anything below it is a symbolic link: a folder that schedlab fills
    file by file (a dataset's folder) is never written through a link."""
    folder = Path(folder)
    if folder.is_symlink():
        raise SchedlabError(f"refusing to write into {folder}: it is a symbolic link")
    if not folder.exists():
        return
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                raise SchedlabError(
                    f"refusing to write into {folder}: {os.path.join(root, name)} is a symbolic link "
                    "(schedlab never writes through links; remove it)"
                )


def is_run(folder: Path) -> bool:
    """Whether ``folder`` holds a finished schedlab run (its marker, a plain file)."""
    marker = Path(folder) / MARKER
    return marker.is_file() and not marker.is_symlink()


def is_training_run(folder: Path) -> bool:
    info = Path(folder) / TRAINING_RUN
    return info.exists() or info.is_symlink()


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return next(it, None) is None


def _sibling(out: Path, tag: str) -> Path:
    """A new hidden name beside ``out``: ``.NAME.schedlab-TAG-XXXXXXXX``."""
    while True:
        p = out.parent / f".{out.name}.schedlab-{tag}-{secrets.token_hex(4)}"
        if not os.path.lexists(p):
            return p


def _check_parent(out: Path) -> None:
    """The nearest existing folder above ``out`` must be a folder schedlab can write in: a probe
    folder is created there and removed."""
    above = out.parent
    while not os.path.lexists(above):
        above = above.parent
    if not above.is_dir():
        raise SchedlabError(f"cannot write --out {out}: {above} is a file, not a folder")
    try:
        probe = Path(tempfile.mkdtemp(prefix=f".{out.name}.schedlab-probe-", dir=above))
        probe.rmdir()
    except OSError as exc:
        raise SchedlabError(f"cannot write --out {out}: {above} is not writable ({exc.strerror or exc})") from None


def _check_replaceable(out: Path, force: bool, resume: bool) -> None:
    """An existing, non-empty ``out``: what may be replaced (see the module doc)."""
    here, real = Path.cwd().resolve(), out.resolve()
    if not resume and (real == here or real in here.parents or real == Path.home().resolve()):
        raise SchedlabError(
            f"--out {out} is the current folder, a folder above it or the home folder; schedlab replaces an output "
            "folder as a whole, so give a folder of its own (e.g. --out results/run1)"
        )
    if is_training_run(out):
        if not (resume or force):
            raise SchedlabError(
                f"{out} already holds a training run; continue it with --resume (train), give another --out, or "
                "add --force to replace it"
            )
    elif not (resume or force or is_run(out)):
        raise SchedlabError(
            f"--out {out} is not empty and holds no schedlab output (no {MARKER}); give a new or empty folder, or "
            "add --force to replace it (its contents are deleted once the new results are complete)"
        )


def prepare_out(out: Path | str, force: bool = False, command: str = "", resume: bool = False) -> OutputFolder:
    """``out`` checked before any work (see the module doc); raises SchedlabError with a message
    in terms of ``--out``/``--force``.  ``resume``: a training run there is continued, not replaced."""
    out = Path(os.path.abspath(Path(out).expanduser()))
    if out.parent == out:
        raise SchedlabError(f"--out {out} is a filesystem root; give a folder of its own")
    if out.is_symlink():
        raise SchedlabError(
            f"--out {out} is a symbolic link; outputs are never written through links: give the folder it points "
            "to, or another one"
        )
    if os.path.lexists(out) and not out.is_dir():
        raise SchedlabError(f"--out {out} is a file, not a folder")
    _check_parent(out)
    if out.is_dir() and not _is_empty(out):
        _check_replaceable(out, force, resume)
    return OutputFolder(out, force, command, resume)


@dataclass(frozen=True)
class OutputFolder:
    """A checked ``--out`` (make one with :func:`prepare_out`)."""

    path: Path
    force: bool = False
    command: str = ""
    resume: bool = False

    def marker(self) -> dict:
        from schedlab import __version__

        return {"schedlab": __version__, "command": self.command, "finished": datetime.now(UTC).isoformat()}

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """A new temporary folder beside ``path``; moved into place (replacing an earlier run) when
        the block ends without error, removed on an error or interrupt."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _sibling(self.path, "tmp")
        os.mkdir(tmp)
        try:
            yield tmp
            write_json(tmp / MARKER, self.marker())
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._commit(tmp)

    def write(self, fill: Callable[[Path], Iterable]) -> list[str]:
        """``fill(folder)`` writes the results into a temporary folder (returning the paths it
        wrote); the folder then replaces ``path``.  Returns those paths as they are under ``path``."""
        with self.writing() as tmp:
            written = list(fill(tmp))
        return [str(self.path / Path(p).relative_to(tmp)) for p in written]

    def _commit(self, tmp: Path) -> None:
        """Move ``tmp`` to ``path``; an earlier folder there is moved aside, then deleted.  If that
        cannot be done (``path`` changed since it was checked), the results stay in ``tmp``."""
        out = self.path
        try:
            if os.path.lexists(out):
                if out.is_symlink() or not out.is_dir():
                    raise SchedlabError(f"--out {out} became a link or a file while schedlab ran")
                if not _is_empty(out):
                    _check_replaceable(out, self.force, resume=False)
                old = _sibling(out, "old")
                os.rename(out, old)
                try:
                    os.rename(tmp, out)
                except BaseException:
                    os.rename(old, out)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, out)
        except (OSError, SchedlabError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SchedlabError(f"could not move the results into {out} ({why}); they are kept in {tmp}") from None

    @contextmanager
    def progressive(self) -> Iterator[Path]:
        """``path`` itself, for a command that writes while it works (each file atomically); the
        marker is written last, when the block ends without error (a resumed run's marker is removed
        first).  An earlier folder (allowed by :func:`prepare_out`, not resumed) is moved aside first
        and deleted at the end; if the block fails with nothing written, it is moved back (if it
        fails later, the earlier folder stays beside it as ``.NAME.schedlab-old-XXXX``)."""
        out = self.path
        old = None
        if out.is_dir() and not self.resume and not _is_empty(out):
            old = _sibling(out, "old")
            os.rename(out, old)
        created = not os.path.lexists(out)
        out.mkdir(parents=True, exist_ok=True)
        if is_training_run(out):
            (out / MARKER).unlink(missing_ok=True)  # a resumed run is unfinished until it ends
        try:
            yield out
        except BaseException:
            if created and _is_empty(out):  # nothing written: as it was
                out.rmdir()
                if old is not None:
                    os.rename(old, out)
            raise
        write_json(out / MARKER, self.marker())
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def output_folder(out: Path | str, force: bool = False, command: str = "") -> Iterator[Path]:
    """Check ``out`` and yield a temporary folder to fill; it replaces ``out`` when complete."""
    with prepare_out(out, force, command).writing() as tmp:
        yield tmp


__all__ = [
    "MARKER",
    "OutputFolder",
    "atomic_path",
    "dumps",
    "is_run",
    "is_training_run",
    "json_safe",
    "output_folder",
    "prepare_out",
    "refuse_links",
    "write_csv",
    "write_frame",
    "write_json",
    "write_outputs",
    "write_text",
]
