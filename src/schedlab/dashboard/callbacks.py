"""Callbacks of the page: loading folders, the selectors, the Gantt and new runs (the other views
are in :mod:`schedlab.dashboard.views`).

Every callback turns a :class:`~schedlab.errors.SchedlabError` (or any other failure) into a
message in its view, never a dead page or server (:func:`guard`)."""

from __future__ import annotations

import functools

from schedlab.dashboard.app import KIND_OF, choices
from schedlab.errors import SchedlabError


def message(exc: BaseException) -> str:
    if isinstance(exc, SchedlabError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def guard(n_outputs: int, msg_index: int):
    """Wrap a callback: on an error, every output unchanged except the message (at ``msg_index``)."""
    from dash import no_update
    from dash.exceptions import PreventUpdate

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args):
            try:
                out = fn(*args)
            except PreventUpdate:
                raise
            except Exception as exc:
                out = [no_update] * n_outputs
                out[msg_index] = message(exc)
                return out
            return out

        return inner

    return wrap


#: Jobs in view listed in the Gantt's table (the first by start time).
GRID_ROWS = 200
#: The Gantt's table, mounted after the first draw: a pattern id, so callbacks may name it before it exists.
GRID = {"type": "jobs-grid", "view": "gantt"}


def register(app, state) -> None:
    from schedlab.dashboard.views import register_views

    _register_loading(app, state)
    _register_gantt(app, state)
    _register_gantt_table(app, state)
    _register_new_run(app, state)
    register_views(app, state)


