"""One optimisation engine for the paper's three tasks.

References:
    Gatys, Ecker & Bethge, CVPR 2016, Sec. 2-3: synthesis by gradient descent
    on a white-noise image; L-BFGS "works best" for image synthesis.
    Byrd, Lu, Nocedal & Zhu, *A Limited Memory Algorithm for Bound Constrained
    Optimization*, 1995: L-BFGS-B, which keeps every pixel in [0, 1].
    Mahendran & Vedaldi, CVPR 2015, and the CVPR 2016 paper's Fig. 1: content
    reconstruction from a single layer.

The pipeline is image -> features (:mod:`nst_teach.features`) -> losses
(:mod:`nst_teach.losses`) -> optimiser (here) -> image. The three tasks only
differ in their :class:`Objective`:

* content reconstruction: ``alpha = 1``, ``beta = 0``, one content layer;
* texture synthesis: ``alpha = 0``, ``beta = 1``, style layers with ``w_l``;
* style transfer: both, with the ratio ``alpha / beta``.

Notebooks, the CLI, the assignments and the benchmark all call :func:`optimize`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Mapping, Sequence, Union

import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.features import VGG19Features, check_layers
from nst_teach.images import resize
from nst_teach.precision import autocast_dtype

__all__ = [
    "CONTENT_LAYER",
    "STYLE_LAYERS",
    "Init",
    "Objective",
    "Progress",
    "Result",
    "Settings",
    "build_objective",
    "initial_image",
    "optimize",
    "reconstruct_content",
    "style_transfer",
    "synthesize_texture",
]

#: The paper's content layer (CVPR 2016, Fig. 2 and 3).
CONTENT_LAYER = "conv4_2"
#: The paper's style layers, each with w_l = 1/5 (CVPR 2016, Fig. 2).
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

#: A weight per layer: one number, or one per image of a batch (shape ``(B,)``).
LayerWeight = Union[float, Tensor]
Init = Union[Literal["noise", "content", "style"], Tensor]


@dataclass
class Objective:
    """What the image should match. Targets are computed once and detached.

    The total is ``alpha * sum_l c_l L_content(F_l, P_l) + beta * sum_l w_l E_l + tv_weight * TV``
    (CVPR 2016, Eq. 7; the TV term is an optional extra).
    """

    P: dict[str, Tensor] = field(default_factory=dict)  # content layer -> content features P_l
    A: dict[str, Tensor] = field(default_factory=dict)  # style layer -> style Gram matrix A_l
    content_weights: dict[str, LayerWeight] = field(default_factory=dict)  # c_l, usually {"conv4_2": 1}
    style_weights: dict[str, LayerWeight] = field(default_factory=dict)  # w_l, the paper: 1/5 each
    alpha: float = 1.0  # content weight
    beta: float = 1.0  # style weight
    tv_weight: float = 0.0  # total-variation weight (0: off, as in the paper)

    @property
    def layers(self) -> list[str]:
        """Every layer the encoder must return."""
        return list(dict.fromkeys([*self.content_weights, *self.style_weights]))

    def terms(self, F: Mapping[str, Tensor], x: Tensor) -> dict[str, Tensor]:
        """Loss terms for features ``F`` of image ``x``: content, style, tv and total.

        Features are upcast to float32 first, so the losses are exact even when
        the network ran in bfloat16.
        """
        zero = x.new_zeros((), dtype=torch.float32)
        L_content = sum((_weighted(losses.content_loss, F[l].float(), self.P[l], w)
                         for l, w in self.content_weights.items()), zero)
        L_style = sum((_weighted(losses.style_layer_loss, F[l].float(), self.A[l], w)
                       for l, w in self.style_weights.items()), zero)
        out = {"content": L_content, "style": L_style}
        total = losses.total_loss(L_content, L_style, self.alpha, self.beta)
        if self.tv_weight:
            out["tv"] = losses.total_variation(x.float())
            total = total + self.tv_weight * out["tv"]
        out["total"] = total
        return out


def _weighted(loss: Callable[[Tensor, Tensor], Tensor], F: Tensor, T: Tensor, w: LayerWeight) -> Tensor:
    """``w * loss(F, T)``, or with one weight per image: ``sum_b w_b * loss(F_b, T_b)``."""
    if not isinstance(w, Tensor):
        return w * loss(F, T.expand(F.shape[0], *T.shape[1:]))
    T = T.expand(F.shape[0], *T.shape[1:])
    return sum(float(w_b) * loss(F[b : b + 1], T[b : b + 1]) for b, w_b in enumerate(w.tolist()) if w_b)


@torch.no_grad()
def build_objective(
    encoder: VGG19Features,
    *,
    content: Tensor | None = None,
    style: Tensor | None = None,
    content_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
    style_layers: Mapping[str, LayerWeight] | Sequence[str] = (),
    alpha: float = 1.0,
    beta: float = 1.0,
    tv_weight: float = 0.0,
) -> Objective:
    """Compute the targets ``P_l = F_l(content)`` and ``A_l = G(F_l(style))`` once.

    Layer lists without weights get equal weights summing to 1 (the paper's
    ``w_l = 1/5`` over five layers). ``content`` and ``style`` may be batches.
    """
    c_w = _as_weights(content_layers)
    s_w = _as_weights(style_layers)
    if c_w and content is None:
        raise ValueError("content layers were given but no content image")
    if s_w and style is None:
        raise ValueError("style layers were given but no style image")
    P = _features(encoder, content, list(c_w)) if c_w else {}
    A = {l: losses.gram_matrix(F) for l, F in _features(encoder, style, list(s_w)).items()} if s_w else {}
    return Objective(P, A, c_w, s_w, alpha, beta, tv_weight)


def _as_weights(layers: Mapping[str, LayerWeight] | Sequence[str]) -> dict[str, LayerWeight]:
    if isinstance(layers, Mapping):
        check_layers(layers) if layers else None
        return dict(layers)
    names = list(layers)
    check_layers(names) if names else None
    return {name: 1.0 / len(names) for name in names}


def _features(encoder: VGG19Features, image: Tensor, layers: list[str]) -> dict[str, Tensor]:
    """Targets in float32, whatever precision the optimisation later uses: computed once, so exact."""
    return {l: F.float() for l, F in encoder(image.float(), layers).items()}


@dataclass
class Settings:
    """How to optimise. The defaults are the paper's: L-BFGS from white noise."""

    optimizer: Literal["lbfgs", "adam"] = "lbfgs"  # L-BFGS-B with pixels bounded to [0, 1], or Adam
    steps: int = 300  # loss-and-gradient evaluations (L-BFGS-B takes about one per iteration)
    lr: float | None = None  # Adam's step size (default 0.02); L-BFGS-B finds its own by line search
    history_size: int = 20  # L-BFGS memory: pairs of past steps and gradient changes
    seed: int = 0  # for the white-noise init
    precision: Literal["auto", "float32", "bfloat16"] = "float32"  # network compute type; auto: bf16 where fast
    # (bfloat16 is 1.3-1.4x faster a step on CPU and within 2 % for transfer, but 20-40 % worse
    # for textures, so it is not the default: see the benchmark in the README)
    float32_tail: float = 0.25  # with bfloat16: the last quarter of the steps in float32, to refine
    channels_last: bool = True  # NHWC layout for the convolutions (faster with oneDNN and cuDNN)
    every: int = 10  # call the callback every `every` steps


