"""``data fetch surf_lisa`` / ``marconi100``: OpenDC Parquet files, pinned by their real SHA-256."""

from __future__ import annotations

import pytest

from schedlab.datasets import opendc
from schedlab.datasets.download import sha256_of
from schedlab.datasets.find import data_roots
from schedlab.datasets.registry import FETCHERS
from schedlab.errors import ChecksumMismatch, UnverifiedDownload


def _serve(upstream, monkeypatch, dataset, files, sha=None):
    """Put ``files`` (path -> bytes) on the test server and point the dataset's sources at it."""
    table = {}
    for path, data in files.items():
        (upstream.root / path).parent.mkdir(parents=True, exist_ok=True)
        (upstream.root / path).write_bytes(data)
        table[path] = (upstream.url + path, sha if sha is not None else sha256_of(upstream.root / path))
    monkeypatch.setitem(opendc.SOURCES, dataset, table)


def test_every_pin_is_a_sha256_and_every_file_is_pinned():
    for dataset, files in opendc.SOURCES.items():
        assert dataset in FETCHERS
        for url, sha in files.values():
            assert url.startswith("https://raw.githubusercontent.com/atlarge-research/")
            assert len(sha) == 64 and int(sha, 16) >= 0


def test_pins_match_the_copies_on_disk():
    """The pinned hashes are those of the real files (checked where a copy of the data is at hand)."""
    checked = 0
    for root in data_roots():
        for dataset, files in opendc.SOURCES.items():
            for path, (_, sha) in files.items():
                if (root / dataset / path).is_file():
                    assert sha256_of(root / dataset / path) == sha, path
                    checked += 1
    if not checked:
        pytest.skip("no copy of the SURF Lisa / Marconi100 files here")


def test_fetch_verifies_and_writes_the_files(upstream, monkeypatch, tmp_path):
    _serve(upstream, monkeypatch, "marconi100", {"marconi-22/tasks.parquet": b"PAR1 not really PAR1"})
    out = opendc.fetch_marconi100(tmp_path / "dest")
    assert (out / "marconi-22/tasks.parquet").read_bytes() == b"PAR1 not really PAR1"
    opendc.fetch_marconi100(tmp_path / "dest")  # cached and matching: not asked for again
    assert len(upstream.requests) == 1


def test_tampered_download_is_refused_and_nothing_is_written(upstream, monkeypatch, tmp_path):
    _serve(upstream, monkeypatch, "marconi100", {"marconi-22/tasks.parquet": b"evil"}, sha="0" * 64)
    with pytest.raises(ChecksumMismatch, match="does not match the pinned one"):
        opendc.fetch_marconi100(tmp_path / "dest")
    assert not (tmp_path / "dest/marconi100/marconi-22/tasks.parquet").exists()


def test_convert_only_checks_the_local_originals(tmp_path):
    raw = tmp_path / "raw" / "marconi-22"
    raw.mkdir(parents=True)
    (raw / "tasks.parquet").write_bytes(b"not the pinned file")
    with pytest.raises(ChecksumMismatch, match="is not the pinned"):
        opendc.convert_marconi100(tmp_path / "raw", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_unpinned_file_is_refused(upstream, monkeypatch, tmp_path):
    monkeypatch.setitem(opendc.SOURCES, "marconi100", {"x.parquet": (upstream.url + "x.parquet", None)})
    with pytest.raises(UnverifiedDownload):
        opendc.fetch_marconi100(tmp_path / "dest")


def test_data_fetch_never_writes_through_a_link(tmp_path):
    """A dataset folder (or anything in it) that is a symbolic link is refused before anything is written."""
    from typer.testing import CliRunner

    from schedlab.cli import app

    raw, elsewhere, dest = tmp_path / "raw", tmp_path / "elsewhere", tmp_path / "dest"
    (raw / "marconi-22").mkdir(parents=True)
    (raw / "marconi-22/tasks.parquet").write_bytes(b"x")
    elsewhere.mkdir()
    dest.mkdir()
    (dest / "marconi100").symlink_to(elsewhere)
    res = CliRunner().invoke(app, ["data", "fetch", "marconi100", "--convert-only", str(raw), "--dest", str(dest)])
    assert res.exit_code == 2 and "symbolic link" in " ".join(res.output.split())
    (dest / "marconi100").unlink()
    (dest / "marconi100").mkdir()
    (dest / "marconi100/marconi-22").symlink_to(elsewhere)
    res = CliRunner().invoke(app, ["data", "fetch", "marconi100", "--convert-only", str(raw), "--dest", str(dest)])
    assert res.exit_code == 2 and "symbolic link" in " ".join(res.output.split())
    assert list(elsewhere.iterdir()) == []
