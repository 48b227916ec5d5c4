r"""Checks for assignment 3, "Guided Gram matrices" (Gatys et al., CVPR 2017, Sec. 4: spatial control).

Each check runs the student's function on small fixed cases and compares with the package
(:mod:`nst_teach.spatial`) or with the authors' way (leongatys/NeuralImageSynthesis,
``SpatialControl.ipynb``: ``get_fm_guides``, ``gram_matrix_guided``). It names the common
mistakes of this stage when it sees them: the mask not normalised, the mask at the wrong
resolution, the mask applied after the Gram matrix instead of before, regions that overlap or
leave pixels out, a channel dimension lost. Like :mod:`nst_teach.classroom.checks`, a check never
raises: it prints PASS, TODO or FAIL with what went wrong.

The guided Gram matrix of region r at a layer, with :math:`T_r` the region's mask at the
layer's resolution, :math:`F_r = T_r \circ F` and :math:`m_r = \sum_k T_{r,k}^2`:

.. math:: G_r = \frac{F_r F_r^\top}{m_r}.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as nnf
from torch import Tensor

from nst_teach import losses, metrics, paper
from nst_teach.classroom.checks import RESULTS, encoder_and_images, factor, ratio_hints, report
from nst_teach.objective import STYLE_LAYERS
from nst_teach.spatial import GuidedStyle, guided_gram, mask_at

__all__ = ["check_guided_gram", "check_guided_style_loss", "check_guided_targets", "check_mask_at", "check_mask_inside",
           "TRANSFER_NEEDS", "check_two_region_transfer", "check_two_regions", "region_scores", "units_seeing"]


def _mask(H: int, W: int, soft: bool, seed: int) -> Tensor:
    """A region in the top left of an H x W image; ``soft``: its border blurred over a few pixels."""
    g = torch.Generator().manual_seed(seed)
    T = torch.zeros(1, 1, H, W)
    T[..., : H // 2 + 1, : W * 2 // 3] = 1
    if soft:
        T = nnf.avg_pool2d(T, 3, 1, 1, count_include_pad=False) * (0.9 + 0.1 * torch.rand(1, 1, H, W, generator=g))
    return T


def _close(a: Tensor, b: Tensor, rtol: float = 1e-4) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.detach().double(), b.double(), rtol=rtol, atol=1e-7))


def _call(fn: Callable, *args: object) -> tuple[object, str | None]:
    """``(result, None)``, or ``(None, failure)`` where ``failure`` is "todo" or what the student's code raised."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "todo"
    except RuntimeError as err:
        if "size of tensor" in str(err) or "must match" in str(err):
            return None, (f"raised RuntimeError: {str(err)[:160]}. Two shapes do not fit: is the mask at the layer's "
                          "resolution? A mask must be brought to each layer's h x w (your mask_at) before it weights that "
                          "layer's features; the image's H x W is the wrong resolution for every layer below relu1_1.")
        return None, f"raised RuntimeError: {err}"
    except Exception as err:  # a student's bug must not crash the notebook
        return None, f"raised {type(err).__name__}: {err}"


# 1. The package's propagation: area averaging (the authors' "simple" resizes too).

