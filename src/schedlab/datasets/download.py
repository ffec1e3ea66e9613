"""The one downloader: every upstream file schedlab fetches is pinned by URL (at a commit) and SHA-256.

A :class:`PinnedFile` says where a file is (``url``, at a pinned commit), where it goes (``path``,
relative to the download folder) and what its bytes hash to (``sha256``).  :func:`fetch_files`
gets a list of them into a folder:

* a file already there is reused only if its SHA-256 matches; otherwise it is downloaded again;
* a download whose SHA-256 differs is an error (:class:`ChecksumMismatch`: the file, the expected
  and the received hash) and leaves nothing behind;
* a file whose SHA-256 is not known (``sha256=None``) is refused (:class:`UnverifiedDownload`)
  unless the caller passes ``allow_unverified=True``; it is then downloaded, or reused, unchecked.
  Required files are refused before anything is downloaded; an ``optional`` one is asked for (a
  404 means absent upstream) and refused only if it exists;
* an HTTP or network failure is :class:`DownloadError` (an ``OSError`` too), except a 404 on an
  ``optional`` file, which is counted as absent upstream.

The transfer (to a temporary file, checked, then renamed) is :func:`pooch.retrieve`'s; the
transport is ``urllib.request.urlopen`` (system proxies and certificates), streamed and hashed on
the way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pooch

from schedlab.errors import ChecksumMismatch, DownloadError, UnverifiedDownload

TIMEOUT_S = 120  # seconds per request
WORKERS = 8  # parallel downloads
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedFile:
    """One upstream file: ``path`` in the download folder, ``url`` at a pinned commit, its ``sha256``.

    ``sha256=None`` means the hash has not been established; such a file is only fetched with
    ``allow_unverified=True``.
    """

    path: str
    url: str
    sha256: str | None = None


def pinned(base: str, hashes: Mapping[str, str | None]) -> list[PinnedFile]:
    """One :class:`PinnedFile` per ``path -> sha256`` entry, found at ``base + path``."""
    return [PinnedFile(path, base + path, sha) for path, sha in hashes.items()]


def sha256_of(path: Path | str) -> str:
    """The SHA-256 of a file, as lower-case hex."""
    return pooch.file_hash(str(path), alg="sha256")


def is_cached(file: PinnedFile, folder: Path, allow_unverified: bool = False) -> bool:
    """Whether ``folder / file.path`` may be reused: it exists and its hash matches (or, with
    ``allow_unverified``, no hash is pinned)."""
    target = Path(folder) / file.path
    if not target.exists():
        return False
    return allow_unverified if file.sha256 is None else sha256_of(target) == file.sha256


def _unverified(file: PinnedFile) -> UnverifiedDownload:
    return UnverifiedDownload(
        f"{file.path}: no pinned SHA-256, so {file.url} cannot be checked; "
        "pass --allow-unverified (Python: allow_unverified=True) to download and use it unchecked"
    )


def refuse_unverified(files: Iterable[PinnedFile], allow_unverified: bool = False) -> None:
    """Raise :class:`UnverifiedDownload` if any file has no pinned hash and the caller did not opt in."""
    files = list(files)
    bad = [f for f in files if f.sha256 is None]
    if bad and not allow_unverified:
        raise UnverifiedDownload(
            f"{len(bad)} of {len(files)} file(s) have no pinned SHA-256, so they cannot be checked "
            f"(first: {bad[0].url}); pass --allow-unverified (Python: allow_unverified=True) to use them unchecked"
        )


class _Transport:
    """A pooch downloader: ``urllib.request.urlopen``, streamed into the file and hashed on the way."""

    def __init__(self, file: PinnedFile, timeout: float, allow_unverified: bool):
        self.file, self.timeout, self.allow_unverified = file, timeout, allow_unverified

    def __call__(self, url: str, output_file, pooch_obj=None, check_only: bool = False) -> None:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=self.timeout) as resp, open(output_file, "wb") as out:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if self.file.sha256 is None and not self.allow_unverified:
            raise _unverified(self.file)  # an optional file that turned out to exist
        if self.file.sha256 is not None and got != self.file.sha256:
            raise ChecksumMismatch(
                f"{self.file.path}: SHA-256 of the download from {url} does not match the pinned one: "
                f"expected {self.file.sha256}, got {got}"
            )


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch logs every download at INFO on stderr; schedlab reports through ``progress`` instead."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _fetch_one(file: PinnedFile, folder: Path, optional: bool, timeout: float, progress, allow: bool) -> Path | None:
    """Download one file that :func:`is_cached` rejected; None if ``optional`` and absent upstream."""
    target = Path(folder) / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if file.sha256 is None:
            raise _unverified(file)  # not allowed (else it would be cached): a local copy, unchecked
        target.unlink()  # its hash does not match the pinned one
    if progress:
        progress(f"downloading {file.url}")
    try:
        pooch.retrieve(
            file.url,
            known_hash=file.sha256,
            fname=target.name,
            path=target.parent,
            downloader=_Transport(file, timeout, allow),
        )
    except urllib.error.HTTPError as exc:
        if optional and exc.code == 404:
            return None
        raise DownloadError(f"download of {file.url} failed: HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"download of {file.url} failed: {exc.reason}") from exc
    return target


def fetch_file(
    file: PinnedFile,
    folder: Path,
    *,
    allow_unverified: bool = False,
    optional: bool = False,
    timeout: float = TIMEOUT_S,
) -> Path | None:
    """Get one pinned file into ``folder / file.path``: its path, or None if ``optional`` and absent upstream."""
    if not optional:
        refuse_unverified([file], allow_unverified)
    if is_cached(file, folder, allow_unverified):
        return Path(folder) / file.path
    with _quiet_pooch():
        return _fetch_one(file, folder, optional, timeout, None, allow_unverified)


def fetch_files(
    files: Iterable[PinnedFile],
    folder: Path,
    *,
    progress: Callable[[str], object] | None = None,
    source: str | None = None,
    allow_unverified: bool = False,
    optional: bool = False,
    workers: int = WORKERS,
    timeout: float = TIMEOUT_S,
) -> int:
    """Get every file into ``folder`` (``workers`` at a time); returns how many were absent upstream.

    Without ``optional``, every file is checked for a pinned hash (:func:`refuse_unverified`)
    before anything is downloaded.  ``progress`` gets one line per file, or, with ``source`` (e.g. the base URL), one
    line "downloading N files from SOURCE" and a count every 500 files.  Absent upstream means a
    404 on an ``optional`` file; without ``optional`` that is a :class:`DownloadError`.
    """
    files = list(files)
    if not optional:
        refuse_unverified(files, allow_unverified)
    folder = Path(folder)
    todo = [f for f in files if not is_cached(f, folder, allow_unverified)]
    if progress and todo and source:
        progress(f"downloading {len(todo)} files from {source}")
    each = progress if source is None else None
    missing = 0
    with _quiet_pooch(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        got = pool.map(lambda f: _fetch_one(f, folder, optional, timeout, each, allow_unverified), todo)
        for i, path in enumerate(got, 1):
            missing += path is None
            if progress and source and (i % 500 == 0 or i == len(todo)) and len(todo) > 20:
                progress(f"  {i}/{len(todo)} files")
    if allow_unverified:
        _write_manifest(folder, [f for f in files if f.sha256 is None])
    return missing


def _write_manifest(folder: Path, unpinned: list[PinnedFile]) -> None:
    """For files taken without a pinned hash: ``SHA256SUMS.unverified`` in ``folder`` (``sha256sum``
    format) with what was received, so that a maintainer can check and pin them."""
    present = [f for f in unpinned if (folder / f.path).is_file()]
    if present:
        from schedlab.report.outputs import write_text

        lines = [f"{sha256_of(folder / f.path)}  {f.path}" for f in present]
        write_text(folder / "SHA256SUMS.unverified", "\n".join(lines) + "\n")


__all__ = [
    "ChecksumMismatch",
    "DownloadError",
    "PinnedFile",
    "UnverifiedDownload",
    "fetch_file",
    "fetch_files",
    "is_cached",
    "pinned",
    "refuse_unverified",
    "sha256_of",
]
