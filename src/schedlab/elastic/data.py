"""Where the BFTrainer measurements live, and how to fetch and convert them.

The files have no licence of their own, so schedlab does not ship them.  They are looked up in
``--data-dir``, then ``$SCHEDLAB_DATA``, then the user cache that ``schedlab data fetch`` fills
(``~/.cache/schedlab/data``), then a ``shared/data`` folder beside a source checkout.

``schedlab data fetch bftrainer`` downloads the public originals (pandas pickles and a NumPy file in
the BFTrainer GitHub repositories, pinned to commits) and converts them losslessly into the CSV
layout the rest of :mod:`schedlab.elastic` reads.  Pickles run code when loaded: only the pinned
files from the two named repositories are unpickled.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.datasets import DataNotFound, cache_dir, find_dataset

REQUIRED = ("node_state_changes.csv.gz", "node_state_events.csv.gz", "trainer_scalability.csv")

REPLAYER = "https://raw.githubusercontent.com/BFTrainer/Replayer/515f0e500e34e4cc18e753b64ed000dd7b15f2ad/dataset/"
BFTRAINER = "https://raw.githubusercontent.com/BFTrainer/BFTrainer/77c38c8cfb8a14911831dce7a1104a5fa10d7832/"
SOURCES = {
    "ndstat-10sdn6-evt.tar.gz": REPLAYER + "ndstat-10sdn6-evt.tar.gz",
    "ImageNet-imgps-JNPs-1001J.pkl": REPLAYER + "ImageNet-imgps-JNPs-1001J.pkl",
    "ImageNet-imgps-Jbnd-1001J.pkl": REPLAYER + "ImageNet-imgps-Jbnd-1001J.pkl",
    "hps-shufflenet-JNPs-1000J.pkl": REPLAYER + "hps-shufflenet-JNPs-1000J.pkl",
    "hps-shufflenet-Jbnd-1000J.pkl": REPLAYER + "hps-shufflenet-Jbnd-1000J.pkl",
    "hps-shufflenet-JNPs-10J.pkl": REPLAYER + "hps-shufflenet-JNPs-10J.pkl",
    "hps-shufflenet-Jbnd-10J.pkl": REPLAYER + "hps-shufflenet-Jbnd-10J.pkl",
    "fragments.npy": BFTRAINER + "fragments.npy",
}
#: file -> SHA-256 of the file at the pinned commit.  None: not established (the downloader refuses
#: it unless ``allow_unverified=True``); fill in what ``sha256sum`` prints for the pinned file.
SHA256: dict[str, str | None] = dict.fromkeys(SOURCES)
#: (job pickle stem, output name) for the three trainer sets.
JOB_PICKLES = (
    ("ImageNet-imgps-{}-1001J.pkl", "trainer_jobs_imagenet_1001.csv"),
    ("hps-shufflenet-{}-1000J.pkl", "trainer_jobs_hps_shufflenet_1000.csv"),
    ("hps-shufflenet-{}-10J.pkl", "trainer_jobs_hps_shufflenet_10.csv"),
)


def bftrainer_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the BFTrainer CSVs (``<data>/bftrainer``), or a clear error."""
    return find_dataset("bftrainer", REQUIRED, data_dir, "run `schedlab data fetch bftrainer` or pass --data-dir")


# --------------------------------------------------------------------------------------------- fetch


def fetch_bftrainer(dest: Path | None = None, progress=None, allow_unverified: bool = False) -> Path:
    """Download the pinned originals and convert them into ``dest/bftrainer`` (default: the cache).

    The downloads go through :mod:`schedlab.datasets.download` (URL at a pinned commit, SHA-256 from
    :data:`SHA256`); files with no established hash are refused unless ``allow_unverified=True``.
    """
    from schedlab.datasets.download import PinnedFile, fetch_files

    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / "bftrainer" / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    files = [PinnedFile(name, url, SHA256.get(name)) for name, url in SOURCES.items()]
    fetch_files(files, raw, progress=progress, allow_unverified=allow_unverified, workers=1)
    convert_bftrainer(raw, dest / "bftrainer", allow_unverified=allow_unverified)
    return dest / "bftrainer"


