"""Checks for assignment 2, "From losses to pictures": the encoder, the loop, the targets.

Each check runs the student's function on a small, fixed problem and names the classic
mistakes of this stage when it sees them: the image not requiring a gradient, a
learning-rate-style loop with L-BFGS, clamping inside L-BFGS's line search, the targets
recomputed every step, and max pooling where the paper synthesises with average pooling.
Like :mod:`nst_teach.classroom.checks`, a check never raises; it prints PASS, TODO or FAIL with a hint.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.classroom.checks import encoder_and_images, report

__all__ = ["check_make_encoder", "check_synthesize", "check_texture_loss"]


def check_make_encoder(make_encoder: Callable) -> bool:
    """``make_encoder() -> VGG19Features``: the paper's trained network with average pooling."""
    try:
        encoder = make_encoder()
    except NotImplementedError:
        return report("make_encoder", "todo", 1)
    except Exception as err:
        return report("make_encoder", f"raised {type(err).__name__}: {err}", 1)
    if getattr(encoder, "is_random", True):
        return report("make_encoder", "these are random weights (or not an encoder from load_vgg19_features): "
                       "synthesis needs the trained network, nt.load_vgg19_features() gives the paper's.", 1)
    if getattr(encoder, "pooling", None) != "avg":
        return report("make_encoder", "max pooling: forgetting average pooling. The paper replaces max by "
                       "average pooling for synthesis (CVPR 2016, Sec. 2): pooling='avg'.", 1)
    return report("make_encoder", None, 1)


class _Quadratic:
    """``sum_i w_i (x_i - t_i)^2`` on a 1 x 3 x 8 x 8 image, badly conditioned (w from 1 to 1000).

    Some targets lie outside [0, 1], so the best image in [0, 1] is ``clamp(t)`` (the problem is
    separable); the loss of a result is measured after clamping it. Records every image it is
    evaluated at, so that clamping during the run shows.
    """

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(2)
        self.t = torch.rand(1, 3, 8, 8, generator=g) * 1.6 - 0.3
        self.w = 10 ** (3 * torch.rand(1, 3, 8, 8, generator=g))
        self.seen: list[Tensor] = []

    def __call__(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        return self.loss(x)

    def loss(self, x: Tensor) -> Tensor:
        return (self.w * (x - self.t) ** 2).sum()

    def excess(self, x: Tensor) -> float:
        """How far above the best image in [0, 1] the loss of ``x`` (clamped) is, relative to the start's."""
        best, start = float(self.loss(self.t.clamp(0, 1))), float(self.loss(torch.full_like(self.t, 0.5)))
        return (float(self.loss(x.detach().clamp(0, 1))) - best) / (start - best)


def check_synthesize(synthesize: Callable) -> bool:
    """``synthesize(loss_fn, x0, steps) -> x``: L-BFGS with a closure from ``x0``, at most ``steps`` evaluations."""
    problem = _Quadratic()
    x0 = torch.full((1, 3, 8, 8), 0.5)
    try:
        x = synthesize(problem, x0.clone(), 60)
    except NotImplementedError:
        return report("synthesize", "todo", 1)
    except RuntimeError as err:
        if "does not require grad" in str(err):
            return report("synthesize", "the image does not require a gradient: make x a leaf that does, "
                           "x = x0.detach().clone().requires_grad_(True), and give that x to the optimiser.", 1)
        return report("synthesize", f"raised RuntimeError: {err}", 1)
    except TypeError as err:
        if "closure" in str(err):
            return report("synthesize", "L-BFGS needs a closure: optimizer.step(closure), where the closure "
                           "clears the gradients, computes the loss, calls backward and returns the loss.", 1)
        return report("synthesize", f"raised TypeError: {err}", 1)
    except Exception as err:
        return report("synthesize", f"raised {type(err).__name__}: {err}", 1)
    if not isinstance(x, Tensor) or x.shape != x0.shape:
        return report("synthesize", f"return the image, a tensor of shape {tuple(x0.shape)}.", 1)
    if len(problem.seen) > 61:  # max_eval is checked between iterations: a line search may make one more
        return report("synthesize", f"{len(problem.seen)} evaluations for steps=60: a step is one evaluation "
                       "of the loss; limit them (LBFGS's max_eval).", 1)
    at_bounds = max(float(((s == 0) | (s == 1)).float().mean()) for s in problem.seen)
    if at_bounds > 0.05:  # without clamping, an evaluated pixel is hardly ever exactly 0 or 1
        return report("synthesize", f"{at_bounds:.0%} of the pixels of an evaluated image sat exactly at 0 or 1: "
                       "clamping during the optimisation. Changing x in the closure or between L-BFGS's steps "
                       "breaks the curvature it learns from them; clamp once, at the end.", 1)
    if float(x.min()) < 0 or float(x.max()) > 1:
        return report("synthesize", "the image has values outside [0, 1]: clamp it once, at the end.", 1)
    excess = problem.excess(x)
    if excess > 1e-3:
        return report("synthesize", f"the loss stayed {excess:.1%} above the best after 60 evaluations: a "
                       "learning-rate-style loop? L-BFGS finds its own step: one optimizer.step(closure) with "
                       "max_iter and max_eval set, and line_search_fn='strong_wolfe'.", 1)
    return report("synthesize", None, 1)


class _CountingEncoder:
    """Wraps an encoder and counts how often it sees each image."""

    def __init__(self, encoder) -> None:
        self.encoder, self.calls = encoder, list[Tensor]()

    def __call__(self, image: Tensor, layers):
        self.calls.append(image.detach().clone())
        return self.encoder(image, layers)


def check_texture_loss(texture_loss: Callable) -> bool:
    """``texture_loss(encoder, style, layers) -> loss_fn``: ``loss_fn(x) = sum_l w_l E_l`` with ``w_l = 1/L``,
    the style's Gram matrices computed once."""
    encoder, _, style = encoder_and_images()
    counting = _CountingEncoder(encoder)
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    x = torch.rand(style.shape, generator=torch.Generator().manual_seed(5))
    try:
        loss_fn = texture_loss(counting, style, layers)
        values = [loss_fn(x) for _ in range(3)]
    except NotImplementedError:
        return report("texture_loss", "todo", 1)
    except Exception as err:
        return report("texture_loss", f"raised {type(err).__name__}: {err}", 1)
    with torch.no_grad():
        A, F = encoder(style, layers), encoder(x, layers)
        expected = sum(losses.style_layer_loss(F[l], losses.gram_matrix(A[l])) for l in layers) / len(layers)
    style_calls = sum(torch.equal(seen, style) for seen in counting.calls)
    if style_calls > 1:
        return report("texture_loss", f"the style image went through the network {style_calls} times for 3 "
                       "evaluations: the targets are recomputed every step. Compute the Gram matrices A once, "
                       "before loss_fn, under torch.no_grad().", 1)
    value = values[-1]
    if not isinstance(value, Tensor) or value.numel() != 1:
        return report("texture_loss", "loss_fn(x) must return a one-element tensor.", 1)
    if not torch.allclose(value.detach().double(), torch.as_tensor(expected).double(), rtol=1e-4):
        return report("texture_loss", f"expected {float(expected):.6g}, got {float(value):.6g}: "
                       "sum over the layers of w_l E_l with w_l = 1 / len(layers) (Eq. 4, 5).", 1)
    return report("texture_loss", None, 1)
