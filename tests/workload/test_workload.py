"""SWF reading and the counted cleaning rules."""

import gzip

import numpy as np
import pytest

from schedlab.workload import BUNDLED, TraceFormatError, clean, load_trace, read_swf

HEADER = "; Version: 2.2\n; MaxNodes: 8\n; MaxProcs: 16\n; UnixStartTime: 1000\n"


def swf_line(job, submit, run, procs, req_procs=None, req_time=100, user=1, extra=""):
    req_procs = procs if req_procs is None else req_procs
    return f"{job} {submit} -1 {run} {procs} -1 -1 {req_procs} {req_time} -1 1 {user} 1 -1 1 -1 -1 -1{extra}\n"


def write(tmp_path, body, name="t.swf", header=HEADER):
    p = tmp_path / name
    text = header + body
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


def test_reads_plain_and_gz_and_header(tmp_path):
    body = swf_line(1, 5000, 10, 4) + swf_line(2, 5010, 20, 2)
    for name in ("a.swf", "a.swf.gz"):
        raw = read_swf(write(tmp_path, body, name))
        assert len(raw) == 2
        assert raw.header_int("MaxProcs") == 16 and raw.header_int("maxnodes") == 8
        wl = clean(raw)
        assert wl.submit.tolist() == [0.0, 10.0]  # relative to the first job
        assert wl.raw_submit.tolist() == [5000.0, 5010.0]
        assert wl.max_procs == 16 and wl.max_nodes == 8 and wl.unix_start == 1000


def test_extra_trailing_fields_are_ignored(tmp_path):
    raw = read_swf(write(tmp_path, swf_line(1, 0, 10, 4, extra=" 0.5") + swf_line(2, 1, 10, 4, extra=" 1 2")))
    assert len(raw) == 2 and raw.extra_field_lines == 2


def test_malformed_line_error_names_file_line_and_field(tmp_path):
    body = swf_line(1, 0, 10, 4) + "2 5 -1 abc 4 -1 -1 4 100 -1 1 1 1 -1 1 -1 -1 -1\n"
    p = write(tmp_path, body)
    with pytest.raises(TraceFormatError) as e:
        read_swf(p)
    msg = str(e.value)
    assert str(p) in msg and ":6:" in msg and "field 4 (run)" in msg and "'abc'" in msg


def test_short_line_error_and_lenient_counts(tmp_path):
    body = (
        swf_line(1, 0, 10, 4)
        + "2 5 -1 10\n"
        + swf_line(3, 7, 10, 4)
        + "4 x -1 10 4 -1 -1 4 100 -1 1 1 1 -1 1 -1 -1 -1\n"
    )
    p = write(tmp_path, body)
    with pytest.raises(TraceFormatError, match=r":6: expected 18 fields, found 4"):
        read_swf(p)
    raw = read_swf(p, lenient=True)
    assert len(raw) == 2 and raw.malformed_skipped == 2
    wl = clean(raw)
    assert wl.cleaning.read == 4 and wl.cleaning.malformed_skipped == 2 and wl.cleaning.kept == 2
    assert "skipped 2 malformed lines" in wl.cleaning.summary()


