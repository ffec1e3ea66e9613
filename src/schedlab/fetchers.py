"""The datasets ``schedlab data fetch NAME`` knows: name -> (fetch, convert, label).

``fetch(dest, progress)`` downloads the pinned public originals and converts them, returning the
folder written; ``convert(raw_dir, dest)`` converts originals already on disk, returning the files
written.  Each dataset's module owns its URLs and its conversion.
"""

from __future__ import annotations


def _bftrainer():
    from schedlab.elastic import data

    return data.fetch_bftrainer, data.convert_bftrainer, "BFTrainer"


def _ecosched():
    from schedlab.energy import data

    return (
        data.fetch_ecosched,
        data.convert_ecosched,
        "EcoSched (not produced by fetch: " + ", ".join(data.ECOSCHED_NOT_PRODUCED) + ")",
    )


def _open_a100():
    from schedlab.energy import data

    return data.fetch_open_a100, data.convert_open_a100, "OPEN A100"


#: dataset name -> loader; a loader imports its module only when that dataset is asked for
#: (keeps ``schedlab --help`` fast) and returns (fetch, convert, label)
FETCHERS = {"bftrainer": _bftrainer, "ecosched": _ecosched, "open_a100": _open_a100}
