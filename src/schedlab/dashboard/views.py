"""Callbacks of the views other than the schedule: over time, distributions, side by side, users
and partitions, RL decisions, the tree, BFTrainer, energy and analytics."""

from __future__ import annotations

import functools

from dash import Input, Output, State, ctx, html

from schedlab.dashboard import figures
from schedlab.dashboard.callbacks import guard
from schedlab.errors import SchedlabError


def on_tab(view: str):
    """A view's callback runs only while its tab is shown (its first input, the tab, is dropped):
    the page loads without computing the hidden views."""
    from dash.exceptions import PreventUpdate

    def wrap(fn):
        @functools.wraps(fn)
        def inner(tab, *args):
            if tab != view:
                raise PreventUpdate
            return fn(*args)

        return inner

    return wrap


def register_views(app, state) -> None:
    _register_tables(app, state)
    _register_compare(app, state)
    _register_decisions(app, state)
    _register_others(app, state)


def _picked(state, keys) -> list:
    out = [state.get(k) for k in (keys or [])]
    if not out:
        raise SchedlabError("choose one or more simulate results folders")
    return out


def _register_tables(app, state) -> None:
    @app.callback(
        Output("ot-graph", "figure"),
        Output("ot-msg", "children"),
        Input("tabs", "value"),
        Input("ot-runs", "value"),
        prevent_initial_call=True,
    )
    @on_tab("overtime")
    @guard(2, 1)
    def over_time(keys):
        return figures.over_time(_picked(state, keys)), ""

    @app.callback(
        Output("dist-graph", "figure"), Output("dist-msg", "children"),
        Input("tabs", "value"), Input("dist-runs", "value"), Input("dist-metric", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("dist")
    @guard(2, 1)
    def dist(keys, metric):
        return figures.distributions(_picked(state, keys), metric or "wait"), ""

    @app.callback(
        Output("dist-bars", "figure"),
        Input("tabs", "value"),
        Input("dist-table", "value"),
        Input("dist-metric", "value"),
        prevent_initial_call=True,
    )
    @on_tab("dist")
    def bars(key, metric):
        try:
            res = state.get(key)
        except SchedlabError as exc:
            return figures.empty(str(exc).replace("results folder", "compare or evaluate folder"))
        table = res.tables.get("comparison", res.tables.get("evaluation"))
        col = "mean_wait" if metric == "wait" else "mean_bsld"
        return figures.metric_bars(table, col, title=f"{col} per policy ({res.name}; bars: min–max over windows)")

    @app.callback(
        Output("grp-users", "rowData"), Output("grp-users", "columnDefs"), Output("grp-parts", "rowData"),
        Output("grp-parts", "columnDefs"), Output("grp-msg", "children"),
        Input("tabs", "value"), Input("grp-run", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("groups")
    @guard(5, 4)
    def groups(key):
        jobs = state.get(key).tables["jobs"]
        users = figures.per_group(jobs, "user")
        if "partition" in jobs.columns:
            parts = figures.per_group(jobs, "partition")
            note = ""
        else:
            parts = figures.per_group(jobs.assign(partition="(whole machine)"), "partition")
            note = "this run has no partitions (simulate with --cluster for them): one row for the machine"
        return figures.rows(users), figures.columns(users), figures.rows(parts), figures.columns(parts), note


def _register_compare(app, state) -> None:
    from schedlab.dashboard import gantt

    @app.callback(
        Output("sbs-ga", "figure"), Output("sbs-gb", "figure"), Output("sbs-scatter", "figure"),
        Output("sbs-grid", "rowData"), Output("sbs-grid", "columnDefs"), Output("sbs-msg", "children"),
        Input("tabs", "value"), Input("sbs-a", "value"), Input("sbs-b", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("sbs")
    @guard(6, 5)
    def side_by_side(a, b):
        if not a or not b:
            raise SchedlabError("choose two simulate results folders of the same trace (run A and run B)")
        ra, rb = state.get(a), state.get(b)
        top, merged = figures.moved_most(ra.tables["jobs"], rb.tables["jobs"])
        if merged.empty:
            raise SchedlabError(f"{ra.name} and {rb.name} share no job ids: runs of different traces?")
        ga, gb = state.gantt(a), state.gantt(b)
        (a0, a1), _ = ga.extent
        (b0, b1), _ = gb.extent
        xr = [min(a0, b0), max(a1, b1)]
        fa, _ = gantt.figure(ga, "wait", xr, None, title=f"A: {ra.label}")
        fb, _ = gantt.figure(gb, "wait", xr, None, title=f"B: {rb.label}")
        scatter = figures.start_scatter(merged, f"start in A: {ra.name} (h)", f"start in B: {rb.name} (h)")
        return fa, fb, scatter, figures.rows(top), figures.columns(top), ""


def _register_decisions(app, state) -> None:
    from schedlab.dashboard import decisions

    @app.callback(
        Output("rl-bars", "figure"), Output("rl-decisions", "figure"), Output("rl-grid", "rowData"),
        Output("rl-grid", "columnDefs"), Output("rl-msg", "children"),
        Input("tabs", "value"), Input("rl-run", "value"), Input("rl-go", "n_clicks"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("rl")
    @guard(5, 4)
    def rl(key, _go):
        res = state.get(key)
        bars = figures.metric_bars(res.tables["evaluation"], "mean_bsld", title=f"mean bsld per policy ({res.name})")
        blank = figures.empty("press “Replay its first window” to see the agent's decisions")
        if ctx.triggered_id != "rl-go":
            return bars, blank, [], [], ""
        table, _, metrics = decisions.model_decisions(res)
        title = f"the agent's decisions on its first window (mean bsld {metrics.get('mean_bsld', float('nan')):.2f})"
        return bars, decisions.decisions_figure(table, title), figures.rows(table), figures.columns(table), ""

    @app.callback(
        Output("tree-graph", "figure"), Output("tree-rules", "children"), Output("tree-grid", "rowData"),
        Output("tree-grid", "columnDefs"), Output("tree-msg", "children"),
        Input("tabs", "value"), Input("tree-run", "value"), Input("tree-go", "n_clicks"),
        Input("tree-grid", "selectedRows"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("tree")
    @guard(5, 4)
    def tree(key, _go, selected):
        from dash import no_update

        from schedlab.explain.export import to_text

        res = state.get(key)
        t = decisions.tree_of(res)
        if ctx.triggered_id == "tree-go":
            table, X, _ = decisions.tree_decisions(res)
            state.decisions[key] = (table, X)
            return decisions.tree_figure(t), no_update, figures.rows(table), figures.columns(table), ""
        if ctx.triggered_id == "tree-grid" and selected and key in state.decisions:
            table, X = state.decisions[key]
            i = int(selected[0]["decision"])
            path = decisions.tree_path(t, X[i])
            fig = decisions.tree_figure(t, path)
            fig["layout"]["title"]["text"] += f"; decision {i}: {len(path) - 1} rules to its leaf"
            return fig, no_update, no_update, no_update, ""
        return decisions.tree_figure(t), to_text(t), [], [], ""


def _register_others(app, state) -> None:
    @app.callback(
        Output("bft-graph", "figure"), Output("bft-grid", "rowData"), Output("bft-grid", "columnDefs"),
        Output("bft-msg", "children"), Input("tabs", "value"), Input("bft-run", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("bft")
    @guard(4, 3)
    def bft(key):
        res = state.get(key)
        tr = res.tables["trainers"]
        return figures.bftrainer(res), figures.rows(tr), figures.columns(tr), ""

    @app.callback(Output("en-policy", "options"), Output("en-policy", "value"), Input("en-run", "value"),
                  State("en-policy", "value"))  # fmt: skip
    def en_policies(key, current):
        try:
            pols = state.get(key).tables["policies"]["policy"].astype(str).tolist()
        except (SchedlabError, KeyError):
            return [], None
        return pols, current if current in pols else (pols[-1] if pols else None)

    @app.callback(
        Output("en-graph", "figure"), Output("en-bars", "figure"), Output("en-grid", "rowData"),
        Output("en-grid", "columnDefs"), Output("en-msg", "children"),
        Input("tabs", "value"), Input("en-run", "value"), Input("en-policy", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("energy")
    @guard(5, 4)
    def energy(key, policy):
        res = state.get(key)
        pol = res.tables["policies"]
        if res.kind == "ecosched":
            main = figures.ecosched_gantt(res.tables["jobs"], policy or str(pol["policy"].iloc[0]))
            bars = figures.metric_bars(pol, "energy_j", title="energy (J) per policy")
        else:
            main = figures.ecoshift_caps(res, policy or str(pol["policy"].iloc[0]))
            bars = figures.metric_bars(pol, "measured_mean", title="mean performance under the cap, per policy")
        return main, bars, figures.rows(pol), figures.columns(pol), ""

    @app.callback(
        Output("an-findings", "children"), Output("an-fail", "figure"), Output("an-state", "figure"),
        Output("an-pngs", "children"), Output("an-msg", "children"), Input("tabs", "value"), Input("an-run", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    @on_tab("analytics")
    @guard(5, 4)
    def analytics(key):
        from schedlab.dashboard.results import png_uri

        res = state.get(key)
        findings = [html.Li(f) for f in res.summary.get("findings", []) if isinstance(f, str)]
        t = res.tables
        fail = (
            figures.class_bars(t["failure_rates"], "failed_rate", "FAILED rate: ML vs generic jobs")
            if "failure_rates" in t else figures.empty("no failure rates (the job file has no states)")
        )  # fmt: skip
        mix_col = "energy_kwh" if "energy_kwh" in t.get("state_mix", {}) else "node_hours"
        mix = (
            figures.class_bars(t["state_mix"], mix_col, f"{mix_col} by final state and job class")
            if "state_mix" in t else figures.empty("no state mix")
        )  # fmt: skip
        imgs = [
            html.Figure([html.Img(src=uri, style=dict(maxWidth="48%")), html.Figcaption(name)])
            for name in res.extra.get("pngs", [])
            if (uri := png_uri(res.path / name))
        ]
        return findings, fail, mix, imgs, ""


__all__ = ["register_views"]
