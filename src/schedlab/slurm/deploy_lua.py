"""A submit tree as Slurm's ``job_submit.lua`` (``schedlab deploy lua``).

slurmctld (``JobSubmitPlugins=lua``) calls ``slurm_job_submit(job_desc, part_list, submit_uid)``
for every new job.  The script written here computes the job's
:data:`~schedlab.explain.features.SUBMIT_FEATURES` from ``job_desc``, walks the tree to its rule
(:mod:`.deploy_rules`), and sets:

* ``job_desc.nice``: the job's own nice (0 if it gave none) + the rule's nice (Slurm 22.05 keeps
  ``nice + 2^31`` in this field, as Lua reads and writes it);
* ``job_desc.partition`` / ``job_desc.qos``: the rule's route, only when the job named none;
* ``job_desc.admin_comment``: ``schedlab TREE R<k> score S nice N`` (``scontrol show job``,
  ``squeue --json`` and ``sacct -o AdminComment`` show which rule placed a job).

What the job shows, in Lua: ``request_h`` is ``time_limit`` (minutes) / 60, or the deploy's
``default_time_h`` when the job gave no limit; ``procs`` is ``max(min_cpus, num_tasks x
cpus_per_task)`` (``unit="cpus"``) or ``min_nodes`` (``unit="nodes"``); ``user_accuracy`` comes
from the history table written into the script (refresh it by deploying again, e.g. nightly);
``predicted_h`` is computed from both as schedlab computes it.  Unset numbers (Slurm's NO_VAL)
read as not given.  ``slurm_job_modify`` keeps the rules decided at submit (it changes nothing).
"""

from __future__ import annotations

from schedlab.errors import SchedlabError
from schedlab.slurm.deploy_rules import SLURM_NAME, SubmitRules

UNITS = ("cpus", "nodes")


def _num(x: float) -> str:
    """A Lua number literal (the tree's thresholds are finite: checked when it was loaded)."""
    text = repr(float(x))
    if text in ("inf", "-inf", "nan"):
        raise SchedlabError(f"cannot write {text} into Lua")
    return text


def _tree_function(rules: SubmitRules) -> list[str]:
    tree = rules.tree
    out = ["local function rule_of(f)"]

    def walk(node: int, depth: int) -> None:
        pad = "  " * depth
        fi = int(tree.feature[node])
        if fi < 0:
            out.append(f"{pad}return {rules.leaf_rule[node] + 1}")
            return
        out.append(f"{pad}if f.{tree.features[fi]} <= {_num(tree.threshold[node])} then")
        walk(int(tree.left[node]), depth + 1)
        out.append(f"{pad}else")
        walk(int(tree.right[node]), depth + 1)
        out.append(f"{pad}end")

    walk(0, 1)
    out.append("end")
    return out


def _rules_table(rules: SubmitRules) -> list[str]:
    out = ["local RULES = {"]
    for r in rules.rules:
        part = f'"{r.partition}"' if r.partition else "nil"
        qos = f'"{r.qos}"' if r.qos else "nil"
        out.append(f"  [{r.id}] = {{score = {_num(r.score)}, nice = {r.nice}, partition = {part}, qos = {qos}}},")
    out.append("}")
    return out


def _history_table(history: dict[str, float]) -> list[str]:
    out = ["local HISTORY = {"]
    for user in sorted(history):
        if not SLURM_NAME.match(user):
            raise SchedlabError(f"user name {user!r} cannot be written into Lua")
        out.append(f'  ["{user}"] = {_num(history[user])},')
    out.append("}")
    return out


_BODY = """
local NO_VAL = 4294967294
local NO_VAL16 = 65534
local NICE_OFFSET = 2147483648 -- Slurm keeps nice + 2^31 in job_desc.nice
local MAX_NICE = 10000000

local function given(v, unset)
  if v == nil or v >= unset then return nil end
  return v
end

local function features(job_desc)
  local f = {}
  local tl = given(job_desc.time_limit, NO_VAL)
  f.request_h = tl and tl / 60.0 or DEFAULT_TIME_H
  if UNIT == "nodes" then
    f.procs = given(job_desc.min_nodes, NO_VAL) or 1
  else
    local cpus = given(job_desc.min_cpus, NO_VAL) or 1
    local tasks = given(job_desc.num_tasks, NO_VAL) or 1
    local cpt = given(job_desc.cpus_per_task, NO_VAL16) or 1
    f.procs = math.max(cpus, tasks * cpt)
  end
  f.user_accuracy = HISTORY[job_desc.user_name or ""] or 0.0
  f.predicted_h = f.request_h * math.min(1.0, 2.0 ^ math.min(f.user_accuracy, 0.0))
  return f
end

function slurm_job_submit(job_desc, part_list, submit_uid)
  local f = features(job_desc)
  local id = rule_of(f)
  local r = RULES[id]
  local own = job_desc.nice
  if own == nil or own >= NO_VAL then own = 0 else own = own - NICE_OFFSET end
  if own < -MAX_NICE or own > MAX_NICE then own = 0 end
  job_desc.nice = NICE_OFFSET + own + r.nice
  if r.partition ~= nil and job_desc.partition == nil then job_desc.partition = r.partition end
  if r.qos ~= nil and job_desc.qos == nil then job_desc.qos = r.qos end
  job_desc.admin_comment = string.format("schedlab %s R%d score %.4g nice %d", TREE, id, r.score, r.nice)
  slurm.log_info("schedlab %s: R%d (request_h %.3f, procs %d) nice %d", TREE, id, f.request_h, f.procs, r.nice)
  return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
  return slurm.SUCCESS
end
"""


def to_lua(rules: SubmitRules, history: dict[str, float], unit: str = "cpus", default_time_h: float = 24.0) -> str:
    """The job_submit.lua text applying ``rules`` (see the module docstring)."""
    if unit not in UNITS:
        raise SchedlabError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if not 0 < float(default_time_h) <= 24 * 366:
        raise SchedlabError(f"default time must be in (0, {24 * 366}] hours, got {default_time_h!r}")
    head = [
        f"-- job_submit.lua written by `schedlab deploy lua`: tree {rules.name} ({len(rules.rules)} rules).",
        f"-- A higher tree score runs earlier: nice 0 for the best rule, {rules.nice_max} for the worst. The rules:",
        *[f"--   {line}" for line in rules.lines()],
        f"-- user_accuracy of {len(history)} user(s) from the history table below (others read 0).",
        "",
        f'local TREE = "{rules.name}"',
        f'local UNIT = "{unit}"',
        f"local DEFAULT_TIME_H = {_num(default_time_h)}",
    ]
    return "\n".join(
        [*head, *_history_table(history), *_rules_table(rules), *_tree_function(rules), _BODY.rstrip(), ""]
    )


__all__ = ["UNITS", "to_lua"]
