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


_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")  # prefix, the last run of digits, a digit-free suffix


def _ranges(numbers: list[tuple[int, str]]) -> list[str]:
    """Range pieces for (value, digits as written), sorted: runs of consecutive values that the
    lower bound's width writes back exactly (``007-009``, ``8-10``)."""
    pieces: list[str] = []
    start = prev = None
    for value, digits in numbers:
        if start is not None and value == prev[0] + 1 and str(value).zfill(len(start[1])) == digits:
            prev = (value, digits)
            continue
        if start is not None:
            pieces.append(start[1] if start == prev else f"{start[1]}-{prev[1]}")
        start = prev = (value, digits)
    if start is not None:
        pieces.append(start[1] if start == prev else f"{start[1]}-{prev[1]}")
    return pieces


def _bracket(pieces: list[str]) -> str:
    return pieces[0] if len(pieces) == 1 and "-" not in pieces[0] else f"[{','.join(pieces)}]"


def _merge_outer(items: list[tuple[str, str]]) -> list[str]:
    """Items (head, rest: the numbers of the head's last number run) whose rests are the same and
    whose heads differ only in their last number become one: ``r201n[01-20]`` and ``r202n[01-20]``
    -> ``r[201-202]n[01-20]``.  Exact: every head number goes with the same set of rests."""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for head, rest in items:
        m = _NUMBERED.match(head) if rest else None  # rest "": a name without digits
        if m is None:
            groups.setdefault((head + rest, ""), [])
            continue
        groups.setdefault((m.group(1), m.group(3) + rest), []).append((int(m.group(2)), m.group(2)))
    out = []
    for (head, rest), numbers in groups.items():
        if not numbers:
            out.append(head)
        elif len(numbers) == 1:
            out.append(f"{head}{numbers[0][1]}{rest}")
        else:
            out.append(f"{head}{_bracket(_ranges(sorted(set(numbers), key=lambda n: (n[0], len(n[1])))))}{rest}")
    return out


def compress_hostlist(names) -> str:
    """The Slurm hostlist of ``names``, the inverse of :func:`expand_hostlist` (as a set: each
    prefix's numbers sorted, duplicates once).

    ``nid0001 nid0002 nid0003 nid0007`` -> ``nid[0001-0003,0007]``; zero padding kept; several
    prefixes (and suffixes: ``n01-ib``) give several items, in the order they first appear; a
    rectangle of two numbers is one item (``r[1-2]n[01-20]``); names without digits are kept as
    they are.  Raises :class:`HostlistError` for a name that is empty or holds ``[``, ``]``, ``,``
    or whitespace (it could not be read back)."""
    groups: dict[tuple[str, str | None], set[tuple[int, str]]] = {}
    for name in names:
        name = str(name)
        if not name or any(c in name for c in "[],") or any(c.isspace() for c in name):
            raise HostlistError(f"host name {name[:80]!r} cannot be written in a hostlist")
        m = _NUMBERED.match(name)
        if m is None:
            groups.setdefault((name, None), set())  # None: not a prefix of numbered names
        else:
            prefix, digits, suffix = m.groups()
            groups.setdefault((prefix, suffix), set()).add((int(digits), digits))
    items: list[tuple[str, str]] = []
    for (prefix, suffix), numbers in groups.items():
        if suffix is None:
            items.append((prefix, ""))
        else:
            items.append((prefix, _bracket(_ranges(sorted(numbers, key=lambda n: (n[0], len(n[1]))))) + suffix))
    return ",".join(_merge_outer(items))