# ------------------------------------------------------------------------------------------- convert


def _trusted(path: Path, allow_unverified: bool) -> Path:
    """``path`` if it may be unpickled: its SHA-256 equals the pinned one (:data:`SHA256`), or no hash
    is pinned and the caller trusts the file (``allow_unverified``).  Unpickling runs whatever code a
    file holds, so a pickle that is not the pinned upstream file is never read."""
    from schedlab.datasets.download import sha256_of
    from schedlab.errors import ChecksumMismatch, UnverifiedDownload

    pinned = SHA256.get(path.name)
    if pinned is None:
        if not allow_unverified:
            raise UnverifiedDownload(
                f"{path} is a pickle (reading it runs any code it holds) and its SHA-256 is not pinned; "
                "convert only BFTrainer's own files, and pass --allow-unverified to trust this copy"
            )
        return path
    got = sha256_of(path)
    if got != pinned:
        raise ChecksumMismatch(f"{path}: SHA-256 {got} is not the pinned {pinned}; refusing to unpickle it")
    return path


def _read_node_map(raw: Path, allow_unverified: bool = False) -> pd.DataFrame:
    pkl = raw / "ndstat-10sdn6-evt.pkl"
    if not pkl.exists():  # the archive is checked; its pickle is read from it in memory, never written out
        tar_path = _trusted(raw / "ndstat-10sdn6-evt.tar.gz", allow_unverified)
        with tarfile.open(tar_path) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(".pkl") and m.isfile()), None)
            if member is None:
                raise DataNotFound(f"{tar_path} holds no .pkl file (not BFTrainer's node-state archive)")
            return pd.read_pickle(io.BytesIO(tar.extractfile(member).read()))
    return pd.read_pickle(_trusted(pkl, allow_unverified))


