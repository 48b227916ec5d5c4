"""Projected L-BFGS (the paper's optimiser, kept in [0, 1]) and the other optimisers, each with an explicit budget."""

import warnings
from typing import get_args

import pytest
import torch

from nst_teach import Settings, build_objective, optimize
from nst_teach.lbfgs import projected_lbfgs
from nst_teach.optimizers import OPTIMIZERS
from nst_teach.settings import Optimizer
from nst_teach.starts import initial_image


def test_projected_lbfgs_matches_scipys_l_bfgs_b_on_a_box_constrained_quadratic():
    """Where the answer is unique, both find it: a convex quadratic 1/2 (x - c)^T Q (x - c) with a coupled Q and a centre c
    partly outside [0, 1], so that the bounds are active at the minimiser. Ours reaches SciPy's minimiser (solved to
    full precision) to 1e-4 in every pixel and its loss to 1e-6 of the start."""
    from scipy.optimize import minimize

    g = torch.Generator().manual_seed(0)
    n = 12
    B = torch.randn(n, n, generator=g, dtype=torch.float64)
    Q = B @ B.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    c = 2 * torch.rand(n, generator=g, dtype=torch.float64) - 0.5

    def f(x):
        r = x.flatten().double() - c
        return float(0.5 * r @ Q @ r), (Q @ r).view(x.shape).to(x.dtype)

    theirs = minimize(lambda v: (f(torch.from_numpy(v))[0], f(torch.from_numpy(v))[1].numpy()), torch.full((n,), 0.5).numpy(),
                      jac=True, method="L-BFGS-B", bounds=[(0, 1)] * n, options={"ftol": 1e-15, "gtol": 1e-12})
    assert theirs.success and 0 < (theirs.x == 0).sum() + (theirs.x == 1).sum() < n  # some bounds active, not all
    seen = []

    def evaluate(x):
        loss, grad = f(x)
        seen.append((loss, x.clone()))
        return loss, grad

    projected_lbfgs(evaluate, torch.full((1, 3, 2, 2), 0.5, dtype=torch.float64), budget=200)
    best_loss, best_x = min(seen, key=lambda pair: pair[0])
    assert best_loss - theirs.fun < 1e-6 * (seen[0][0] - theirs.fun)
    torch.testing.assert_close(best_x.flatten(), torch.from_numpy(theirs.x), atol=1e-4, rtol=0)


def test_projected_lbfgs_descends_as_far_as_scipys_l_bfgs_b_on_a_texture(encoder, texture, cpu_kind_heavy):
    """On the network's loss, which is not convex, the two reach different points: both take the loss below 1/100 of
    the start in 40 steps, and ours ends no more than 3 times above SciPy's (an optimiser that stalled, or stepped
    outside [0, 1] and was clipped back, ends tens of times above)."""
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1", "conv2_1"], alpha=0, beta=1)
    x0 = initial_image("noise", texture.shape, seed=3)
    ours, scipys = (optimize(encoder, objective, x0, Settings(optimizer=o, steps=40)) for o in ("lbfgs", "lbfgsb"))
    start = ours.history[0]["total"]
    assert ours.losses["total"] < start / 100 and scipys.losses["total"] < start / 100
    assert ours.losses["total"] < 3 * scipys.losses["total"]


def test_line_search_interpolates_instead_of_halving():
    """A rejected step is replaced by the parabola's minimiser: on a quadratic, the exact one."""
    trials = []

    def evaluate(x):
        trials.append(x.clone())
        r = x - 0.5
        return float(500 * (r * r).sum()), 1000 * r

    message = projected_lbfgs(evaluate, torch.full((1, 3, 2, 2), 0.51), budget=10)
    assert float((trials[1] - 0.5).abs().max()) > 0.05  # the first step (pixels moved by 0.1) overshoots
    assert torch.allclose(trials[2], torch.full_like(trials[2], 0.5), atol=1e-6)  # halving would give 0.46
    assert "stationary" in message and len(trials) == 3


def test_the_budget_is_spent_exactly_even_inside_a_line_search():
    calls = []

    def evaluate(x):  # Rosenbrock's valley: line searches take several evaluations
        calls.append(1)
        x = x.detach().requires_grad_(True)
        f = (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum()
        f.backward()
        return float(f.detach()), x.grad

    for budget in (1, 2, 7, 13, 40):
        calls.clear()
        assert projected_lbfgs(evaluate, torch.zeros(1, 1, 1, 8), budget) == "" and len(calls) == budget


def test_projected_lbfgs_stops_at_a_stationary_point(encoder, texture):
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)
    exact = Settings(steps=10, precision="float32")  # the image is its own target: the gradient is zero at the start
    result = optimize(encoder, objective, texture.clone(), exact)
    assert result.status == "finished" and result.steps == 1 and "stationary" in result.message


def test_a_gradient_that_rounding_has_bent_stops_instead_of_climbing():
    """At a minimum whose gradient carries rounding noise (bfloat16's), no step lowers the loss: the line search
    gives up below SMALLEST_MOVE, the step is not taken, and the run says it is at a stationary point."""
    from nst_teach.lbfgs import SMALLEST_MOVE

    x0 = torch.full((1, 3, 4, 4), 0.5)
    noise = torch.linspace(-1e-3, 1e-3, x0.numel()).view_as(x0)  # what rounding leaves of a zero gradient
    seen = []

    def evaluate(x):
        seen.append(float(((x - x0) ** 2).sum()))
        return seen[-1], 2 * (x - x0) + noise

    message = projected_lbfgs(evaluate, x0, budget=100)
    assert "stationary" in message and len(seen) < 100
    assert seen[0] == 0 and all(f > 0 for f in seen[1:])  # every trial was higher: none was taken
    assert 0.1 * SMALLEST_MOVE < min(f**0.5 for f in seen[1:]) < 10 * SMALLEST_MOVE * x0.numel() ** 0.5


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_start_at_the_optimum_stays_there_in_either_precision(encoder, texture, precision):
    """The image is its own target. In float32 the gradient is exactly zero and the run stops at once; in bfloat16
    rounding hides the zero, the steps it takes stay within that rounding, and the image stays the start."""
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bfloat16 emulated on this CPU
        result = optimize(encoder, objective, texture.clone(), Settings(steps=30, precision=precision, float32_tail=0))
    assert result.status == "finished"
    if precision == "float32":
        assert result.steps == 1 and "stationary" in result.message
    assert float((result.image - texture).abs().max()) < 0.02


def test_the_optimisers_are_the_settings_choices():
    assert tuple(OPTIMIZERS) == get_args(Optimizer)
