"""Automatic checks for the classroom assignments (``assignments/``).

Each ``check_*`` runs a student's function on fixed cases (a batch, odd sizes,
non-square maps) and compares with expected values stored in
``assignment_cases.npz`` (as CS231n does), or, where the VGG19 network is
involved, with this package's own implementation. A check never raises: it
prints which case failed, the expected and actual values and a hint; a stub
that still raises ``NotImplementedError`` reports "not implemented yet".

Regenerate the stored values from the package with
``python -m nst_teach.classroom.checks --regenerate`` (the test suite checks they match).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from nst_teach import losses
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS

__all__ = [
    "CASES_FILE", "RESULTS", "check_compute_targets", "check_content_loss", "check_gram_matrix", "check_style_layer_loss",
    "check_style_loss", "check_total_variation", "check_transfer_step", "encoder_and_images", "factor", "make_cases",
    "passed", "ratio_hints", "report", "summary",
]

CASES_FILE = Path(__file__).with_name("assignment_cases.npz")
RESULTS: dict[str, str] = {}  # exercise -> "pass" | "fail" | "not implemented yet"

# (name, B, N, H, W): a batch, odd sizes and non-square maps, N != H*W so a transposed Gram shows.
_SHAPES = [("single 1x3x4x4", 1, 3, 4, 4), ("batch of 2, 4x5x7", 2, 4, 5, 7), ("odd 1x5x3x9", 1, 5, 3, 9)]


def make_cases() -> dict[str, np.ndarray]:
    """Inputs from a fixed seed and the package's answers for them."""
    g = torch.Generator().manual_seed(231)
    out: dict[str, Tensor] = {}
    for i, (_, B, N, H, W) in enumerate(_SHAPES):
        F = torch.randn(B, N, H, W, generator=g, dtype=torch.float64)
        P = torch.randn(B, N, H, W, generator=g, dtype=torch.float64)
        A = losses.gram_matrix(torch.randn(B, N, H, W, generator=g, dtype=torch.float64))
        x = torch.rand(B, 3, H, W, generator=g, dtype=torch.float64)
        out |= {f"F{i}": F, f"P{i}": P, f"A{i}": A, f"x{i}": x,
                f"gram{i}": losses.gram_matrix(F), f"content{i}": losses.content_loss(F, P),
                f"style_layer{i}": losses.style_layer_loss(F, A), f"tv{i}": losses.total_variation(x)}
    w = {name: 1.0 / (i + 1) for i, (name, *_) in enumerate(_SHAPES)}
    Fs = {name: out[f"F{i}"] for i, (name, *_) in enumerate(_SHAPES)}
    As = {name: out[f"A{i}"] for i, (name, *_) in enumerate(_SHAPES)}
    out["style_loss"] = losses.style_loss(Fs, As, w)
    out["style_loss_w"] = torch.tensor([w[name] for name, *_ in _SHAPES], dtype=torch.float64)
    return {k: np.asarray(v) for k, v in out.items()}


def _cases() -> dict[str, Tensor]:
    with np.load(CASES_FILE) as data:
        return {k: torch.from_numpy(data[k]) for k in data.files}


def report(exercise: str, failure: str | None, n_cases: int) -> bool:
    """Record and print an exercise's result: ``failure`` None is a pass, ``"todo"`` a stub, else the message."""
    status = "pass" if failure is None else ("not implemented yet" if failure == "todo" else "fail")
    RESULTS[exercise] = status
    if status == "pass":
        print(f"PASS {exercise}: all {n_cases} cases agree")
    elif status == "not implemented yet":
        print(f"TODO {exercise}: not implemented yet")
    else:
        print(f"FAIL {exercise}: {failure}")
    return status == "pass"


def _short(x) -> str:
    if isinstance(x, Tensor):
        if x.numel() == 1:
            return f"{x.item():.6g}"
        return f"tensor of shape {tuple(x.shape)}, first values {[round(v, 4) for v in x.flatten()[:3].tolist()]}"
    return repr(x)[:80]


