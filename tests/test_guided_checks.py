"""Assignment 3's checks (nst_teach.classroom.guided_checks): the key passes, and each common mistake of spatial
control is named in the student's terms (the mask not normalised, at the wrong resolution, applied after the Gram
matrix; regions that overlap or leave pixels out; a channel dimension lost)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as nnf
from check_helpers import fails

from nst_teach.classroom import guided_checks as checks
from nst_teach.classroom.checks import RESULTS, encoder_and_images
from nst_teach.objective import STYLE_LAYERS


# The answer key, written out here as a student would.
def mask_at(mask, size):
    return nnf.interpolate(mask, size=tuple(size), mode="area")


def mask_inside(encoder, mask, layers):
    noise = torch.rand(2, 3, *mask.shape[-2:]) * (1 - (mask >= 0.5).float())
    with torch.no_grad():
        F = encoder(noise, list(layers))
    return {l: ((f[0] - f[1]).abs().amax(0) == 0).float()[None, None] for l, f in F.items()}


def guided_gram(F, T):
    B, N = F.shape[:2]
    F_r = (F * T).reshape(B, N, -1)
    return F_r @ F_r.transpose(1, 2) / (T * T).sum()


def two_regions(sky):
    return [sky, 1 - sky]


def guided_targets(encoder, painting, S, layers):
    with torch.no_grad():
        F = encoder(painting, list(layers))
    return {l: guided_gram(F[l], mask_at(S, F[l].shape[-2:])) for l in layers}


def guided_style_loss(F, T, A, w):
    return sum(w_l * ((guided_gram(F[l], mask_at(T, F[l].shape[-2:])) - A[l]) ** 2).sum() / (4 * F[l].shape[1] ** 2)
               for l, w_l in w.items())




def test_the_key_passes_every_check(capsys):
    assert checks.check_mask_at(mask_at)
    assert checks.check_mask_inside(mask_inside)
    assert checks.check_guided_gram(guided_gram)
    assert checks.check_two_regions(two_regions)
    assert checks.check_guided_targets(guided_targets)
    assert checks.check_guided_style_loss(guided_style_loss)
    assert capsys.readouterr().out.count("PASS") == 6


def test_a_stub_is_not_implemented_yet(capsys):
    def stub(*args):
        raise NotImplementedError()
    for check in (checks.check_mask_at, checks.check_mask_inside, checks.check_guided_gram, checks.check_two_regions,
                  checks.check_guided_targets, checks.check_guided_style_loss):
        assert check(stub) is False
    assert capsys.readouterr().out.count("not implemented yet") == 6


@pytest.mark.parametrize("mistake, needle", [
    (lambda m, size: nnf.interpolate(m, size=tuple(size), mode="area")[0, 0], "A channel dimension is lost"),
    (lambda m, size: nnf.interpolate(m, size=tuple(size), mode="area")[0], "A channel dimension is lost"),
    (lambda m, size: m, "the wrong resolution"),
    (lambda m, size: nnf.interpolate(m, size=tuple(size)[::-1], mode="area"), "swapped"),
    (lambda m, size: nnf.interpolate(m, size=tuple(size), mode="nearest"), "area averaging"),
    (lambda m, size: nnf.interpolate(m, size=tuple(size), mode="bilinear"), "bilinear samples"),
], ids=["squeezed", "indexed", "not resized", "swapped", "nearest", "bilinear"])
def test_mask_at_mistakes(mistake, needle, capsys):
    fails(checks.check_mask_at, mistake, capsys, needle)


def _probe(region_noise: bool, keep_changed: bool):
    def mistake(encoder, mask, layers):
        region = (mask >= 0.5).float()
        noise = torch.rand(2, 3, *mask.shape[-2:]) * (region if region_noise else 1 - region)
        with torch.no_grad():
            F = encoder(noise, list(layers))
        return {l: (((f[0] - f[1]).abs().amax(0) != 0) == keep_changed).float()[None, None] for l, f in F.items()}
    return mistake


def _resized(encoder, mask, layers):
    with torch.no_grad():
        F = encoder(mask.expand(-1, 3, -1, -1), list(layers))
    return {l: (mask_at(mask, f.shape[-2:]) >= 0.5).float() for l, f in F.items()}


@pytest.mark.parametrize("mistake, needle", [
    (_probe(region_noise=True, keep_changed=True), "the authors' `all`"),
    (_probe(region_noise=False, keep_changed=True), "the other side"),
    (_resized, "the authors' `simple`"),
    (lambda encoder, mask, layers: {l: v[0] for l, v in mask_inside(encoder, mask, layers).items()},
     "A channel dimension is lost"),
    (lambda encoder, mask, layers: {"relu1_1": mask}, "return a dict"),
], ids=["all", "outside", "simple", "channel lost", "layers missing"])
def test_mask_inside_mistakes(mistake, needle, capsys):
    fails(checks.check_mask_inside, mistake, capsys, needle)


def test_units_seeing_inside_lie_within_the_region_and_all_around_it():
    encoder, _, _ = encoder_and_images()
    T = torch.zeros(1, 1, 64, 64)
    T[..., :32, :] = 1
    inside, everything = (checks.units_seeing(encoder, T, list(STYLE_LAYERS), mode) for mode in ("inside", "all"))
    for l in STYLE_LAYERS:
        simple = mask_at(T, inside[l].shape[-2:])
        assert bool((inside[l] <= simple).all()) and bool((simple <= everything[l]).all()), l  # nested
    rows = [int(inside[l][0, 0, :, 1].sum()) for l in STYLE_LAYERS]
    assert rows == sorted(rows, reverse=True) and rows[0] >= 31 and rows[-1] == 0  # eroded layer by layer


def _gram_of(F):
    B, N = F.shape[:2]
    F = F.reshape(B, N, -1)
    return F @ F.transpose(1, 2)


@pytest.mark.parametrize("mistake, needle", [
    (lambda F, T: _gram_of(F * T), "the mask is not normalised"),
    (lambda F, T: _gram_of(F * T) / (F.shape[-1] * F.shape[-2]), "divided by all M = h w positions"),
    (lambda F, T: _gram_of(F * T) / T.sum(), "divided by sum_k T_k"),
    (lambda F, T: torch.bmm((F * T).flatten(2), F.flatten(2).mT) / (T * T).sum(), "the mask is in your product once"),
    (lambda F, T: _gram_of(F) * T.mean(), "the mask was applied after the Gram matrix"),
    (lambda F, T: (F * T).flatten(2).mT @ (F * T).flatten(2) / (T * T).sum(), "over positions"),
    (lambda F, T: guided_gram(F, T)[0], "Keep the batch dimension"),
], ids=["not normalised", "by M", "by sum T", "mask once", "after the Gram", "transposed", "batch dropped"])
def test_guided_gram_mistakes(mistake, needle, capsys):
    fails(checks.check_guided_gram, mistake, capsys, needle)


@pytest.mark.parametrize("mistake, needle", [
    (lambda sky: [sky, (sky < 1).float()], "the regions overlap"),
    (lambda sky: [sky, torch.ones_like(sky)], "the regions overlap"),
    (lambda sky: [sky, (sky == 0).float()], "pixels are left out"),
    (lambda sky: [sky, 0.5 - sky], "values outside [0, 1]"),
    (lambda sky: [sky.round(), 1 - sky.round()], "T_sky is not the sky mask"),
    (lambda sky: [sky[0], 1 - sky[0]], "A channel dimension is lost"),
    (lambda sky: 1 - sky, "a list of two masks"),
], ids=["border in both", "rest everywhere", "border in neither", "negative", "rounded", "channel lost", "one mask"])
def test_two_regions_mistakes(mistake, needle, capsys):
    fails(checks.check_two_regions, mistake, capsys, needle)


def _targets_at_the_paintings_resolution(encoder, painting, S, layers):
    with torch.no_grad():
        F = encoder(painting, list(layers))
    return {l: guided_gram(f, S) for l, f in F.items()}


@pytest.mark.parametrize("mistake, needle", [
    (_targets_at_the_paintings_resolution, "is the mask at the layer's resolution?"),
    (lambda encoder, painting, S, layers: {l: guided_gram(f, mask_at(S, f.shape[-2:])) * (mask_at(S, f.shape[-2:]) ** 2).sum()
                                           for l, f in encoder(painting, list(layers)).items()}, "not normalised"),
    (lambda encoder, painting, S, layers: {l: guided_gram(f, mask_at(S, f.shape[-2:]))
                                           for l, f in encoder(painting, list(layers)).items()}, "still requires grad"),
    (lambda encoder, painting, S, layers: {"relu1_1": 0}, "return a dict"),
], ids=["wrong resolution", "not normalised", "not detached", "layers missing"])
def test_guided_targets_mistakes(mistake, needle, capsys):
    fails(checks.check_guided_targets, mistake, capsys, needle)


def _loss_with(mask=True, quarter=True, weights=True, per_position=False):
    def mistake(F, T, A, w):
        total = 0
        for l, w_l in w.items():
            T_l = mask_at(T, F[l].shape[-2:]) if mask else T
            E = ((guided_gram(F[l], T_l) - A[l]) ** 2).sum() / ((4 if quarter else 1) * F[l].shape[1] ** 2)
            if per_position:
                E = E / (F[l].shape[-1] * F[l].shape[-2]) ** 2
            total = total + (w_l if weights else 1) * E
        return total
    return mistake


@pytest.mark.parametrize("mistake, needle", [
    (_loss_with(mask=False), "is the mask at the layer's resolution?"),
    (_loss_with(quarter=False), "the 1/4 of Eq. 4 is missing"),
    (_loss_with(weights=False), "the weights w_l are missing"),
    (_loss_with(per_position=True), "divided by M_l^2 as well"),
    (lambda F, T, A, w: guided_style_loss({l: f.detach() for l, f in F.items()}, T, A, w), "no graph"),
    (lambda F, T, A, w: torch.stack([guided_style_loss(F, T, A, w)] * 2), "one value"),
], ids=["wrong resolution", "no quarter", "no weights", "by M squared", "detached", "two values"])
def test_guided_style_loss_mistakes(mistake, needle, capsys):
    fails(checks.check_guided_style_loss, mistake, capsys, needle)


def test_the_transfer_check_compares_figure_scores_not_pixels(capsys):
    g = torch.Generator().manual_seed(0)
    _, photo, _ = encoder_and_images()
    a, b = (torch.rand(1, 3, *photo.shape[-2:], generator=g) for _ in range(2))
    sky = torch.zeros(1, 1, *photo.shape[-2:])
    sky[..., :10, :] = 1
    regions, paintings = [sky, 1 - sky], [a * 0.2, 0.8 + b * 0.2]
    picture = photo * 0.5 + 0.25
    other = picture + 0.01 * torch.randn(picture.shape, generator=g)  # other pixels, nearly the same scores
    assert not torch.equal(other, picture) and checks.check_two_region_transfer(other, picture, photo, regions, paintings)
    assert not checks.check_two_region_transfer((picture + 0.2).clamp(0, 1), picture, photo, regions, paintings)
    assert "to its painting" in capsys.readouterr().out


def test_the_transfer_check_says_which_exercise_it_waits_for(capsys):
    RESULTS.update({name: "pass" for name in checks.TRANSFER_NEEDS} | {"two_regions": "fail"})
    try:
        assert not checks.check_two_region_transfer(None, None, torch.zeros(1, 3, 8, 8), None, None)
        assert "did not run: two_regions does not pass yet" in capsys.readouterr().out
        RESULTS["two_regions"] = "not implemented yet"
        checks.check_two_region_transfer(None, None, torch.zeros(1, 3, 8, 8), None, None)
        assert "TODO two_region_transfer: not implemented yet" in capsys.readouterr().out
    finally:
        RESULTS.clear()


def test_the_receptive_fields_the_model_answer_states():
    """The key's answer on `inside` says a relu4_1 unit sees 68 pixels across and a relu5_1 unit 156: the gradient of
    one unit in the middle of the map reaches that far into the image, and no further."""
    encoder, _, _ = encoder_and_images()
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    widths = {}
    for l in ("relu4_1", "relu5_1"):
        F = encoder(x, [l])[l]
        (g,) = torch.autograd.grad(F[0, :, F.shape[-2] // 2, F.shape[-1] // 2].sum(), x)
        seen = g.abs().sum(1)[0] > 0
        widths[l] = (int(seen.any(0).sum()), int(seen.any(1).sum()))
    assert widths == {"relu4_1": (68, 68), "relu5_1": (156, 156)}
    assert "a `relu4_1`\nunit sees a window 68 pixels wide and a `relu5_1` unit one 156" in (
        Path(__file__).resolve().parent.parent / "assignments" / "guided_gram.md").read_text()