def test_textbook_cleaning_rules_are_counted(tmp_path):
    body = (
        swf_line(1, 100, 10, 4)
        + swf_line(2, 50, 10, 4)  # out of order -> sorted
        + swf_line(3, 120, 0, 4)  # runtime 0 -> dropped
        + swf_line(4, 130, -1, 4)  # runtime missing -> dropped
        + swf_line(5, 140, 10, 32)  # 32 > MaxProcs 16 -> dropped
        + swf_line(6, 150, 10, 4, req_procs=-1)  # requested procs -1 -> allocated (4)
        + swf_line(7, 160, 30, 2, req_time=-1)  # requested time -1 -> runtime
        + swf_line(8, 170, 10, -1, req_procs=-1)  # no processor count -> dropped
        + swf_line(9, 180, 500, 2, req_time=100)  # runs past its request (kept, counted)
    )
    wl = clean(read_swf(write(tmp_path, body)))
    rep = wl.cleaning
    assert rep.read == 9 and rep.kept == 5
    assert rep.dropped == {
        "with no processor count": 1,
        "with runtime <= 0": 2,
        "requesting more than MaxProcs (16)": 1,
    }
    assert rep.changed["requested procs missing -> allocated procs"] == 1
    assert rep.changed["requested time missing -> runtime (estimate = actual)"] == 1
    assert rep.changed["submitted out of order -> sorted by submit time"] == 1
    assert rep.changed["ran longer than requested (killed at the request by default)"] == 1
    assert wl.job_id.tolist() == [2, 1, 6, 7, 9]
    assert wl.submit.tolist() == [0, 50, 100, 110, 130]
    assert wl.req_time[wl.job_id == 7][0] == 30
    assert rep.read == rep.kept + sum(rep.dropped.values()) + rep.malformed_skipped  # nothing silent
    assert "dropped 2 with runtime <= 0" in rep.summary()


def test_missing_maxprocs_uses_maxnodes(tmp_path):
    wl = clean(read_swf(write(tmp_path, swf_line(1, 0, 10, 4), header="; MaxNodes: 64\n")))
    assert wl.max_procs == 64 and any("MaxProcs header missing" in n for n in wl.cleaning.notes)
    wl = clean(read_swf(write(tmp_path, swf_line(1, 0, 10, 4) + swf_line(2, 0, 10, 6), header="")))
    assert wl.max_procs == 6 and any("largest job" in n for n in wl.cleaning.notes)


def test_empty_after_cleaning_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no jobs left after cleaning"):
        clean(read_swf(write(tmp_path, swf_line(1, 0, 0, 4))))


def test_missing_file_and_unknown_name():
    with pytest.raises(FileNotFoundError, match="no trace named"):
        load_trace("no_such_trace")


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_traces_load(name):
    wl = load_trace(name)
    assert len(wl) > 0 and np.all(np.diff(wl.submit) >= 0) and wl.submit[0] == 0
    assert np.all(wl.run > 0) and np.all(wl.req_time > 0) and np.all((wl.procs >= 1) & (wl.procs <= wl.max_procs))


def test_theta_counts():
    wl = load_trace("theta_2022")
    assert len(wl) == 23911 and wl.max_procs == 4360


def test_windows_and_load_scaling():
    wl = load_trace("lublin_256")
    starts = wl.window_starts(5, 256, seed=3)
    assert np.array_equal(starts, wl.window_starts(5, 256, seed=3))
    assert not np.array_equal(starts, wl.window_starts(5, 256, seed=4))
    wins = wl.sample_windows(5, 256, seed=3)
    assert all(len(w) == 256 and w.submit[0] == 0 for w in wins)
    assert wins[0].job_id[0] == wl.job_id[starts[0]]
    with pytest.raises(ValueError, match="outside"):
        wl.window(9900, 256)
    scaled = wl.scale_load(0.5)
    assert np.allclose(np.diff(scaled.submit), 0.5 * np.diff(wl.submit))
    assert np.array_equal(scaled.run, wl.run)
    with pytest.raises(ValueError):
        wl.scale_load(0)


def test_trace_key_names_a_bundled_trace_one_way():
    """A model trained with --trace nasa_ipsc is recognised on the workload read from that file
    (whose name is the file's), so `schedlab explain` does not refuse it as another trace."""
    from schedlab.workload import load_trace
    from schedlab.workload.bundled import resolve_trace, trace_key

    spellings = [
        "nasa_ipsc",
        "NASA-iPSC",
        "NASA-iPSC-1993-3.1-cln",
        str(resolve_trace("nasa_ipsc")),
        load_trace("nasa_ipsc").name,
    ]
    assert {trace_key(s) for s in spellings} == {"nasa_ipsc"}
    assert trace_key("/data/My_Site.swf.gz") == trace_key("my_site") == "my_site"
    assert trace_key("theta_2022") != trace_key("lublin_256")
