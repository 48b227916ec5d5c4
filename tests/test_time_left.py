"""The time left: the plan's remaining steps, priced by pixels from the steps timed so far; the bar that shows it."""

import pytest
import torch

from nst_teach import Settings, build_objective, optimize
from nst_teach.coarse_to_fine import Phase
from nst_teach.time_left import FIRST_AFTER, FLOAT32_OVER_BFLOAT16, OVERHEAD, ProgressBar, TimeLeft

PLAN = [Phase(2, 90, "bfloat16"), Phase(2, 10, "float32"), Phase(1, 90, "bfloat16"), Phase(1, 10, "float32"),
        Phase(0, 27, "bfloat16"), Phase(0, 3, "float32")]


def step_cost(level: int, precision: str) -> float:
    """A made-up machine that prices a step as o + c P at 384 x 512 halved ``level`` times, float32 1.75 x bfloat16."""
    return OVERHEAD + 1e-6 * (384 * 512 // 4**level) * (FLOAT32_OVER_BFLOAT16 if precision == "float32" else 1.0)


def test_a_machine_that_prices_steps_by_pixels_is_foreseen_from_its_first_coarse_steps():
    eta = TimeLeft(PLAN, (384, 512))
    whole = sum(p.steps * step_cost(p.level, p.precision) for p in PLAN)
    for _ in range(FIRST_AFTER + 1):
        eta.step(0, step_cost(2, "bfloat16"))
    # the float32 tails and the larger levels priced before any of their steps is timed
    assert eta.seconds() == pytest.approx(whole - (FIRST_AFTER + 1) * step_cost(2, "bfloat16"), rel=1e-9)


def test_the_first_step_is_not_a_price_and_nothing_is_said_before_ten_are_timed():
    assert FIRST_AFTER == 10  # the steps after the first still warm the caches: a median of three priced runs 30 % high
    eta = TimeLeft([Phase(0, 20, "float32")], (10, 10))
    eta.step(0, 100.0)  # building the kernels
    for _ in range(FIRST_AFTER - 1):
        eta.step(0, OVERHEAD + 0.01)
        assert eta.seconds() is None
    eta.step(0, OVERHEAD + 0.01)
    assert eta.seconds() == pytest.approx(9 * (OVERHEAD + 0.01))


def test_a_phase_left_early_has_no_steps_left_and_a_late_report_covers_several_steps():
    eta = TimeLeft([Phase(1, 100, "float32"), Phase(0, 10, "float32")], (20, 20))  # 100 px, then 400 px
    for _ in range(FIRST_AFTER + 1):
        eta.step(0, OVERHEAD + 0.01)
    eta.step(1, 4 * (OVERHEAD + 0.04), steps=4)  # a still level 1 ended; a callback every 4 steps
    assert eta.taken == [100, 4] and eta.seconds() == pytest.approx(6 * (OVERHEAD + 0.04))


def test_the_bar_keeps_its_first_estimate_and_shows_the_time_left(encoder, photo, painting, capsys):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=["relu4_2"],
                                style_layers=["relu1_1", "relu3_1"], alpha=1e-2)
    bar = ProgressBar(12, "transfer")
    result = optimize(encoder, objective, torch.rand_like(photo), Settings(every=1),
                      [Phase(1, 6, "float32"), Phase(0, 6, "float32")], callback=bar)
    bar.close()
    first = bar.first_estimate
    assert set(first) == {"at_s", "seconds_left"} and 0 < first["at_s"] < result.seconds
    real = result.seconds - first["at_s"]  # from steps at half size alone: 2 more there, 6 at 4 x the pixels
    assert real / 4 < first["seconds_left"] < 4 * real
    assert bar.time_left.seconds() == 0 and bar.bar.postfix.startswith("00:00 left, loss=")