def check_mask_at(mask_at_fn: Callable[[Tensor, Sequence[int]], Tensor]) -> bool:
    """``mask_at(mask, size)``: a ``(1, 1, H, W)`` mask at a layer's ``size = (h, w)``, by area averaging."""
    cases = [("binary 1x1x12x20 to 6x10", _mask(12, 20, False, 0), (6, 10)),
             ("soft 1x1x16x24 to 4x6", _mask(16, 24, True, 1), (4, 6)),
             ("odd 1x1x9x14 to 4x7 (no whole factor)", _mask(9, 14, True, 2), (4, 7))]
    for name, T, size in cases:
        got, failure = _call(mask_at_fn, T.clone(), size)
        if failure:
            return report("mask_at", failure if failure == "todo" else f"case '{name}' {failure}", len(cases))
        expected = mask_at(T, size)
        if not isinstance(got, Tensor):
            return report("mask_at", f"case '{name}': expected a tensor, got {type(got).__name__}.", len(cases))
        head = f"case '{name}': expected shape {tuple(expected.shape)}, got {tuple(got.shape)}."
        if got.ndim < 4 and tuple(got.shape[-2:]) == size:
            return report("mask_at", f"{head} A channel dimension is lost: a mask stays (1, 1, h, w), one channel "
                          "that multiplies each of the layer's N feature maps. Do not squeeze or index it away.", len(cases))
        if tuple(got.shape[-2:]) == tuple(T.shape[-2:]):
            return report("mask_at", f"{head} The mask is at the wrong resolution: still the image's H x W, while the "
                          f"layer's maps are {size[0]} x {size[1]}. Resize it to `size`.", len(cases))
        if tuple(got.shape[-2:]) == tuple(size[::-1]):
            return report("mask_at", f"{head} Height and width are swapped: `size` is (h, w), as a tensor's last two "
                          "dimensions are.", len(cases))
        if tuple(got.shape) != tuple(expected.shape):
            return report("mask_at", head, len(cases))
        if _close(got, expected):
            continue
        fractional = bool(((expected > 0) & (expected < 1)).any())
        if fractional and bool(((got == 0) | (got == 1)).all()):
            return report("mask_at", f"case '{name}': your mask is all 0s and 1s, but units whose pixels lie on both "
                          "sides of the border should count in the region in proportion (nearest neighbour or a "
                          "threshold loses that). Use area averaging: each unit gets the mean of the mask over the "
                          "pixels it covers (interpolate with mode='area').", len(cases))
        return report("mask_at", f"case '{name}': the values differ from area averaging (largest difference "
                      f"{float((got.double() - expected).abs().max()):.3g}). Each unit gets the mean of the mask over "
                      "the pixels it covers: interpolate with mode='area' (bilinear samples, it does not average).",
                      len(cases))
    return report("mask_at", None, len(cases))


# 2. The authors' "inside" (and "all"), by probing the network with noise, as get_fm_guides does.

def units_seeing(encoder: Callable, mask: Tensor, layers: Sequence[str], mode: str = "inside") -> dict[str, Tensor]:
    """The authors' feature-map guides (``get_fm_guides``, modes ``inside`` and ``all``): the mask is made binary
    (threshold 0.5); two noise images that differ only outside the region (``inside``) or only inside it
    (``all``) go through the network; a unit sees only the region where the two agree (``inside``), some of it
    where they differ (``all``). Returns ``{layer: (1, 1, h, w)}`` of 0s and 1s."""
    region = (mask >= 0.5).float()
    where = 1 - region if mode == "inside" else region
    noise = torch.rand(2, 3, *mask.shape[-2:], generator=torch.Generator().manual_seed(0)) * where
    with torch.no_grad():
        F = encoder(noise, list(layers))
    differs = {l: (f[0] - f[1]).abs().amax(0)[None, None] > 0 for l, f in F.items()}
    return {l: (~d if mode == "inside" else d).float() for l, d in differs.items()}


