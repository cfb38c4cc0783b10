"""Every change local mode makes to moto, in one place. moto is pinned (requirements.lock) because
these touch its internals; each patch says where moto differs from AWS and what we do instead.

- Step Functions executes state machine definitions (moto's `execute_state_machine` config), so the
  real definition from the template runs locally.
- `States.MathRandom(start, end)`: AWS documents `end` as exclusive, moto draws it inclusive
  (`random.randint`). We follow AWS, so the state machine's `MathRandom(min, max + 1)` yields
  delays in [min, max] in both places.
"""

from __future__ import annotations

import random

from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.math_operations import math_random

_applied = False


def _math_random_end_exclusive(self, env) -> None:
    self.argument_list.eval(env=env)
    args = env.stack.pop()
    seed = args.pop() if self.argument_list.size == 3 else None
    end = self._validate_integer_value(args.pop(), "end")
    start = self._validate_integer_value(args.pop(), "start")
    if end <= start:
        raise ValueError(f"States.MathRandom needs start < end, got {start} and {end}")
    env.stack.append(random.Random(seed).randrange(start, end))


def apply() -> None:
    """Idempotent: safe to call from every entry point and test fixture."""
    global _applied
    if _applied:
        return
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    math_random.MathRandom._eval_body = _math_random_end_exclusive
    _applied = True