@dataclass
class Progress:
    """What the callback receives."""

    step: int
    steps: int
    image: Tensor  # current image, detached, clamped to [0, 1]
    losses: dict[str, float]  # the current loss terms
    seconds: float


@dataclass
class Result:
    """The outcome of :func:`optimize`. ``image`` is the best one seen."""

    image: Tensor
    history: list[dict[str, float]]  # one entry per step: step and each loss term
    status: Literal["finished", "interrupted", "stopped", "diverged"]
    message: str
    steps: int
    seconds: float

    @property
    def losses(self) -> dict[str, float]:
        """The loss terms of the best image."""
        return min(self.history, key=lambda h: h["total"]) if self.history else {}


class _NonFinite(Exception):
    pass


def initial_image(init: Init, shape: Sequence[int], *, seed: int = 0, content: Tensor | None = None,
                  style: Tensor | None = None, device: torch.device | str = "cpu") -> Tensor:
    """The starting image ``x``: white noise (the paper's choice), the content or style image, or a tensor."""
    if isinstance(init, Tensor):
        x = init
    elif init == "noise":
        generator = torch.Generator().manual_seed(seed)
        x = torch.rand(tuple(shape), generator=generator)
    elif init in ("content", "style"):
        x = content if init == "content" else style
        if x is None:
            raise ValueError(f"init={init!r} needs a {init} image")
    else:
        raise ValueError(f"init must be 'noise', 'content', 'style' or a tensor, got {init!r}")
    x = x.detach().float().to(device)
    if tuple(x.shape[-2:]) != tuple(shape[-2:]):
        x = resize(x, tuple(shape[-2:]))
    return x.expand(*shape).clone() if x.shape[0] == 1 and shape[0] > 1 else x.clone()


