"""Deep-RL scheduling: a gymnasium environment over the step-wise engine, agents, PPO training.

``gymnasium.make("schedlab/Scheduling-v0", trace="theta_2022", ...)`` builds
:class:`schedlab.rl.env.SchedulingEnv` (its options: :class:`schedlab.rl.options.EnvOptions`);
importing :mod:`schedlab.rl` registers it.  A trained model is the ``model:`` policy of the
registry (:mod:`schedlab.rl.policy`).
"""

from __future__ import annotations

import gymnasium as gym

from schedlab.rl.env import REWARDS, SchedulingEnv
from schedlab.rl.options import EnvOptions

ENV_ID = "schedlab/Scheduling-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="schedlab.rl.env:SchedulingEnv")

__all__ = ["ENV_ID", "REWARDS", "EnvOptions", "SchedulingEnv"]