def _compare(name: str, expected: Tensor, actual, hints: Callable[[Tensor, Tensor], str]) -> str | None:
    """None if ``actual`` matches ``expected``; else a message with the case, both values and a hint."""
    if not isinstance(actual, Tensor):
        return f"case '{name}': expected a tensor, got {type(actual).__name__}. Return a torch.Tensor."
    head = f"case '{name}': expected {_short(expected)}, got {_short(actual)}."
    if tuple(actual.shape) != tuple(expected.shape):
        return f"{head} Shapes differ. {hints(expected, actual) or 'Check the output shape.'}"
    actual = actual.detach().to(expected.dtype)
    if torch.allclose(actual, expected, rtol=1e-5, atol=1e-8):
        return None
    return f"{head} {hints(expected, actual) or 'Compare your code with the equation in the markdown above.'}"


def _name_ratio(ratio: float, known: dict[str, float]) -> str:
    for text, value in known.items():
        if np.isclose(ratio, value, rtol=1e-4):
            return f"Hint: yours is {ratio:.6g} times the expected value: {text}"
    return ""


def factor(expected: Tensor, actual: Tensor) -> float | None:
    """The one number k with ``actual == k * expected``, if there is one (least squares, then checked)."""
    e, a = expected.detach().flatten().double(), actual.detach().flatten().double()
    if e.shape != a.shape or not e.abs().sum():
        return None
    k = float(a @ e / (e @ e))
    return k if torch.allclose(a, k * e, rtol=1e-5, atol=1e-8) else None


def ratio_hints(known: dict[str, float]) -> Callable[[Tensor, Tensor], str]:
    """Hint from the ratio actual/expected, e.g. {'forgot the 1/2': 2.0}; tensors must be one multiple of the other."""
    def hint(expected: Tensor, actual: Tensor) -> str:
        k = factor(expected, actual)
        return "" if k is None else _name_ratio(k, known)
    return hint


def _run(exercise: str, fn: Callable, calls: list[tuple[str, tuple, Tensor, Callable]]) -> bool:
    for name, args, expected, hints in calls:
        try:
            actual = fn(*args)
        except NotImplementedError:
            return report(exercise, "todo", len(calls))
        except Exception as err:  # a student's bug must not crash the notebook
            return report(exercise, f"case '{name}' raised {type(err).__name__}: {err}", len(calls))
        failure = _compare(name, expected, actual, hints)
        if failure:
            return report(exercise, failure, len(calls))
    return report(exercise, None, len(calls))


def check_gram_matrix(gram_matrix: Callable[[Tensor], Tensor]) -> bool:
    c = _cases()

    def hint_for(N: int, M: int) -> Callable[[Tensor, Tensor], str]:
        scaled = ratio_hints({  # what tutorials divide by; the paper's G (Eq. 3) is a plain sum over positions
            f"divided by M = H W = {M}, as many tutorials do. The paper's G is unnormalised; its Eq. 4 "
            "divides by M^2 instead.": 1.0 / M,
            f"divided by N M = {N * M}, as the PyTorch tutorial does. The paper's G is unnormalised.": 1.0 / (N * M)})

        def hint(expected: Tensor, actual: Tensor) -> str:
            if actual.ndim == 3 and actual.shape[1] == actual.shape[2] != N:
                return "Hint: that is F^T F over positions (a transposed Gram matrix); the paper's is F F^T, N_l x N_l."
            if actual.ndim == 2:
                return "Hint: keep the batch dimension: the result is (B, N, N)."
            return scaled(expected, actual)
        return hint

    return _run("gram_matrix", gram_matrix, [(name, (c[f"F{i}"].clone(),), c[f"gram{i}"], hint_for(N, H * W))
                                             for i, (name, _, N, H, W) in enumerate(_SHAPES)])


def check_content_loss(content_loss: Callable[[Tensor, Tensor], Tensor]) -> bool:
    c = _cases()
    calls = []
    for i, s in enumerate(_SHAPES):
        n = c[f"F{i}"].numel()
        hints = ratio_hints({"did you forget the 1/2 in Eq. 1?": 2.0,
                              "a mean where the paper has a sum, and no 1/2 (Eq. 1 is 1/2 times a sum).": 2.0 / n,
                              "a mean where the paper has a sum (you kept the 1/2; a mean also divides by the "
                              "number of elements).": 1.0 / n})
        calls.append((s[0], (c[f"F{i}"].clone(), c[f"P{i}"].clone()), c[f"content{i}"], hints))
    return _run("content_loss", content_loss, calls)


