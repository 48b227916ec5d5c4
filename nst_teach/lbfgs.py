"""Projected L-BFGS: the paper's optimiser, with every pixel kept in [0, 1].

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2-3: L-BFGS "works best" for image synthesis.
    Nocedal & Wright, *Numerical Optimization*, 2006, Ch. 7: L-BFGS, here projected so
    that every pixel stays in [0, 1] (Bertsekas 1982).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

__all__ = ["Evaluate", "SMALLEST_MOVE", "projected_lbfgs"]

#: A line search gives up when its step would move no pixel by more than this (float32 resolves about 6e-8 near 1).
SMALLEST_MOVE = 1e-7

#: An image -> (loss, gradient). The gradient is fresh; an image handed over must not be changed in place
#: afterwards (the engine keeps the best one without a copy).
Evaluate = Callable[[Tensor], tuple[float, Tensor]]


def projected_lbfgs(evaluate: Evaluate, x0: Tensor, budget: int, history_size: int = 20) -> str:
    r"""Projected L-BFGS in PyTorch for ``budget`` evaluations: pixels kept in [0, 1], everything on the image's
    device. Returns ``""`` when the budget is spent, or why it stopped sooner.

    Each iteration (Nocedal & Wright, *Numerical Optimization*, Alg. 7.4 and 7.5;
    the active set as in Bertsekas 1982 and Kim, Sra & Dhillon 2010):

    1. *Active set*: pixels at a bound whose gradient pushes them outwards,
       :math:`\mathcal A = \{i : x_i = 0, g_i > 0\} \cup \{i : x_i = 1, g_i < 0\}`, are frozen.
    2. *Direction*: :math:`d = -H g` on the free pixels, with :math:`H` from the
       two-loop recursion over the last ``history_size`` pairs
       :math:`s_k = x_{k+1} - x_k`, :math:`y_k = g_{k+1} - g_k`, and
       :math:`H_0 = \frac{s^\top y}{y^\top y} I`.
    3. *Step*: :math:`x^+ = P_{[0,1]}(x + t d)`, from :math:`t = 1`, until
       :math:`f(x^+) \le f(x) + 10^{-4}\, g^\top (x^+ - x)` (Armijo on the projected path).
       A rejected :math:`t` is replaced by the minimiser of the parabola through
       :math:`f(x)`, the slope :math:`g^\top d` and :math:`f(x^+)`, kept within
       :math:`[0.1\,t, 0.5\,t]` (Nocedal & Wright, Sec. 3.5). If no step moving a pixel by over :data:`SMALLEST_MOVE`
       is lower, none is taken; then the gradient itself is tried, and if it fails too, x is stationary to the
       loss's precision (bfloat16's rounding hides an exact zero gradient).

    Unlike clamping after a plain L-BFGS step, the curvature pairs describe the
    step actually taken, so the memory stays consistent.
    """
    x = x0.detach().clone()
    f, g = evaluate(x)
    evaluations = 1
    memory: list[tuple[Tensor, Tensor, Tensor]] = []  # (s_k, y_k, 1 / s_k^T y_k), tensors: no host syncs
    while evaluations < budget:
        # 1. Active set: pixels at a bound that the gradient pushes outwards stay where they are.
        free = ~(((x <= 0) & (g > 0)) | ((x >= 1) & (g < 0)))
        # 2. Direction d = -H g on the free pixels, by the two-loop recursion over the memory.
        q = torch.where(free, g, 0.0)
        if memory:
            alphas = []
            for s_k, y_k, rho_k in reversed(memory):
                alphas.append(rho_k * (s_k * q).sum())
                q = q - alphas[-1] * y_k
            _, y_last, rho_last = memory[-1]
            q = q / (rho_last * (y_last * y_last).sum())  # H_0 = s^T y / y^T y
            for (s_k, y_k, rho_k), a in zip(memory, reversed(alphas)):
                q = q + (a - rho_k * (y_k * q).sum()) * s_k
            d = -torch.where(free, q, 0.0)
            t = 1.0
        else:
            d = -torch.where(free, g, 0.0)
            t = 0.1 / max(float(d.abs().max()), 1e-12)  # first step: move the pixels by at most 0.1
        slope = float((d * g).sum())
        if slope >= 0:  # not a descent direction: forget the memory, or stop at a stationary point
            if not memory:
                return "the projected gradient is zero (a stationary point)"
            memory.clear()
            continue
        # 3. Step along the projected path until the Armijo condition holds (or the budget is spent).
        largest = float(d.abs().max())
        while True:
            x_new = (x + t * d).clamp_(0, 1)
            f_new, g_new = evaluate(x_new)
            evaluations += 1
            lower = f_new <= f + 1e-4 * float((g * (x_new - x)).sum())
            if lower or evaluations >= budget or t * largest < SMALLEST_MOVE:  # the last: nothing lower along d
                break
            excess = f_new - f - slope * t  # > 0: the parabola curves upwards
            t = min(max(-slope * t * t / (2 * excess), 0.1 * t), 0.5 * t) if excess > 0 else 0.5 * t
        if not lower and evaluations < budget:  # keep x: try the gradient itself, or stop where nothing is lower
            if not memory:
                return "no step along the gradient lowers the loss (a stationary point, to the loss's precision)"
            memory.clear()
            continue
        # Remember the step actually taken, if its curvature s^T y is positive.
        s_k, y_k = x_new - x, g_new.detach() - g
        sy = (s_k * y_k).sum()
        if float(sy) > 1e-10 * float((y_k * y_k).sum()):
            memory.append((s_k, y_k, 1.0 / sy))
            if len(memory) > history_size:
                memory.pop(0)
        x, f, g = x_new, f_new, g_new.detach()
    return ""
