"""Every ``schedlab data fetch`` target through the one downloader, served from 127.0.0.1.

The upstream trees are the self-written fixtures of the converter tests; their hashes are pinned
here in place of the real ones, so the fetch runs verified end to end and the converted CSVs must
be the same as converting the fixture files directly.
"""

from __future__ import annotations

import gzip
import inspect
import shutil
import tarfile

import numpy as np
import pandas as pd
import pytest

from schedlab.datasets.download import ChecksumMismatch, UnverifiedDownload, sha256_of
from schedlab.datasets.registry import FETCHERS
from schedlab.elastic import data as bft
from schedlab.energy import data as D
from schedlab.energy.data import sources
from tests.energy.test_data import make_ecosched_tree, make_open_tree


def _hashes(root):
    return {str(p.relative_to(root)): sha256_of(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _content(path):
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _same_outputs(fetched, converted):
    assert sorted(p.name for p in converted) == sorted(p.name for p in fetched.iterdir() if p.is_file())
    for p in converted:
        assert _content(fetched / p.name) == _content(p), p.name


def test_fetch_ecosched_verified(upstream, tmp_path, monkeypatch):
    make_ecosched_tree(upstream.root)
    monkeypatch.setattr(sources, "ECOSCHED_BASE", upstream.url)
    monkeypatch.setattr(sources, "ECOSCHED_SHA256", _hashes(upstream.root))
    msgs = []
    out = D.fetch_ecosched(tmp_path / "dest", progress=msgs.append)
    assert out == tmp_path / "dest" / "ecosched"
    assert len(upstream.requests) == len(D.ecosched_paths())
    assert msgs[0] == f"downloading {len(D.ecosched_paths())} files from {upstream.url}"
    _same_outputs(out, D.convert_ecosched(upstream.root, tmp_path / "direct"))

    D.fetch_ecosched(tmp_path / "dest")  # everything cached and matching: nothing asked for
    assert len(upstream.requests) == len(D.ecosched_paths())


def test_fetch_ecosched_tampered_file(upstream, tmp_path, monkeypatch):
    make_ecosched_tree(upstream.root)
    monkeypatch.setattr(sources, "ECOSCHED_BASE", upstream.url)
    monkeypatch.setattr(sources, "ECOSCHED_SHA256", _hashes(upstream.root))
    path = "GPGPU/coSched/data/H100/perf_metrics.txt"
    with open(upstream.root / path, "a") as fh:
        fh.write("\n")
    with pytest.raises(ChecksumMismatch, match=rf"{path}: .*expected [0-9a-f]{{64}}, got [0-9a-f]{{64}}"):
        D.fetch_ecosched(tmp_path / "dest")
    assert not (tmp_path / "dest" / "ecosched" / "app_profiles.csv").exists()


def test_fetch_ecosched_unverified_needs_opt_in(upstream, tmp_path, monkeypatch):
    make_ecosched_tree(upstream.root)
    monkeypatch.setattr(sources, "ECOSCHED_BASE", upstream.url)  # the shipped table: no hash known
    with pytest.raises(UnverifiedDownload):
        D.fetch_ecosched(tmp_path / "dest")
    assert upstream.requests == []
    out = D.fetch_ecosched(tmp_path / "dest", allow_unverified=True)
    _same_outputs(out, D.convert_ecosched(upstream.root, tmp_path / "direct"))


def test_fetch_open_a100_verified(upstream, tmp_path, monkeypatch):
    make_open_tree(upstream.root)  # lammps (130, 220) has no GPU file: a 404 on an optional file
    monkeypatch.setattr(sources, "OPEN_BASE", upstream.url)
    monkeypatch.setattr(sources, "OPEN_SHA256", _hashes(upstream.root))
    msgs = []
    out = D.fetch_open_a100(tmp_path / "dest", progress=msgs.append)
    assert any("1 per-pair series files are absent upstream" in m for m in msgs)
    _same_outputs(out, D.convert_open_a100(upstream.root, tmp_path / "direct"))


# ------------------------------------------------------------------------------------------ BFTrainer


def make_bftrainer_upstream(root):
    """A 4-node, 5-event node map and three tiny job sets in BFTrainer's pickle / npy formats."""
    idx = pd.to_datetime(["2021-02-10 00:08:52", "2021-02-10 00:09:02", "2021-02-10 00:09:32"])
    idx = idx.append(pd.to_datetime(["2021-02-10 00:10:02", "2021-02-10 00:11:12"]))
    states = [[0, 0, 0, 0], [1, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    dense = pd.DataFrame(np.array(states, np.int8), index=idx, columns=["c00n01", "c00n02", "c00n03", "c00n04"])
    dense.to_pickle(root / "ndstat-10sdn6-evt.pkl")
    with tarfile.open(root / "ndstat-10sdn6-evt.tar.gz", "w:gz") as tar:
        tar.add(root / "ndstat-10sdn6-evt.pkl", arcname="ndstat-10sdn6-evt.pkl")
    (root / "ndstat-10sdn6-evt.pkl").unlink()
    for stem, ids in (
        ("ImageNet-imgps-{}-1001J.pkl", ["J00000-AlexNet", "J00001-vgg16"]),
        ("hps-shufflenet-{}-1000J.pkl", ["J00000", "J00001"]),
        ("hps-shufflenet-{}-10J.pkl", ["J00000"]),
    ):
        bnd = pd.DataFrame(
            {
                "Tcup": 18.0,
                "Tcdw": 12.0,
                "Jmin": 1,
                "Jmax": 4,
                "Pmax": 1000,
                "Tsub": pd.Timestamp("2021-02-10 00:09:02") + pd.to_timedelta(np.arange(len(ids)) * 36, "s"),
            },
            index=ids,
        )
        nps = pd.DataFrame({"Ns": [[0, 1, 2, 4]] * len(ids), "Ps": [[0.0, 10.0, 19.0, 35.5]] * len(ids)}, index=ids)
        bnd.to_pickle(root / stem.format("Jbnd"))
        nps.to_pickle(root / stem.format("JNPs"))
    np.save(root / "fragments.npy", np.array([70, 475, 1205], dtype=np.int64))
    return root


def test_fetch_bftrainer_verified(upstream, tmp_path, monkeypatch):
    make_bftrainer_upstream(upstream.root)
    monkeypatch.setattr(bft, "SOURCES", {name: upstream.url + name for name in bft.SOURCES})
    monkeypatch.setattr(bft, "SHA256", {name: sha256_of(upstream.root / name) for name in bft.SOURCES})
    msgs = []
    out = bft.fetch_bftrainer(tmp_path / "dest", progress=msgs.append)
    assert msgs == [f"downloading {upstream.url}{name}" for name in bft.SOURCES]
    direct = tmp_path / "direct_raw"
    shutil.copytree(upstream.root, direct)
    _same_outputs(out, bft.convert_bftrainer(direct, tmp_path / "direct", allow_unverified=True))
    assert pd.read_csv(out / "node_state_changes.csv.gz").shape == (8, 3)

    bad = dict(bft.SHA256, **{"fragments.npy": "0" * 64})
    monkeypatch.setattr(bft, "SHA256", bad)
    with pytest.raises(ChecksumMismatch, match=r"fragments\.npy"):
        bft.fetch_bftrainer(tmp_path / "dest")  # the cached copy does not match the pin: fetched and refused


def test_fetch_bftrainer_unverified_needs_opt_in(upstream, tmp_path, monkeypatch):
    make_bftrainer_upstream(upstream.root)
    monkeypatch.setattr(bft, "SOURCES", {name: upstream.url + name for name in bft.SOURCES})
    with pytest.raises(UnverifiedDownload, match="8 of 8"):
        bft.fetch_bftrainer(tmp_path / "dest")
    assert upstream.requests == []


# ------------------------------------------------------------------------------------------- registry


def test_every_fetch_target_goes_through_the_downloader():
    for name in ("bftrainer", "ecosched", "open_a100"):
        fetch = FETCHERS[name]()[0]
        assert "allow_unverified" in inspect.signature(fetch).parameters, name
        assert "fetch_files(" in inspect.getsource(fetch), name


def test_fetchers_shim_is_the_registry():
    from schedlab import fetchers

    assert fetchers.FETCHERS is FETCHERS
