"""Slurm hostlists: ``node[001-003,007],gpu[1-2]`` to host names, zero padding kept."""

from __future__ import annotations

import re

from schedlab.errors import HostlistError

_MAX_HOSTS = 1_000_000


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


def _range_values(body: str, text: str) -> list[str]:
    out = []
    for piece in body.split(","):
        piece = piece.strip()
        if not piece:
            raise HostlistError(f"hostlist {text!r}: empty range in [{body}]")
        lo, sep, hi = piece.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise HostlistError(f"hostlist {text!r}: bad range {piece!r} in [{body}] (expected N or N-M)")
        if not sep:
            out.append(lo)
            continue
        a, b = int(lo), int(hi)
        if a > b:
            raise HostlistError(f"hostlist {text!r}: range {piece!r} runs backwards")
        if b - a + 1 > _MAX_HOSTS:
            raise HostlistError(f"hostlist {text!r}: range {piece!r} has more than {_MAX_HOSTS:,} hosts")
        width = len(lo)  # Slurm pads to the width of the lower bound: [001-010], [8-10] -> 8, 9, 10
        out += [str(v).zfill(width) for v in range(a, b + 1)]
    return out


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
    hosts: list[str] = []
    for item in _split_top(text):
        item = item.strip()
        if not item:
            raise HostlistError(f"hostlist {text!r}: empty host name between commas")
        names = [""]
        pos = 0
        for m in re.finditer(r"\[([^\]]*)\]", item):
            literal = item[pos : m.start()]
            names = [n + literal for n in names]
            vals = _range_values(m.group(1), text)
            names = [n + v for n in names for v in vals]
            if len(names) > _MAX_HOSTS:
                raise HostlistError(f"hostlist {text!r}: more than {_MAX_HOSTS:,} hosts")
            pos = m.end()
        names = [n + item[pos:] for n in names]
        hosts += names
    return hosts
