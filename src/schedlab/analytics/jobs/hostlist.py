"""Slurm hostlists: ``node[001-003,007],gpu[1-2]`` to host names, zero padding kept."""

from __future__ import annotations

import re

from schedlab.errors import HostlistError

#: the most hosts one hostlist may name (the largest machines have ~10^5 nodes); counted before
#: anything is expanded, so a short crafted hostlist cannot exhaust memory
_MAX_HOSTS = 1_000_000
_MAX_CHARS = 100_000


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets; reject unbalanced or nested brackets."""
    parts, depth, cur = [], 0, []
    for i, ch in enumerate(text):
        if ch == "[":
            if depth:
                raise HostlistError(f"hostlist {text!r}: nested '[' at position {i}")
            depth = 1
        elif ch == "]":
            if not depth:
                raise HostlistError(f"hostlist {text!r}: ']' without '[' at position {i}")
            depth = 0
        if ch == "," and not depth:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise HostlistError(f"hostlist {text!r}: '[' not closed")
    parts.append("".join(cur))
    return parts


def _range_pieces(body: str, text: str) -> list[tuple[str, int, int]]:
    """(lower bound as written, lower, upper) per comma piece of a bracket, checked."""
    out = []
    for piece in body.split(","):
        piece = piece.strip()
        if not piece:
            raise HostlistError(f"hostlist {text!r}: empty range in [{body}]")
        lo, sep, hi = piece.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise HostlistError(f"hostlist {text!r}: bad range {piece!r} in [{body}] (expected N or N-M)")
        a, b = int(lo), int(hi) if sep else int(lo)
        if a > b:
            raise HostlistError(f"hostlist {text!r}: range {piece!r} runs backwards")
        out.append((lo, a, b))
    return out


def _range_values(pieces: list[tuple[str, int, int]]) -> list[str]:
    out = []
    for lo, a, b in pieces:
        width = len(lo)  # Slurm pads to the width of the lower bound: [001-010], [8-10] -> 8, 9, 10
        out += [str(v).zfill(width) for v in range(a, b + 1)]
    return out


def _count(groups: list[list[tuple[str, int, int]]]) -> int:
    total = 1
    for pieces in groups:
        total *= sum(b - a + 1 for _, a, b in pieces)
    return total


def expand_hostlist(text: str | None) -> list[str]:
    """Host names of a Slurm hostlist, in order, zero padding kept.

    ``node[001-003,007],gpu[1-2]`` -> node001 node002 node003 node007 gpu1 gpu2;
    ``n[01-02]-ib`` -> n01-ib n02-ib; several bracket groups in one name give their product
    (``r[1-2]n[1-2]`` -> r1n1 r1n2 r2n1 r2n2, the Slurm order).  ``None``, ``""`` and Slurm's
    ``None assigned`` give ``[]``.  Raises :class:`HostlistError` for unbalanced or nested
    brackets, empty or backwards ranges and non-numeric bounds.
    """
    if text is None:
        return []
    text = str(text).strip()
    if not text or text in ("None assigned", "(null)", "None"):
        return []
    if len(text) > _MAX_CHARS:
        raise HostlistError(f"hostlist of {len(text):,} characters; at most {_MAX_CHARS:,}")
    items = []
    for item in _split_top(text):
        item = item.strip()
        if not item:
            raise HostlistError(f"hostlist {text[:80]!r}: empty host name between commas")
        matches = list(re.finditer(r"\[([^\]]*)\]", item))
        items.append((item, matches, [_range_pieces(m.group(1), text[:80]) for m in matches]))
    total = sum(_count(groups) for _, _, groups in items)  # before expanding anything
    if total > _MAX_HOSTS:
        raise HostlistError(f"hostlist {text[:80]!r} names {total:,} hosts; at most {_MAX_HOSTS:,}")
    hosts: list[str] = []
    for item, matches, groups in items:
        names, pos = [""], 0
        for m, pieces in zip(matches, groups, strict=True):
            literal = item[pos : m.start()]
            names = [n + literal + v for n in names for v in _range_values(pieces)]
            pos = m.end()
        hosts += [n + item[pos:] for n in names]
    return hosts