def check_mask_inside(mask_inside: Callable) -> bool:
    """``mask_inside(encoder, mask, layers) -> {layer: (1, 1, h, w)}``: the units that see only the region."""
    encoder, _, _ = encoder_and_images()
    layers = list(STYLE_LAYERS)
    cases = [("the top 40 of 96 rows", _rows(96, 112, 40)), ("a soft region in the top left", _mask(64, 80, True, 3))]
    for name, T in cases:
        got, failure = _call(mask_inside, encoder, T.clone(), layers)
        if failure:
            return report("mask_inside", failure if failure == "todo" else f"case '{name}' {failure}", len(cases))
        if not isinstance(got, Mapping) or set(got) != set(layers):
            return report("mask_inside", f"case '{name}': return a dict {{layer: mask}} with the layers asked for, "
                          f"{layers}; got {sorted(got) if isinstance(got, Mapping) else type(got).__name__}.", len(cases))
        expected = units_seeing(encoder, T, layers, "inside")
        for l in layers:
            mine = got[l]
            if not isinstance(mine, Tensor) or mine.shape != expected[l].shape:
                shape = tuple(mine.shape) if isinstance(mine, Tensor) else type(mine).__name__
                lost = " A channel dimension is lost: keep (1, 1, h, w)." if isinstance(mine, Tensor) and mine.ndim < 4 else ""
                return report("mask_inside", f"case '{name}', {l}: expected shape {tuple(expected[l].shape)} (the "
                              f"layer's map), got {shape}.{lost}", len(cases))
            if _close(mine.float(), expected[l]):
                continue
            simple = (mask_at(T, expected[l].shape[-2:]) >= 0.5).float()
            everything = units_seeing(encoder, T, layers, "all")  # only to name the mistake
            if _close(mine.float(), everything[l]):
                hint = ("that is the authors' `all`: every unit that sees any of the region. `inside` keeps only the "
                        "units that see nothing else: put the noise outside the region, and keep the units whose "
                        "responses do not change.")
            elif _close(mine.float(), 1 - expected[l]) or _close(mine.float(), 1 - everything[l]):
                hint = "that is the other side: you marked the units that see outside the region."
            elif _close(mine.float(), simple) or _close(mine.float(), mask_at(T, expected[l].shape[-2:])):
                hint = ("that is the resized mask (the authors' `simple`, the package's mask_at). `inside` asks the "
                        "network which units see only the region: probe it with noise outside the region.")
            else:
                hint = ("it differs from the units that see only the region. Probe as the authors do: two noise images "
                        "that differ only outside the region; a unit is inside where its responses agree in all channels.")
            return report("mask_inside", f"case '{name}', {l}: {int(mine.float().sum())} units marked, expected "
                          f"{int(expected[l].sum())}: {hint}", len(cases))
    return report("mask_inside", None, len(cases))


def _rows(H: int, W: int, top: int) -> Tensor:
    T = torch.zeros(1, 1, H, W)
    T[..., :top, :] = 1
    return T


# 3. The guided Gram matrix.