def node_map_to_changes(dense: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """A dense events x nodes 0/1 map (1 = idle, DatetimeIndex) -> (changes, events, node names, meta).

    Every node is taken as busy before the first event, so a node idle at event 0 gets a change
    row at time 0 (the shipped map has no idle node at event 0).
    """
    values = dense.to_numpy(dtype=np.int8)
    t0 = dense.index[0]
    time_s = ((dense.index - t0).total_seconds()).to_numpy().astype(np.int64)
    prev = np.vstack([np.zeros((1, values.shape[1]), np.int8), values[:-1]])
    ev_row, node = np.nonzero(values != prev)
    changes = pd.DataFrame(
        {
            "time_s": time_s[ev_row],
            "node": node.astype(np.int64),
            "state": np.where(values[ev_row, node] == 1, "idle", "busy"),
        }
    )
    changes = changes.sort_values(["time_s", "node"], kind="stable").reset_index(drop=True)
    events = pd.DataFrame(
        {
            "event": np.arange(len(dense)),
            "time_s": time_s,
            "timestamp": dense.index.strftime("%Y-%m-%d %H:%M:%S"),
            "n_idle": values.sum(axis=1).astype(np.int64),
            "n_changed": (values != prev).sum(axis=1).astype(np.int64),
        }
    )
    events.loc[0, "n_changed"] = 0
    names = pd.DataFrame({"node": np.arange(values.shape[1]), "node_name": [str(c) for c in dense.columns]})
    meta = {
        "n_nodes": int(values.shape[1]),
        "n_events": len(dense),
        "n_state_changes": len(changes),
        "trace_start": str(t0),
        "trace_end": str(dense.index[-1]),
        "span_s": int(time_s[-1]),
        "state_before_first_change": "busy",
        "replay_start_event": 1000,
        "replay_start_time": str(dense.index[min(1000, len(dense) - 1)]),
        "replay_start_offset_s": int(time_s[min(1000, len(dense) - 1)]),
    }
    return changes, events, names, meta


def job_pickles_to_table(bounds: pd.DataFrame, scal: pd.DataFrame, trace_start: pd.Timestamp) -> pd.DataFrame:
    """BFTrainer's ``Jbnd`` (Tcup, Tcdw, Jmin, Jmax, Pmax, Tsub) and ``JNPs`` frames -> one job table."""
    models = [str(j).split("-", 1)[1] if "-" in str(j) else "shufflenet" for j in bounds.index]
    tsub = pd.to_datetime(bounds["Tsub"])
    return (
        pd.DataFrame(
            {
                "job_id": [str(j) for j in bounds.index],
                "model": models,
                "submit_time": tsub.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
                "submit_offset_s": ((tsub - trace_start).dt.total_seconds()).astype(np.int64).to_numpy(),
                "scale_up_cost_s": bounds["Tcup"].astype(float).to_numpy(),
                "scale_down_cost_s": bounds["Tcdw"].astype(float).to_numpy(),
                "min_nodes": bounds["Jmin"].astype(np.int64).to_numpy(),
                "max_nodes": bounds["Jmax"].astype(np.int64).to_numpy(),
                "total_work_samples": bounds["Pmax"].astype(np.int64).to_numpy(),
            }
        )
        .reset_index(drop=True)
        .assign(_ns=list(scal.loc[bounds.index, "Ns"]), _ps=list(scal.loc[bounds.index, "Ps"]))
    )


def _scalability_rows(jobs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model, g in jobs.groupby("model", sort=False):
        ns, ps = np.asarray(g["_ns"].iloc[0], float), np.asarray(g["_ps"].iloc[0], float)
        one = ps[list(ns).index(1)] if 1 in list(ns) else ps[ns > 0][0]
        rows += [
            {"model": model, "nodes": int(n), "throughput_samples_per_s": float(p), "speedup_vs_1_node": float(p / one)}
            for n, p in zip(ns, ps, strict=False)
        ]
    return pd.DataFrame(rows)


def convert_bftrainer(raw: Path, dest: Path, allow_unverified: bool = False) -> list[Path]:
    """Convert downloaded originals in ``raw`` into the CSV layout in ``dest``; return the files written.
    The originals are pandas pickles: each is read only if it is the pinned upstream file (or the
    caller trusts it: ``allow_unverified``), see :func:`_trusted`.  Each file is written atomically
    (a temporary name, then a rename): an interrupted conversion never leaves a truncated table."""
    from schedlab.report.outputs import write_csv, write_json

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    dense = _read_node_map(raw, allow_unverified)
    changes, events, names, meta = node_map_to_changes(dense)
    for frame, fname in ((changes, "node_state_changes.csv.gz"), (events, "node_state_events.csv.gz")):
        written.append(write_csv(dest / fname, frame))
    written += [write_csv(dest / "node_names.csv", names), write_json(dest / "node_state_meta.json", meta)]
    scal_rows = []
    for stem, out_name in JOB_PICKLES:
        bounds = pd.read_pickle(_trusted(raw / stem.format("Jbnd"), allow_unverified))
        scal = pd.read_pickle(_trusted(raw / stem.format("JNPs"), allow_unverified))
        jobs = job_pickles_to_table(bounds, scal, dense.index[0])
        scal_rows.append(_scalability_rows(jobs))
        written.append(write_csv(dest / out_name, jobs.drop(columns=["_ns", "_ps"])))
    scal = pd.concat(scal_rows).drop_duplicates(["model", "nodes"]).reset_index(drop=True)
    written.append(write_csv(dest / "trainer_scalability.csv", scal))
    frag = raw / "fragments.npy"
    if frag.exists():
        fragments = pd.DataFrame({"duration_s": np.load(frag, allow_pickle=False)})
        written.append(write_csv(dest / "idle_fragments.csv.gz", fragments))
    return written