def _register_loading(app, state) -> None:
    from dash import Input, Output, State, no_update

    # loading and polling are two callbacks: Dash drops a callback's answer when the same callback
    # is triggered again before it arrives, so a tick must never share one with a click
    @app.callback(
        Output("folder-msg", "children"), Output("folder-ok", "children"),
        Output("runs", "data", allow_duplicate=True),
        Input("folder-load", "n_clicks"), Input("folder-path", "n_submit"), State("folder-path", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    def load(_clicks, _submit, path):
        try:
            if not path or not str(path).strip():
                raise SchedlabError("type the path of a results folder first")
            res = state.add(str(path).strip())
        except Exception as exc:
            return message(exc), "", no_update
        return "", f"loaded {res.label}", dict(version=state.version, runs=state.listing())

    @app.callback(Output("runs", "data"), Input("tick", "n_intervals"), State("runs", "data"))
    def poll(_tick, runs):
        if runs and runs.get("version") == state.version:
            return no_update
        return dict(version=state.version, runs=state.listing())

    outputs = [Output(k, "options") for k in KIND_OF] + [Output(k, "value") for k in KIND_OF]
    states = [State(k, "value") for k in KIND_OF]

    @app.callback(*outputs, Input("runs", "data"), *states, prevent_initial_call=True)
    def selectors(runs, *values):
        opts = choices((runs or {}).get("runs", []), dict(zip(KIND_OF, values, strict=True)))
        return *[opts[k][0] for k in KIND_OF], *[opts[k][1] for k in KIND_OF]


def _register_gantt(app, state) -> None:
    from dash import Input, Output, State, ctx
    from dash.exceptions import PreventUpdate

    from schedlab.dashboard import figures, gantt

    # plotly also reports layout events that move no axis (autosize when the page lays out); a
    # server callback on them would supersede a zoom still in flight, so they are dropped here
    app.clientside_callback(
        r"""function(r) {
            const moves = r && Object.keys(r).some(k => /^[xy]axis\.(range|autorange)/.test(k));
            return moves ? r : window.dash_clientside.no_update;
        }""",
        Output("gantt-zoom", "data"), Input("gantt", "relayoutData"), prevent_initial_call=True,
    )  # fmt: skip

    @app.callback(Output("gantt-colour", "options"), Output("gantt-colour", "value"), Input("gantt-run", "value"),
                  State("gantt-colour", "value"), prevent_initial_call=True)  # fmt: skip
    def colours(key, current):
        try:
            opts = gantt.colour_options(state.get(key).tables["jobs"])
        except SchedlabError:
            return [], None
        return opts, current if current in opts else (opts[0] if opts else None)

    @app.callback(
        Output("gantt", "figure"), Output("gantt-view", "data"), Output("gantt-info", "children"),
        Output("gantt-rows", "data"), Output("gantt-msg", "children"),
        Input("gantt-run", "value"), Input("gantt-colour", "value"), Input("gantt-zoom", "data"),
        State("gantt-view", "data"),
    )  # fmt: skip
    @guard(5, 4)
    def draw(key, colour, relayout, view):
        if ctx.triggered_id == "gantt-zoom" and not gantt.moves_view(relayout):
            raise PreventUpdate
        res = state.get(key)
        g = state.gantt(key)
        same = (view or {}).get("key") == key
        zoom = relayout if ctx.triggered_id == "gantt-zoom" else None
        xr, yr = gantt.view_from_relayout(zoom, view if same else None)
        fig, info = gantt.figure(g, colour or "wait", xr, yr, title=res.label)
        rows = g.jobs.iloc[info["rows"][:GRID_ROWS]]
        text = f"{info['jobs_in_view']:,} jobs in view: {info['mode']}"
        text += " (exact rectangles; click one)" if info["mode"] == "exact" else " (server-side raster; zoom in)"
        view = dict(key=key, x=fig["layout"]["xaxis"]["range"], y=fig["layout"]["yaxis"]["range"], mode=info["mode"],
                    jobs=info["jobs_in_view"])  # fmt: skip
        return fig, view, text, dict(rows=figures.rows(rows), columns=figures.columns(rows)), ""


def _register_gantt_table(app, state) -> None:
    from dash import ALL, Input, Output, State, ctx
    from dash.exceptions import PreventUpdate

    from schedlab.dashboard import figures

    ALL_GRIDS = {"type": "jobs-grid", "view": ALL}

    # the table of the jobs in view is mounted once the Gantt is drawn (its ~2 MB of AG Grid script
    # then loads after the first paint, not before), and its rows follow each view
    @app.callback(Output("gantt-grid-holder", "children"), Input("gantt-rows", "data"),
                  State("gantt-grid-holder", "children"), prevent_initial_call=True)  # fmt: skip
    def mount(data, mounted):
        from schedlab.dashboard.app import _grid

        if mounted:
            raise PreventUpdate
        return _grid(GRID, 260, rows=data["rows"], columns=data["columns"])

    @app.callback(Output(ALL_GRIDS, "rowData"), Output(ALL_GRIDS, "columnDefs"), Input("gantt-rows", "data"),
                  State(ALL_GRIDS, "id"), prevent_initial_call=True)  # fmt: skip
    def table(data, ids):  # one grid, or none yet (a pattern id matches none without an error)
        return [data["rows"]] * len(ids), [data["columns"]] * len(ids)

    @app.callback(Output("gantt-detail", "children"), Input("gantt", "clickData"), Input(ALL_GRIDS, "selectedRows"),
                  State("gantt-run", "value"))  # fmt: skip
    @guard(1, 0)
    def detail(click, selected, key):
        if not key:
            return ""
        jobs = state.get(key).tables["jobs"]
        if ctx.triggered_id == "gantt" and click and click.get("points"):
            job = click["points"][0].get("customdata")
        elif selected and selected[0]:
            job = selected[0][0].get("job_id")
        else:
            return "click a job (zoom in until rectangles are exact) or a row of the table"
        row = jobs[jobs["job_id"] == job]
        if row.empty:
            return f"job {job}: not in this run"
        return "job " + ", ".join(f"{k}={v}" for k, v in figures.rows(row)[0].items())


def _register_new_run(app, state) -> None:
    from dash import Input, Output, State, no_update

    from schedlab.dashboard.runs import RunSpec, save_upload

    @app.callback(
        Output("nr-trace", "options"), Output("nr-trace", "value"), Output("nr-upload-msg", "children"),
        Input("nr-upload", "contents"), State("nr-upload", "filename"), State("nr-trace", "options"),
        prevent_initial_call=True,
    )  # fmt: skip
    @guard(3, 2)
    def upload(contents, filename, options):
        path = save_upload(state.runs_dir, filename or "trace.swf", contents)
        opt = dict(label=f"uploaded: {path.name}", value=str(path))
        return [*(options or []), opt], str(path), f"{filename}: read, {path}"

    @app.callback(
        Output("nr-id", "data"), Output("nr-msg", "children", allow_duplicate=True),
        Output("nr-bar", "style", allow_duplicate=True),
        Input("nr-start", "n_clicks"), State("nr-trace", "value"), State("nr-policies", "value"),
        State("nr-backfill", "value"), State("nr-estimates", "value"), State("nr-cluster", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    def start(_clicks, trace, policies, backfill, estimates, cluster):
        try:
            spec = RunSpec(trace, list(policies or []), backfill or "easy", estimates or "requested", cluster)
            started = state.runner.start(spec)
        except Exception as exc:
            return no_update, message(exc), dict(BAR, width="0%", background="#b00020")
        return started.id, f"run {started.id}: started", dict(BAR, width="2%")

    @app.callback(
        Output("nr-msg", "children"), Output("nr-bar", "style"), Input("tick", "n_intervals"), State("nr-id", "data"),
        prevent_initial_call=True,
    )  # fmt: skip
    def progress(_tick, run_id):
        info = state.runner.get(run_id) if run_id else None
        if info is None:
            return no_update, no_update
        colour = "#b00020" if info["state"] == "error" else "#4e79a7"
        return f"run {info['id']}: {info['message']}", dict(
            BAR, width=f"{info['progress'] * 100:.0f}%", background=colour
        )


BAR = dict(height="12px", background="#4e79a7")

__all__ = ["guard", "message", "register"]
