"""Slurm's multifactor priority, compiled (https://slurm.schedmd.com/priority_multifactor.html).

    priority = W_age * age + W_fairshare * fairshare + W_jobsize * size + W_partition * partition
               + W_qos * qos + W_assoc * 0 - nice                   (floored to an integer, >= 0)

with every factor in [0, 1]:

* age = min(now - submit, PriorityMaxAge) / PriorityMaxAge (a job is eligible at submit);
* size = nodes / machine nodes, or with PriorityFavorSmall 1 - (nodes - 1) / machine nodes;
* partition = the partition's PriorityJobFactor / the largest one;
* qos = the QOS's Priority / the largest one (0 without QOS);
* fairshare, from usage decayed with PriorityDecayHalfLife: every PriorityCalcPeriod the
  usage of each association (account, user) is multiplied by 0.5^(period / half-life) and the
  CPU-seconds its jobs ran since are added; then

  - ``classic`` (one level): F = 2^(-U / S), U the association's share of all usage, S its share
    of the machine (its account's shares / all shares, split evenly among the account's users);
    F = 1 before any usage;
  - ``fair_tree`` (https://slurm.schedmd.com/fair_tree.html): Level FS = S / U among siblings
    (accounts under the root, then users within an account; infinity without usage); accounts by
    Level FS, and within each its users by Level FS, are walked depth first, highest first; the
    n-th user of N gets rank N - n + 1 (ties at both levels share a rank) and F = rank / N.

Jobs are taken in order of partition PriorityTier, then priority, then submit time, then job id.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FS_CLASSIC, FS_FAIR_TREE = 0, 1
#: weights (index into the ``weights`` array)
W_AGE, W_FS, W_SIZE, W_PART, W_QOS = range(5)


@njit(cache=True)
def decay_usage(usage, pending, factor):
    """One PriorityCalcPeriod: old usage decays by ``factor``, new usage is added."""
    for a in range(usage.shape[0]):
        usage[a] = usage[a] * factor + pending[a]
        pending[a] = 0.0


@njit(cache=True)
def _account_usage(usage, assoc_acct, n_acct):
    au = np.zeros(n_acct)
    for a in range(usage.shape[0]):
        au[assoc_acct[a]] += usage[a]
    return au


@njit(cache=True)
def fairshare_factors(mode, usage, assoc_acct, acct_shares, acct_users, out):
    """The fair-share factor of every association into ``out`` (see the module docstring)."""
    n_acct = acct_shares.shape[0]
    n_assoc = usage.shape[0]
    total_s = acct_shares.sum()
    total_u = usage.sum()
    au = _account_usage(usage, assoc_acct, n_acct)
    if mode == FS_CLASSIC:
        for a in range(n_assoc):
            if total_u <= 0.0:
                out[a] = 1.0
                continue
            ac = assoc_acct[a]
            s = acct_shares[ac] / total_s / acct_users[ac]
            out[a] = 2.0 ** (-(usage[a] / total_u) / s)
        return
    acct_lfs = np.empty(n_acct)
    for ac in range(n_acct):
        u = au[ac] / total_u if total_u > 0.0 else 0.0
        acct_lfs[ac] = np.inf if u <= 0.0 else (acct_shares[ac] / total_s) / u
    user_lfs = np.empty(n_assoc)
    for a in range(n_assoc):
        ac = assoc_acct[a]
        u = usage[a] / au[ac] if au[ac] > 0.0 else 0.0
        user_lfs[a] = np.inf if u <= 0.0 else (1.0 / acct_users[ac]) / u
    # depth first, highest Level FS first; sibling accounts with equal Level FS are merged (their
    # users sorted together), as Fair Tree's ties are
    by_user = np.argsort(-user_lfs, kind="mergesort")
    key = np.empty(n_assoc)
    for i in range(n_assoc):
        key[i] = -acct_lfs[assoc_acct[by_user[i]]]
    order = by_user[np.argsort(key, kind="mergesort")]
    rank = n_assoc
    for i in range(n_assoc):
        a = order[i]
        if i > 0:
            prev = order[i - 1]
            tie = acct_lfs[assoc_acct[a]] == acct_lfs[assoc_acct[prev]] and user_lfs[a] == user_lfs[prev]
            if not tie:
                rank = n_assoc - i
        out[a] = rank / n_assoc


@njit(cache=True, inline="always")
def _value(age, fs, size, part, qos, nice, w_age, w_fs, w_size, w_part, w_qos):
    """The documented sum of weighted factors, floored, never below 0 (scalars only)."""
    return max(np.floor(w_age * age + w_fs * fs + w_size * size + w_part * part + w_qos * qos - nice), 0.0)


@njit(cache=True)
def job_priority(j, now, submit, weights, max_age, size_f, part_f, qos_f, nice, assoc, fs):
    """The job's multifactor priority at ``now`` (integer-valued float, >= 0)."""
    age = min(max(now - submit[j], 0.0), max_age) / max_age
    return _value(age, fs[assoc[j]], size_f[j], part_f[j], qos_f[j], nice[j],
                  weights[W_AGE], weights[W_FS], weights[W_SIZE], weights[W_PART], weights[W_QOS])  # fmt: skip


@njit(cache=True)
def queue_priorities(q, nq, now, submit, weights, max_age, size_f, part_f, qos_f, nice, assoc, fs, tier, scale, key):
    """``key[j] = tier[j] * scale + priority`` for every waiting job ``q[:nq]`` (one call per
    PriorityCalcPeriod: a call per job passing the arrays costs more than the formula)."""
    wa, wf, ws, wp, wq = weights[W_AGE], weights[W_FS], weights[W_SIZE], weights[W_PART], weights[W_QOS]
    for i in range(nq):
        j = q[i]
        age = min(max(now - submit[j], 0.0), max_age) / max_age
        p = _value(age, fs[assoc[j]], size_f[j], part_f[j], qos_f[j], nice[j], wa, wf, ws, wp, wq)
        key[j] = tier[j] * scale + p


__all__ = ["FS_CLASSIC", "FS_FAIR_TREE", "decay_usage", "fairshare_factors", "job_priority", "queue_priorities"]