def check_style_layer_loss(style_layer_loss: Callable[[Tensor, Tensor], Tensor]) -> bool:
    c = _cases()
    calls = []
    for i, (name, B, N, H, W) in enumerate(_SHAPES):
        M = H * W
        known = {"did you forget the 1/(4 N_l^2 M_l^2) of Eq. 4?": 4.0 * N**2 * M**2,
                 "the 1/4 of Eq. 4 is missing.": 4.0,
                 "a mean where the paper has a sum: the sum over i, j is divided by 4 N^2 M^2 only.": 1.0 / (B * N * N)}
        if B > 1:
            known["a mean over the batch: the loss sums over the batch's images, as it sums over i, j."] = 1.0 / B
        hints = ratio_hints(known)
        calls.append((name, (c[f"F{i}"].clone(), c[f"A{i}"].clone()), c[f"style_layer{i}"], hints))
    return _run("style_layer_loss", style_layer_loss, calls)


def check_style_loss(style_loss: Callable[[dict, dict, dict], Tensor]) -> bool:
    c = _cases()
    names = [s[0] for s in _SHAPES]
    F = {n: c[f"F{i}"].clone() for i, n in enumerate(names)}
    A = {n: c[f"A{i}"].clone() for i, n in enumerate(names)}
    w = {n: float(c["style_loss_w"][i]) for i, n in enumerate(names)}
    hints = ratio_hints({"the weights w_l are missing (you summed E_l).": float(
        sum(losses.style_layer_loss(F[n], A[n]) for n in names) / c["style_loss"])})
    return _run("style_loss", style_loss, [("three layers, w_l = 1, 1/2, 1/3", (F, A, w), c["style_loss"], hints)])


def check_total_variation(total_variation: Callable[[Tensor], Tensor]) -> bool:
    c = _cases()
    calls = []
    for i, s in enumerate(_SHAPES):
        x = c[f"x{i}"]
        n = x[..., 1:, :].numel()
        hints = ratio_hints({"a mean where this regulariser has a sum (total variation is not in the 2016 "
                              "paper; the markdown above defines it as a sum of squared differences).": 1.0 / n})
        calls.append((s[0], (x.clone(),), c[f"tv{i}"], hints))
    return _run("total_variation", total_variation, calls)


@lru_cache(maxsize=1)
def encoder_and_images(size: int = 32):
    """The paper's network and two real pictures, made once per kernel (the checks never change them).

    scikit-image's astronaut and brick: they ship with the package's dependencies, so the checks
    run the same with or without the catalogue's images.
    """
    from nst_teach.data import skimage_image
    from nst_teach.features import load_vgg19_features
    from nst_teach.images import resize

    encoder = load_vgg19_features("caffe", pooling="avg")
    content = resize(skimage_image("astronaut"), (size, size + 8))
    style = resize(skimage_image("brick"), (size, size + 8))
    return encoder, content, style


