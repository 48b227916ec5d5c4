"""The optimisers: each minimises a loss over an image's pixels, every pixel kept in [0, 1].

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2-3: L-BFGS "works best" for image synthesis.
    Nocedal & Wright, *Numerical Optimization*, 2006, Ch. 7: L-BFGS, here projected so
    that every pixel stays in [0, 1] (Bertsekas 1982).
    Byrd, Lu, Nocedal & Zhu, *A Limited Memory Algorithm for Bound Constrained
    Optimization*, 1995: L-BFGS-B, SciPy's, kept as ``optimizer="lbfgsb"``.

Each optimiser takes ``evaluate`` (an image -> its loss and gradient), the start and the
:class:`~nst_teach.settings.Settings`, and runs until ``evaluate`` raises: the engine's step
budget, a stop, a NaN. It returns why it stopped early, or ``""``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from nst_teach.settings import Settings

__all__ = ["OPTIMIZERS", "Evaluate", "adam", "lbfgsb", "projected_lbfgs"]

#: An image -> (loss, gradient). The gradient is a fresh tensor; the image must not be changed
#: in place after it is handed over (the engine keeps the best one without copying it).
Evaluate = Callable[[Tensor], tuple[float, Tensor]]


def projected_lbfgs(evaluate: Evaluate, x0: Tensor, settings: Settings) -> str:
    r"""Projected L-BFGS in PyTorch: pixels kept in [0, 1], everything on the image's device.

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
       :math:`[0.1\,t, 0.5\,t]` (Nocedal & Wright, Sec. 3.5).

    Unlike clamping after a plain L-BFGS step, the curvature pairs describe the
    step actually taken, so the memory stays consistent.
    """
    x = x0.detach().clone()
    f, g = evaluate(x)
    memory: list[tuple[Tensor, Tensor, Tensor]] = []  # (s_k, y_k, 1 / s_k^T y_k), tensors: no host syncs
    evaluations = 1
    while True:
        free = ~(((x <= 0) & (g > 0)) | ((x >= 1) & (g < 0)))
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
        before = evaluations
        while True:
            x_new = (x + t * d).clamp_(0, 1)
            f_new, g_new = evaluate(x_new)
            evaluations += 1
            if f_new <= f + 1e-4 * float((g * (x_new - x)).sum()) or t < 1e-8:
                break
            excess = f_new - f - slope * t  # > 0: the parabola curves upwards
            t = min(max(-slope * t * t / (2 * excess), 0.1 * t), 0.5 * t) if excess > 0 else 0.5 * t
        s_k, y_k = x_new - x, g_new.detach() - g
        sy = (s_k * y_k).sum()
        if float(sy) > 1e-10 * float((y_k * y_k).sum()):
            memory.append((s_k, y_k, 1.0 / sy))
            if len(memory) > settings.history_size:
                memory.pop(0)
        x, f, g = x_new, f_new, g_new.detach()
        if before < settings.low_precision_steps <= evaluations < settings.steps:  # crossed into the float32 tail (a line
            memory.clear()  # search may step over the switch): low-precision gradients leave their mark


def lbfgsb(evaluate: Evaluate, x0: Tensor, settings: Settings) -> str:
    """L-BFGS-B (Byrd et al. 1995, SciPy's), with every pixel bounded to [0, 1].

    The reference for :func:`projected_lbfgs`, which reaches the same losses without
    SciPy's per-step cost or the copies between a GPU and NumPy. Returns SciPy's message
    when it stops before the step budget.
    """
    import numpy as np
    from scipy.optimize import Bounds, minimize
    from threadpoolctl import threadpool_limits

    shape, device = x0.shape, x0.device

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = evaluate(torch.from_numpy(z).to(device=device, dtype=torch.float32).view(shape))
        return loss, grad.detach().double().cpu().numpy().ravel()

    n = x0.numel()
    z = x0.double().cpu().numpy().ravel()
    result = None
    # Low-precision gradients leave their mark in L-BFGS's memory, so the float32
    # tail starts afresh from where the bfloat16 phase ended.
    switch = settings.low_precision_steps
    for budget in (switch, settings.steps - switch):
        if budget <= 0:
            continue
        # SciPy's BLAS threads would spin against PyTorch's between steps (2x slower on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(fun, z, jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros(n), np.ones(n)),
                              options={"maxfun": budget, "maxiter": 10 * budget, "maxcor": settings.history_size,
                                       "ftol": 0.0, "gtol": 0.0})
        z = result.x
    return str(result.message) if result is not None else ""


def adam(evaluate: Evaluate, x0: Tensor, settings: Settings) -> str:
    """Adam, projected back onto [0, 1] after every step."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=settings.lr or 0.02)
    for _ in range(settings.steps):
        _, x.grad = evaluate(x.detach().clone())  # a copy: opt.step() changes x in place
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return ""


#: The optimisers by name (``Settings.optimizer``).
OPTIMIZERS: dict[str, Callable[[Evaluate, Tensor, Settings], str]] = {
    "lbfgs": projected_lbfgs,
    "lbfgsb": lbfgsb,
    "adam": adam,
}