def optimize(
    encoder: VGG19Features,
    objective: Objective,
    x0: Tensor,
    settings: Settings | None = None,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Result:
    """Minimise ``objective`` over the pixels of ``x0``, kept in [0, 1], and return the best image.

    A step is one evaluation of the loss and its gradient. ``callback`` gets a
    :class:`Progress` every ``settings.every`` steps and at the last one.

    The run never loses work: Ctrl-C (or the notebook's stop button) and
    ``should_stop()`` returning True end it with the best image so far; a NaN
    or inf loss ends it with the best finite image and a message saying why.
    """
    s = settings or Settings()
    if s.optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {s.optimizer!r}")
    if s.channels_last:
        encoder.to(memory_format=torch.channels_last)
    layers = objective.layers
    history: list[dict[str, float]] = []
    best = {"loss": math.inf, "image": x0.detach().clone().float().clamp(0, 1)}
    low_precision_steps = s.steps - round(s.float32_tail * s.steps)
    # The paper's losses span many orders of magnitude, so the optimiser sees the
    # loss divided by its value at x0 (only the ratio alpha/beta shapes the image).
    scale: list[float] = []
    start = time.perf_counter()

    def evaluate(x: Tensor) -> tuple[float, Tensor]:
        """Loss / scale and its gradient at ``x``; records the step. This is the only place the network runs."""
        step = len(history) + 1
        if step > s.steps:
            raise _Budget
        x = x.detach().requires_grad_(True)
        with autocast_dtype(x.device, s.precision if step <= low_precision_steps else "float32"):
            F = encoder(x.contiguous(memory_format=torch.channels_last) if s.channels_last else x, layers)
        terms = objective.terms(F, x)
        values = {k: float(v.detach()) for k, v in terms.items()}
        if not math.isfinite(values["total"]):
            raise _NonFinite(f"step {step}: {values}")
        if not scale:
            scale.append(values["total"] or 1.0)
        (terms["total"] / scale[0]).backward()
        history.append({"step": step, **values})
        if values["total"] < best["loss"]:
            best["loss"], best["image"] = values["total"], x.detach().clone()
        if callback and (step % s.every == 0 or step == s.steps):
            callback(Progress(step, s.steps, x.detach().clamp(0, 1), dict(history[-1]), time.perf_counter() - start))
        if should_stop and should_stop():
            raise _Stop
        return values["total"] / scale[0], x.grad

    status, message = "finished", f"finished {s.steps} steps"
    try:
        early = (_lbfgsb if s.optimizer == "lbfgs" else _adam)(evaluate, x0.detach().float().clamp(0, 1), s)
        if early and len(history) < s.steps:
            message = f"L-BFGS-B stopped after {len(history)} steps: {early}"
    except _Budget:
        pass
    except _Stop:
        status, message = "stopped", f"stopped at step {len(history)}; kept the best image so far"
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted at step {len(history)}; kept the best image so far"
    except _NonFinite as err:
        status = "diverged"
        message = (f"the loss became NaN or infinite ({err}); returning the best finite image. "
                   "Likely causes: a learning rate too high for Adam (try --lr 0.01), a very large beta or "
                   "alpha, or a low-precision overflow (try --precision float32).")
    image = best["image"].clamp(0, 1).contiguous()
    return Result(image, history, status, message, len(history), time.perf_counter() - start)


class _Budget(Exception):
    """All steps are spent."""


class _Stop(Exception):
    """should_stop() said so."""


def _lbfgsb(evaluate: Callable[[Tensor], tuple[float, Tensor]], x0: Tensor, s: Settings) -> str:
    """L-BFGS-B (Byrd et al. 1995, SciPy's), with every pixel bounded to [0, 1].

    The bounds are what the box of valid images asks for: clamping only at the
    end, or after each step of plain L-BFGS, gives far worse pictures.
    Returns SciPy's message when it stops before the step budget.
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
    switch = s.steps - round(s.float32_tail * s.steps) if s.precision != "float32" else s.steps
    for budget in (switch, s.steps - switch):
        if budget <= 0:
            continue
        # SciPy's BLAS threads would spin against PyTorch's between steps (2x slower on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(fun, z, jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros(n), np.ones(n)),
                              options={"maxfun": budget, "maxiter": 10 * budget, "maxcor": s.history_size,
                                       "ftol": 0.0, "gtol": 0.0})
        z = result.x
    return str(result.message) if result is not None else ""


def _adam(evaluate: Callable[[Tensor], tuple[float, Tensor]], x0: Tensor, s: Settings) -> str:
    """Adam, projected back onto [0, 1] after every step."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=s.lr or 0.02)
    for _ in range(s.steps):
        _, x.grad = evaluate(x)
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return ""


def _run(encoder: VGG19Features, objective: Objective, init: Init, shape: Sequence[int], settings: Settings,
         callback: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None,
         content: Tensor | None = None, style: Tensor | None = None) -> Result:
    device = next(encoder.parameters()).device
    x0 = initial_image(init, shape, seed=settings.seed, content=content, style=style, device=device)
    return optimize(encoder, objective, x0, settings, callback, should_stop)


def reconstruct_content(encoder: VGG19Features, image: Tensor, layer: str | Sequence[str] = CONTENT_LAYER,
                        settings: Settings | None = None, *, init: Init = "noise",
                        callback: Callable[[Progress], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> Result:
    """Find an image whose features at ``layer`` match ``image``'s (Fig. 1, bottom row).

    Several layers reconstruct as one batch, one image per layer: the
    content loss of image ``b`` uses only layer ``b`` (a per-image weight).
    """
    names = [layer] if isinstance(layer, str) else list(layer)
    B = len(names)
    image = image.expand(B, *image.shape[1:]) if B > 1 else image
    weights = {l: torch.tensor([1.0 if b == i else 0.0 for b in range(B)]) for i, l in enumerate(names)}
    objective = build_objective(encoder, content=image, content_layers=weights if B > 1 else names,
                                alpha=1.0, beta=0.0)
    return _run(encoder, objective, init, image.shape, settings or Settings(), callback, should_stop,
                content=image)


def synthesize_texture(encoder: VGG19Features, image: Tensor,
                       layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                       settings: Settings | None = None, *, size: tuple[int, int] | None = None,
                       init: Init = "noise", callback: Callable[[Progress], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Result:
    """Synthesise a texture matching ``image``'s Gram matrices at ``layers`` (Fig. 1, top row)."""
    objective = build_objective(encoder, style=image, style_layers=layers, alpha=0.0, beta=1.0)
    shape = (image.shape[0], 3, *(size or image.shape[-2:]))
    return _run(encoder, objective, init, shape, settings or Settings(), callback, should_stop, style=image)


def style_transfer(encoder: VGG19Features, content: Tensor, style: Tensor, settings: Settings | None = None, *,
                   content_layers: Mapping[str, LayerWeight] | Sequence[str] = (CONTENT_LAYER,),
                   style_layers: Mapping[str, LayerWeight] | Sequence[str] = STYLE_LAYERS,
                   alpha: float = 1e-3, beta: float = 1.0, tv_weight: float = 0.0,
                   init: Init = "noise", keep_style_scale: bool = False,
                   callback: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Result:
    """Render ``content`` in the style of ``style`` (Fig. 2 and 3); alpha/beta = 1e-3 by default.

    As in the paper, the style image is resized to the content image's size
    first, unless ``keep_style_scale`` (then its own size sets the scale of
    the brush strokes).
    """
    if not keep_style_scale:
        style = resize(style, tuple(content.shape[-2:]))
    objective = build_objective(encoder, content=content, style=style, content_layers=content_layers,
                                style_layers=style_layers, alpha=alpha, beta=beta, tv_weight=tv_weight)
    return _run(encoder, objective, init, content.shape, settings or Settings(), callback, should_stop,
                content=content, style=style)