def check_compute_targets(compute_targets: Callable) -> bool:
    """``compute_targets(encoder, content, style) -> (P, A)``: P at relu4_2, A at the five style layers, detached."""
    encoder, content, style = encoder_and_images()
    with torch.no_grad():
        F_c = encoder(content, [n for n in encoder_layers()])
        F_s = encoder(style, list(STYLE_LAYERS))
    try:
        # a content image that carries a graph, as one from an earlier optimisation would
        P, A = compute_targets(encoder, content.clone().requires_grad_(True), style.clone())
    except NotImplementedError:
        return report("compute_targets", "todo", 3)
    except Exception as err:
        return report("compute_targets", f"raised {type(err).__name__}: {err}", 3)
    if not isinstance(P, dict) or not isinstance(A, dict):
        return report("compute_targets", "return two dicts: P = {layer: features}, A = {layer: Gram matrix}.", 3)
    if set(P) != {CONTENT_LAYER}:
        return report("compute_targets", f"P has layers {sorted(P)}; the paper's content layer is {CONTENT_LAYER}.", 3)
    if set(A) != set(STYLE_LAYERS):
        return report("compute_targets", f"A has layers {sorted(A)}; expected {list(STYLE_LAYERS)}.", 3)
    for name, value in F_c.items():
        if name != CONTENT_LAYER and value.shape == P[CONTENT_LAYER].shape and torch.allclose(value, P[CONTENT_LAYER].detach()):
            return report("compute_targets", f"P holds the features of {name}: the wrong layer. Use {CONTENT_LAYER}.", 3)
    failure = _compare("content target", F_c[CONTENT_LAYER], P[CONTENT_LAYER], lambda e, a: "")
    for name in STYLE_LAYERS:
        failure = failure or _compare(f"style target {name}", losses.gram_matrix(F_s[name]),
                                      A[name], lambda e, a: "Hint: A_l is the Gram matrix of the style features.")
    if failure:
        return report("compute_targets", failure, 3)
    if P[CONTENT_LAYER].requires_grad or any(a.requires_grad for a in A.values()):
        return report("compute_targets", "the targets still require grad: forgetting to detach them drags the "
                       "content image into every backward pass. Use .detach() or torch.no_grad().", 3)
    return report("compute_targets", None, 3)


def encoder_layers() -> list[str]:
    """Layers a wrong-layer mistake is likely to pick: the conv and relu layers of blocks 3 to 5."""
    return [f"{kind}{b}_{i}" for b in (3, 4, 5) for i in (1, 2, 3, 4) for kind in ("conv", "relu")]


def check_transfer_step(transfer_step: Callable) -> bool:
    """``transfer_step(encoder, x, optimizer, P, A, alpha, beta) -> loss``: one optimiser step with a closure."""
    from nst_teach.objective import build_objective

    encoder, content, style = encoder_and_images()
    with torch.no_grad():
        P = {CONTENT_LAYER: encoder(content, [CONTENT_LAYER])[CONTENT_LAYER]}
        A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
    objective = build_objective(encoder, content=content, style=style, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=1e-3, beta=1.0)

    def run(step) -> tuple[Tensor, Tensor]:
        x = torch.rand(1, 3, *content.shape[-2:], generator=torch.Generator().manual_seed(3)).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.05)
        loss = torch.tensor(0.0)
        for _ in range(3):
            loss = step(encoder, x, opt, P, A, 1e-3, 1.0)
        return x.detach(), loss

    def reference(encoder, x, opt, P, A, alpha, beta):
        def closure():
            opt.zero_grad()
            total = objective(encoder(x, objective.layers), x)["total"]
            total.backward()
            return total
        return opt.step(closure)

    expected_x, expected_loss = run(reference)
    try:
        actual_x, actual_loss = run(transfer_step)
    except NotImplementedError:
        return report("transfer_step", "todo", 1)
    except Exception as err:
        return report("transfer_step", f"raised {type(err).__name__}: {err}", 1)
    failure = _compare("image after 3 Adam steps", expected_x, actual_x,
                       lambda e, a: "Hint: did you call optimizer.zero_grad() inside the closure? "
                       "Without it, gradients pile up from step to step.")
    failure = failure or _compare("the loss returned by the 3rd step (evaluated before its update)",
                                  expected_loss.detach(), actual_loss,
                                  lambda e, a: "Hint: return the loss from optimizer.step(closure).")
    return report("transfer_step", failure, 1)


def passed(*exercises: str) -> bool:
    """True when every named exercise's check has passed in this kernel."""
    return all(RESULTS.get(name) == "pass" for name in exercises)


def summary() -> dict[str, str]:
    """Print which exercises pass; returns the table."""
    width = max((len(k) for k in RESULTS), default=10)
    for exercise, status in RESULTS.items():
        mark = {"pass": "PASS", "fail": "FAIL"}.get(status, "TODO")
        print(f"{mark}  {exercise:<{width}}  {status}")
    passed = sum(s == "pass" for s in RESULTS.values())
    print(f"{passed} of {len(RESULTS)} exercises pass")
    return dict(RESULTS)


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        np.savez(CASES_FILE, **make_cases())  # type: ignore[arg-type]
        print(f"wrote {CASES_FILE}")