def check_guided_gram(guided_gram_fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """``guided_gram(F, T)``: ``(F*T)(F*T)^T / sum(T^2)``, shape ``(B, N, N)``, ``T`` at F's resolution."""
    g = torch.Generator().manual_seed(17)
    cases = [("binary mask, 1x3x4x6", torch.randn(1, 3, 4, 6, generator=g), _mask(4, 6, False, 4)),
             ("soft mask, batch of 2, 2x4x5x7", torch.randn(2, 4, 5, 7, generator=g), _mask(5, 7, True, 5)),
             ("soft mask, 1x5x3x9", torch.randn(1, 5, 3, 9, generator=g), _mask(3, 9, True, 6))]
    for name, F, T in ((name, F.double(), T.double()) for name, F, T in cases):  # exact enough to see a factor
        got, failure = _call(guided_gram_fn, F.clone(), T.clone())
        if failure:
            return report("guided_gram", failure if failure == "todo" else f"case '{name}' {failure}", len(cases))
        expected = guided_gram(F, T)[0] / (T * T).sum()
        if not isinstance(got, Tensor):
            return report("guided_gram", f"case '{name}': expected a tensor, got {type(got).__name__}.", len(cases))
        B, N, h, w = F.shape
        head = f"case '{name}': expected shape {tuple(expected.shape)}, got {tuple(got.shape)}."
        if got.shape != expected.shape:
            if got.ndim == 3 and got.shape[-1] == h * w:
                return report("guided_gram", f"{head} That is (F_r)^T F_r over positions: the Gram matrix is F_r F_r^T, "
                              "N x N, channels against channels.", len(cases))
            if got.ndim == 2:
                return report("guided_gram", f"{head} Keep the batch dimension: (B, N, N).", len(cases))
            return report("guided_gram", head, len(cases))
        if _close(got, expected):
            continue
        m = (T * T).sum()
        hint = ratio_hints({
            "the mask is not normalised: divide by the region's size m_r = sum_k T_k^2, so that a small region and a "
            "large one compare per position (the authors normalise each guide by the square root of its mean square, "
            "then divide by the number of positions: the same thing).": float(m),
            "divided by all M = h w positions: the region has only m_r = sum_k T_k^2 of them. Divide by the region's "
            "size.": float(m) / (h * w),
            "divided by sum_k T_k; both factors of F_r F_r^T carry the mask, so the region's size is sum_k T_k^2.":
                float(m / T.sum()),
        })(expected, got)
        if not hint and _close(got, _once(F, T) / m):
            hint = "the mask is in your product once ((T F) F^T): weight both factors, F_r = T * F, then F_r F_r^T."
        k = None if hint else factor(losses.gram_matrix(F), got)
        if k is not None:
            hint = (f"your matrix is {k:.3g} times the whole map's Gram matrix: the mask was applied after the Gram "
                    "matrix instead of before. After the sum over positions the positions are gone; weight the features "
                    "position by position (F * T), then multiply.")
        if hint:
            return report("guided_gram", f"case '{name}': {hint}", len(cases))
        return report("guided_gram", f"case '{name}': the values differ (largest difference "
                      f"{float((got.detach().double() - expected.double()).abs().max()):.3g}). G_r = (F*T)(F*T)^T / "
                      "sum(T^2).", len(cases))
    return report("guided_gram", None, len(cases))


def _once(F: Tensor, T: Tensor) -> Tensor:
    B, N = F.shape[:2]
    return torch.bmm((F * T).reshape(B, N, -1), F.reshape(B, N, -1).transpose(1, 2))


# 4. Regions that cover the image once.

def check_two_regions(two_regions: Callable[[Tensor], Sequence[Tensor]]) -> bool:
    """``two_regions(sky) -> [T_sky, T_rest]``: the sky as given and the rest, every pixel in the two once."""
    cases = [("a binary sky, 1x1x12x16", _mask(12, 16, False, 7)), ("a sky with a soft border, 1x1x20x24",
                                                                     _mask(20, 24, True, 8))]
    for name, sky in cases:
        got, failure = _call(two_regions, sky.clone())
        if failure:
            return report("two_regions", failure if failure == "todo" else f"case '{name}' {failure}", len(cases))
        if not isinstance(got, (list, tuple)) or len(got) != 2 or not all(isinstance(t, Tensor) for t in got):
            return report("two_regions", f"case '{name}': return a list of two masks, [T_sky, T_rest].", len(cases))
        T_sky, T_rest = (t.detach().float() for t in got)
        for label, t in (("T_sky", T_sky), ("T_rest", T_rest)):
            if t.shape != sky.shape:
                lost = " A channel dimension is lost." if t.ndim < 4 else ""
                return report("two_regions", f"case '{name}': {label} has shape {tuple(t.shape)}; a region's mask has "
                              f"the sky's, {tuple(sky.shape)}.{lost}", len(cases))
            if float(t.min()) < 0 or float(t.max()) > 1:
                return report("two_regions", f"case '{name}': {label} has values outside [0, 1] "
                              f"({float(t.min()):.3g} to {float(t.max()):.3g}): a mask says how much of a pixel is in "
                              "the region.", len(cases))
        if not _close(T_sky, sky):
            return report("two_regions", f"case '{name}': T_sky is not the sky mask you were given; keep it as it is, "
                          "soft border included.", len(cases))
        total = T_sky + T_rest
        over, under = total > 1 + 1e-6, total < 1 - 1e-6
        if over.any():
            return report("two_regions", f"case '{name}': the regions overlap at {int(over.sum())} pixels (the masks "
                          f"sum to up to {float(total.max()):.3g} there): both paintings pull on those pixels. Each "
                          "pixel's shares must add up to 1: T_rest = 1 - T_sky.", len(cases))
        if under.any():
            return report("two_regions", f"case '{name}': {int(under.sum())} pixels are left out (the masks sum to as "
                          f"little as {float(total.min()):.3g} there): no painting reaches them fully, and they keep "
                          "what the start gave them. Each pixel's shares must add up to 1: T_rest = 1 - T_sky.",
                          len(cases))
    return report("two_regions", None, len(cases))


# 5. The painting's targets, and 6. a region's style loss.

def check_guided_targets(guided_targets: Callable) -> bool:
    """``guided_targets(encoder, painting, S, layers) -> {layer: G_r of the painting}``, detached."""
    encoder, _, painting = encoder_and_images()
    S = _mask(painting.shape[-2], painting.shape[-1], False, 9)
    layers = list(STYLE_LAYERS)
    expected = GuidedStyle.targets(encoder, [painting], [S], layers)[0]
    with torch.no_grad():
        sizes = {l: f.shape[-2:] for l, f in encoder(painting, layers).items()}
    got, failure = _call(guided_targets, encoder, painting.clone().requires_grad_(True), S.clone(),
                         layers)
    if failure:
        return report("guided_targets", failure if failure == "todo" else f"the brick painting {failure}", 1)
    if not isinstance(got, Mapping) or set(got) != set(layers):
        return report("guided_targets", f"return a dict {{layer: guided Gram matrix}} for the layers {layers}; got "
                      f"{sorted(got) if isinstance(got, Mapping) else type(got).__name__}.", 1)
    for l in layers:
        mine = got[l]
        if not isinstance(mine, Tensor) or mine.shape != expected[l].shape:
            shape = tuple(mine.shape) if isinstance(mine, Tensor) else type(mine).__name__
            return report("guided_targets", f"{l}: expected shape {tuple(expected[l].shape)}, got {shape}.", 1)
        if not _close(mine, expected[l]):
            S_l = mask_at(S, sizes[l])
            hint = ratio_hints({"the mask is not normalised: divide by the region's size sum(T^2) (your guided_gram "
                                "does).": float((S_l * S_l).sum())})(expected[l], mine) or (
                "compare with guided_gram(F_l, mask_at(S, F_l's h x w)) on the painting's features F_l.")
            return report("guided_targets", f"{l}: the values differ from the painting's guided Gram matrix: {hint}", 1)
        if mine.requires_grad:
            return report("guided_targets", f"{l}: the target still requires grad: the painting's Gram matrices are "
                          "fixed during the optimisation. Compute them under torch.no_grad() or .detach() them.", 1)
    return report("guided_targets", None, 1)


def check_guided_style_loss(guided_style_loss: Callable) -> bool:
    r"""``guided_style_loss(F, T, A, w)``: :math:`\sum_l w_l \frac{1}{4 N_l^2} \sum_{ij} (G_r^l - A^l)_{ij}^2`, with
    ``T`` the region's mask at the image's resolution."""
    encoder, content, painting = encoder_and_images()
    layers = list(STYLE_LAYERS)
    T = _mask(content.shape[-2], content.shape[-1], True, 10)
    S = 1 - _mask(painting.shape[-2], painting.shape[-1], False, 11)
    A = GuidedStyle.targets(encoder, [painting], [S], layers)[0]
    w = {l: 1.0 / (k + 1) for k, l in enumerate(layers)}
    x = content.clone().requires_grad_(True)
    F = encoder(x, layers)
    got, failure = _call(guided_style_loss, F, T.clone(), A, w)
    if failure:
        return report("guided_style_loss", failure if failure == "todo" else f"the astronaut's sky {failure}", 1)
    if not isinstance(got, Tensor) or got.numel() != 1:
        return report("guided_style_loss", f"return the loss as a tensor with one value; got "
                      f"{tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__}.", 1)
    E = {l: paper.guided_style_layer_loss(F[l].detach(), T, A[l]) for l in layers}  # the paper's E_l, region r
    expected = torch.stack([w[l] * E[l] for l in layers]).sum()
    value = got.detach().double().reshape(())
    if torch.isclose(value, expected.double(), rtol=1e-4):
        if not got.requires_grad:
            return report("guided_style_loss", "the value is right but it does not depend on the image any more "
                          "(no graph): do not detach the image's features.", 1)
        return report("guided_style_loss", None, 1)
    hint = ratio_hints({
        "the 1/4 of Eq. 4 is missing (a mean over i, j, sum / N_l^2, leaves it out too).": 4.0,
        "the weights w_l are missing (you summed E_l).": float(sum(E.values()) / expected),
        "divided by M_l^2 as well: G_r is already per position (divided by the region's size), so E_l keeps only "
        "1/(4 N_l^2).": float(sum(w[l] * E[l] / (F[l].shape[-1] * F[l].shape[-2]) ** 2 for l in layers) / expected),
    })(expected, value)
    if hint:
        return report("guided_style_loss", f"got {float(value):.6g}, expected {float(expected):.6g}. {hint}", 1)
    return report("guided_style_loss", f"got {float(value):.6g}, expected {float(expected):.6g}. For each layer: "
                  "bring T to the layer's resolution (mask_at), G_r = guided_gram(F_l, T_l), E_l = sum((G_r - A_l)^2) "
                  "/ (4 N_l^2); then sum w_l E_l.", 1)


# 7. The two-region transfer against the package's, by figure scores.

def region_scores(picture: Tensor, photo: Tensor, regions: Sequence[Tensor], paintings: Sequence[Tensor]) -> dict[str, float]:
    """What a reader sees of a two-region transfer: how much of the photograph's structure it keeps
    (:func:`~nst_teach.metrics.structure`), and each region's mean colour's distance to its painting's."""
    scores = {"structure": metrics.structure(photo, picture)}
    for k, (T, a) in enumerate(zip(regions, paintings)):
        mean = (picture * T).sum((2, 3)) / T.sum()
        scores[f"region {k} to its painting"] = float((mean - a.mean((2, 3))).norm())
    return scores


#: The exercises the transfer runs on.
TRANSFER_NEEDS = ("mask_at", "guided_gram", "two_regions", "guided_targets", "guided_style_loss")


def check_two_region_transfer(yours: Tensor | None, package: Tensor | None, photo: Tensor,
                              regions: Sequence[Tensor] | None, paintings: Sequence[Tensor] | None,
                              tolerance: float = 0.05) -> bool:
    """Your two-region transfer against the package's on the same settings: each figure score
    (:func:`region_scores`) within ``tolerance`` of the package's. Not pixel equality: the same
    sums, added in another order, take L-BFGS along a slightly different path. ``yours`` None: the
    transfer did not run, because an exercise it needs does not pass yet."""
    if yours is None or package is None:
        waiting = [name for name in TRANSFER_NEEDS if RESULTS.get(name) != "pass"]
        todo = any(RESULTS.get(name, "not implemented yet") == "not implemented yet" for name in waiting)
        return report("two_region_transfer", "todo" if todo else
                      f"the transfer did not run: {', '.join(waiting) or 'an exercise'} does not pass yet.", 1)
    if not isinstance(yours, Tensor) or yours.shape != package.shape:
        return report("two_region_transfer", f"expected your picture as a tensor of shape {tuple(package.shape)}; got "
                      f"{tuple(yours.shape) if isinstance(yours, Tensor) else type(yours).__name__}.", 1)
    assert regions is not None and paintings is not None
    mine, theirs = region_scores(yours, photo, regions, paintings), region_scores(package, photo, regions, paintings)
    for k in mine:
        print(f"  {k:<26} yours {mine[k]:.3f}   the package's {theirs[k]:.3f}")
    apart = {k: abs(mine[k] - theirs[k]) for k in mine}
    worst = max(apart, key=apart.get)  # type: ignore[arg-type]
    if apart[worst] > tolerance:
        return report("two_region_transfer", f"{worst}: yours {mine[worst]:.3f}, the package's {theirs[worst]:.3f}, "
                      f"more than {tolerance} apart: your functions give another picture. Their checks above pass, so "
                      "look at how the cell uses them.", 1)
    return report("two_region_transfer", None, 1)
