"""The optimisers by name: the paper's projected L-BFGS (:mod:`nst_teach.lbfgs`) and two others.

References:
    Byrd, Lu, Nocedal & Zhu, *A Limited Memory Algorithm for Bound Constrained
    Optimization*, 1995: L-BFGS-B, SciPy's, kept as ``optimizer="lbfgsb"``.

Each optimiser takes ``evaluate`` (an image -> its loss and gradient), the start, its budget of
evaluations and the :class:`~nst_teach.settings.Settings`, and returns when the budget is spent
(``""``) or sooner (why).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from nst_teach.lbfgs import Evaluate, projected_lbfgs
from nst_teach.settings import Settings

__all__ = ["OPTIMIZERS", "Optimize", "adam", "lbfgs", "lbfgsb"]

#: ``(evaluate, x0, budget, settings) -> why it stopped early, or ""``.
Optimize = Callable[[Evaluate, Tensor, int, Settings], str]


def lbfgs(evaluate: Evaluate, x0: Tensor, budget: int, settings: Settings) -> str:
    """The paper's optimiser: :func:`~nst_teach.lbfgs.projected_lbfgs` with ``settings.history_size``."""
    return projected_lbfgs(evaluate, x0, budget, settings.history_size)


def lbfgsb(evaluate: Evaluate, x0: Tensor, budget: int, settings: Settings) -> str:
    """L-BFGS-B (Byrd et al. 1995, SciPy's), with every pixel bounded to [0, 1].

    The reference for :func:`~nst_teach.lbfgs.projected_lbfgs`, which reaches the same losses without
    SciPy's per-step cost or the copies between a GPU and NumPy. Returns SciPy's message
    when it stops before the budget.
    """
    import numpy as np
    from scipy.optimize import Bounds, minimize
    from threadpoolctl import threadpool_limits

    shape, device = x0.shape, x0.device
    evaluations = 0

    class Spent(Exception):
        """SciPy checks its own budget only between iterations: this ends a line search at ours."""

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        if evaluations == budget:
            raise Spent
        evaluations += 1
        loss, grad = evaluate(torch.from_numpy(z).to(device=device, dtype=torch.float32).view(shape))
        return loss, grad.detach().double().cpu().numpy().ravel()

    n = x0.numel()
    try:  # SciPy's BLAS threads would spin against PyTorch's between steps (2x slower on 2 cores)
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(fun, x0.double().cpu().numpy().ravel(), jac=True, method="L-BFGS-B",
                              bounds=Bounds(np.zeros(n), np.ones(n)),
                              options={"maxfun": budget, "maxiter": 10 * budget, "maxcor": settings.history_size,
                                       "ftol": 0.0, "gtol": 0.0})
    except Spent:
        return ""
    return "" if evaluations >= budget else str(result.message)


def adam(evaluate: Evaluate, x0: Tensor, budget: int, settings: Settings) -> str:
    """Adam, projected back onto [0, 1] after every step."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=settings.lr or 0.02)
    for _ in range(budget):
        _, x.grad = evaluate(x.detach().clone())  # a copy: opt.step() changes x in place
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return ""


#: The optimisers by name (``Settings.optimizer``; a test checks that the names agree).
OPTIMIZERS: dict[str, Optimize] = {"lbfgs": lbfgs, "lbfgsb": lbfgsb, "adam": adam}
