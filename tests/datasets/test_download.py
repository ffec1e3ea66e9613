"""The one downloader against a local HTTP server: hashes checked, cache reused only when it matches."""

from __future__ import annotations

import hashlib

import pytest

from schedlab.datasets.download import (
    ChecksumMismatch,
    DownloadError,
    PinnedFile,
    UnverifiedDownload,
    fetch_file,
    fetch_files,
    pinned,
    sha256_of,
)
from schedlab.errors import SchedlabError

DATA = b"time_s,power_w\n0,100.5\n1,101.25\n"
GOOD = hashlib.sha256(DATA).hexdigest()
BAD = hashlib.sha256(b"something else").hexdigest()


def _publish(upstream, path="sub/dir/table.csv", data=DATA):
    (upstream.root / path).parent.mkdir(parents=True, exist_ok=True)
    (upstream.root / path).write_bytes(data)
    return path


def test_correct_hash_writes_the_file(upstream, tmp_path):
    path = _publish(upstream)
    out = fetch_file(PinnedFile(path, upstream.url + path, GOOD), tmp_path / "raw")
    assert out == tmp_path / "raw" / path
    assert out.read_bytes() == DATA
    assert sha256_of(out) == GOOD
    assert upstream.requests == ["/" + path]
    assert [p.name for p in out.parent.iterdir()] == ["table.csv"]  # no temporary file left


def test_wrong_hash_is_an_error_naming_file_expected_and_got(upstream, tmp_path):
    path = _publish(upstream)
    with pytest.raises(ChecksumMismatch) as err:
        fetch_file(PinnedFile(path, upstream.url + path, BAD), tmp_path / "raw")
    msg = str(err.value)
    assert path in msg and f"expected {BAD}" in msg and f"got {GOOD}" in msg
    assert isinstance(err.value, SchedlabError)
    folder = tmp_path / "raw" / "sub" / "dir"
    assert not folder.exists() or not any(folder.iterdir())  # nothing written, no temporary left


def test_cached_good_file_is_not_downloaded_again(upstream, tmp_path):
    path = _publish(upstream)
    files = [PinnedFile(path, upstream.url + path, GOOD)]
    assert fetch_files(files, tmp_path / "raw") == 0
    assert len(upstream.requests) == 1
    msgs = []
    assert fetch_files(files, tmp_path / "raw", progress=msgs.append) == 0
    assert fetch_file(files[0], tmp_path / "raw") == tmp_path / "raw" / path
    assert len(upstream.requests) == 1 and msgs == []


def test_cached_file_with_another_hash_is_downloaded_again(upstream, tmp_path):
    path = _publish(upstream)
    stale = tmp_path / "raw" / path
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"truncated")
    fetch_files([PinnedFile(path, upstream.url + path, GOOD)], tmp_path / "raw")
    assert upstream.requests == ["/" + path]
    assert stale.read_bytes() == DATA


def test_unverified_files_are_refused_unless_allowed(upstream, tmp_path):
    path = _publish(upstream)
    files = pinned(upstream.url, {path: None})
    with pytest.raises(UnverifiedDownload, match=r"1 of 1 file\(s\) have no pinned SHA-256.*allow_unverified=True"):
        fetch_files(files, tmp_path / "raw")
    with pytest.raises(UnverifiedDownload):
        fetch_file(files[0], tmp_path / "raw")
    assert upstream.requests == []  # refused before anything was asked for
    assert fetch_files(files, tmp_path / "raw", allow_unverified=True) == 0
    assert (tmp_path / "raw" / path).read_bytes() == DATA


def test_mixed_list_is_refused_before_any_download(upstream, tmp_path):
    a, b = _publish(upstream, "a.csv"), _publish(upstream, "b.csv")
    with pytest.raises(UnverifiedDownload, match=r"1 of 2 file\(s\)"):
        fetch_files(pinned(upstream.url, {a: GOOD, b: None}), tmp_path / "raw")
    assert upstream.requests == []


def test_missing_upstream_file(upstream, tmp_path):
    _publish(upstream, "here.csv")
    files = pinned(upstream.url, {"here.csv": GOOD, "gone.csv": GOOD})
    msgs = []
    assert fetch_files(files, tmp_path / "raw", optional=True, progress=msgs.append, source=upstream.url) == 1
    assert msgs == [f"downloading 2 files from {upstream.url}"]
    assert not (tmp_path / "raw" / "gone.csv").exists()
    with pytest.raises(DownloadError, match=r"download of .*gone\.csv failed: HTTP 404") as err:
        fetch_files(files, tmp_path / "raw2")
    assert isinstance(err.value, OSError) and isinstance(err.value, SchedlabError)


def test_per_file_progress_without_source(upstream, tmp_path):
    path = _publish(upstream)
    msgs = []
    fetch_files([PinnedFile(path, upstream.url + path, GOOD)], tmp_path / "raw", progress=msgs.append, workers=1)
    assert msgs == [f"downloading {upstream.url}{path}"]


def test_optional_unpinned_file_is_refused_only_if_it_exists(upstream, tmp_path):
    _publish(upstream, "here.csv")
    assert fetch_files(pinned(upstream.url, {"gone.csv": None}), tmp_path / "raw", optional=True) == 1
    with pytest.raises(UnverifiedDownload, match=r"here\.csv: no pinned SHA-256"):
        fetch_files(pinned(upstream.url, {"here.csv": None}), tmp_path / "raw", optional=True)
    assert not (tmp_path / "raw" / "here.csv").exists()
    assert (
        fetch_files(pinned(upstream.url, {"here.csv": None}), tmp_path / "raw", optional=True, allow_unverified=True)
        == 0
    )
    with pytest.raises(UnverifiedDownload):  # now on disk, still unchecked: refused without the opt-in
        fetch_file(PinnedFile("here.csv", upstream.url + "here.csv"), tmp_path / "raw", optional=True)
