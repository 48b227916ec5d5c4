"""The objective as a list of terms: each knows its layers, weight and targets, and rebuilds itself at another size."""

from dataclasses import dataclass

import pytest
import torch

from nst_teach import NstTeachError, Settings
from nst_teach.coarse_to_fine import plan
from nst_teach.data import paper_image
from nst_teach.engine import optimize
from nst_teach.images import resize
from nst_teach.objective import (
    CONTENT_LAYER,
    STYLE_LAYERS,
    Content,
    Objective,
    Style,
    Term,
    TotalVariation,
    alpha_for_size,
    blend_weights,
    build_objective,
    exact,
    layer_weights,
)
from nst_teach.settings import DEFAULT_RATIO
from nst_teach.starts import initial_image


def test_the_paper_objective_is_a_content_and_a_style_term(encoder, photo, painting):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=1e-3, beta=2.0, tv_weight=0.5)
    assert [t.name for t in objective.terms] == ["content", "style", "tv"]
    assert [t.weight for t in objective.terms] == [1e-3, 2.0, 0.5]
    assert objective.layers == [CONTENT_LAYER, *STYLE_LAYERS]
    x = torch.rand_like(photo)
    with torch.no_grad():
        out = objective(encoder(x, objective.layers), x)
    assert set(out) == {"content", "style", "tv", "total"}
    expected = 1e-3 * out["content"] + 2.0 * out["style"] + 0.5 * out["tv"]
    assert float(out["total"]) == pytest.approx(float(expected), rel=1e-6)


def test_the_default_balance_is_the_same_at_every_size(caffe):
    """alpha/beta is quoted at 512 x 512 and scaled to the image, so that alpha * L_content / L_style
    (at the white-noise start, and at the content image itself against the style) does not move with the
    size; the same alpha at every size would weigh the content 4x less at half the side."""
    content, style = paper_image("tubingen", 192).image, paper_image("starry_night", 192).image

    def balance(size, alpha=None):
        c, s = resize(content, size), resize(style, size)
        alpha = alpha_for_size(DEFAULT_RATIO, c.shape[-2:]) if alpha is None else alpha
        objective = build_objective(caffe, content=c, style=s, content_layers=[CONTENT_LAYER],
                                       style_layers=STYLE_LAYERS, alpha=alpha)
        x = initial_image("noise", c.shape, content=c, style=s)
        with torch.no_grad():
            terms = objective(caffe(x, objective.layers), x)
        return float(alpha * terms["content"] / terms["style"])

    scaled = [balance(size) for size in (96, 192)]
    fixed = [balance(size, alpha=1e-3) for size in (96, 192)]
    assert 0.6 < scaled[0] / scaled[1] < 1.6, scaled
    assert fixed[1] / fixed[0] > 2.5, fixed


def test_coarse_levels_keep_the_balance_of_content_and_style(caffe):
    """Eq. 1 grows with the image's area and E_l does not: a level's content weight grows as its area shrinks, so that
    alpha * L_content / (beta * L_style) at a level's start is the full size's (the same image, shrunk)."""
    photo, painting = paper_image("tubingen", 256).image, paper_image("starry_night", 256).image
    painting = resize(painting, tuple(photo.shape[-2:]))
    objective = build_objective(caffe, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=alpha_for_size(DEFAULT_RATIO, photo.shape[-2:]))
    start = initial_image("recolored", photo.shape, content=photo, style=painting)

    def balance(objective: Objective, x: torch.Tensor) -> float:
        with torch.no_grad():
            out = objective(caffe(x, objective.layers), x)
        content, style = objective.term("content"), objective.term("style")
        return content.weight * float(out["content"]) / (style.weight * float(out["style"]))

    full = balance(objective, start)
    for factor in (0.5, 0.25):
        level = objective.resized(caffe, factor)
        assert level.term("content").weight == pytest.approx(objective.term("content").weight / factor**2)
        shrunk = resize(start, tuple(level.term("content").photo.shape[-2:]))
        # measured: 0.99 and 0.69 for Tübingen and The Starry Night, 1.9 and 2.0 for scikit-image's stand-ins;
        # with alpha kept as it is, these would be 4 and 16 times smaller
        assert 0.45 < balance(level, shrunk) / full < 2.5, factor


def test_a_level_rebuilds_every_target_from_its_shrunk_sources(encoder, photo, painting):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=["relu1_1"], tv_weight=1.0)
    half = objective.resized(encoder, 0.5)
    P, P_half = objective.term("content").P[CONTENT_LAYER], half.term("content").P[CONTENT_LAYER]
    assert P_half.shape[-2:] == tuple(s // 2 for s in P.shape[-2:])
    assert half.term("style").A["relu1_1"].shape == objective.term("style").A["relu1_1"].shape  # N x N at any size
    assert half.term("tv").weight == objective.term("tv").weight and [t.name for t in half.terms] == ["content", "style", "tv"]


@dataclass
class MeanColour(Term):
    """A term that exists only in this test: the image's mean colour should be ``target``."""

    target: torch.Tensor  # (3,)
    weight: float = 1.0
    name: str = "mean colour"

    @property
    def layers(self) -> list[str]:
        return []

    def loss(self, F, x):
        return ((x.float().mean((0, 2, 3)) - self.target) ** 2).sum()

    def resized(self, encoder, factor):
        return self  # a mean colour is the same at every size


def test_a_new_term_is_one_class_and_survives_every_level(encoder, texture):
    """Adding a term touches this file alone: the engine and coarse-to-fine ask the term, not a list of kinds."""
    red = torch.tensor([0.8, 0.2, 0.2])
    objective = Objective([Style.of(encoder, texture, ["relu1_1", "relu2_1"]), MeanColour(red, weight=1e4)])
    x0 = initial_image("noise", (1, 3, 192, 192), style=texture)
    result = optimize(encoder, objective, x0, Settings(steps=30), plan(Settings(steps=30), (192, 192), x0.device, 2))
    assert {h["level"] for h in result.history} == {0, 1, 2}  # coarse levels ran...
    assert all("mean colour" in h for h in result.history)  # ...with the term at each of them
    assert float((result.image.mean((0, 2, 3)) - red).abs().max()) < 0.05


def test_terms_are_checked_where_they_are_made(encoder, photo):
    with pytest.raises(NstTeachError, match="own name"):
        Objective([TotalVariation(1.0), TotalVariation(2.0)])
    with pytest.raises(NstTeachError, match="'relu1_1' is named twice"):
        layer_weights(["relu1_1", "relu1_1"])
    with pytest.raises(NstTeachError, match="weight of layer 'relu1_1'"):
        layer_weights({"relu1_1": float("nan")})
    for name in ("alpha", "beta", "tv_weight"):
        for bad in (-1.0, float("nan"), float("inf")):
            with pytest.raises(NstTeachError, match=rf"^{name} must be a finite number"):
                build_objective(encoder, content=photo, content_layers=[CONTENT_LAYER], style=photo,
                                style_layers=["relu1_1"], **{name: bad})
    with pytest.raises(NstTeachError, match=r"^alpha must be a finite number, at least 0 and at most 1e\+12; got 10000000000000.0"):
        build_objective(encoder, content=photo, content_layers=[CONTENT_LAYER], alpha=1e13)  # as style_transfer refuses it
    with pytest.raises(NstTeachError, match="^content layers were given but no content image$"):
        build_objective(encoder, content_layers=[CONTENT_LAYER], style=photo, style_layers=STYLE_LAYERS)
    with pytest.raises(NstTeachError, match="^style layers were given but no style image$"):
        build_objective(encoder, style_layers=STYLE_LAYERS)
    with pytest.raises(NstTeachError, match="^an objective needs at least one term$"):
        Objective([])
    with pytest.raises(NstTeachError, match=r"^each term needs its own name, and none may be 'total', 'step', 'level', "
                       r"'phase'; got \['total'\]$"):
        Objective([TotalVariation(1.0, name="total")])
    assert blend_weights([3.0, 1.0], 2) == (0.75, 0.25)
    refusals = {  # each with its message and the argument it names (the CLI turns the name into its flag)
        ((), 0): ("a style needs at least one painting", "style"),
        ((1.0,), 2): ("1 style weights for 2 style images: give one weight per style", "style_blend"),
        ((1.0, -1.0), 2): ("style_blend[1] must be a finite number, at least 0 and at most 1e+12; got -1.0", "style_blend[1]"),
        ((0.0, 0.0), 2): ("the style weights are all 0: give at least one painting a weight above 0; got [0.0, 0.0]",
                          "style_blend"),
    }
    for (weights, n), expected in refusals.items():
        with pytest.raises(NstTeachError) as err:
            blend_weights(list(weights), n)
        assert (str(err.value), err.value.name) == expected
    with pytest.raises(NstTeachError, match="style weights are all 0"):
        Style.of(encoder, [photo, photo], ["relu1_1"], blend=[0.0, 0.0])


def test_a_blend_with_weights_1_0_is_the_first_painting_alone(encoder, photo, painting, texture):
    alone = Style.of(encoder, painting, STYLE_LAYERS)
    blended = Style.of(encoder, [painting, texture], STYLE_LAYERS, blend=[1.0, 0.0])
    for l in STYLE_LAYERS:
        torch.testing.assert_close(alone.A[l], blended.A[l])
    assert Content.of(encoder, photo, {CONTENT_LAYER: 2.0}).layer_weights == {CONTENT_LAYER: 2.0}
    built = build_objective(encoder, style=[painting, texture], style_layers=STYLE_LAYERS, style_blend=[1.0, 0.0])
    for l in STYLE_LAYERS:  # build_objective hands its blend to the style term (equal weights would mix the two)
        torch.testing.assert_close(alone.A[l], built.terms[0].A[l])


def test_one_layer_name_is_that_layer_and_losses_are_float32_whatever_the_network_ran_in():
    assert layer_weights("relu2_1") == {"relu2_1": 1.0}  # a name, not a sequence of letters
    assert exact(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.float32
    assert exact(torch.ones(2, dtype=torch.float64)).dtype == torch.float64  # the oracle tests' network


def test_build_objective_weighs_each_term_1_by_default(encoder, photo, painting):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS)
    assert [(t.name, t.weight) for t in objective.terms] == [("content", 1.0), ("style", 1.0)]


@dataclass
class Doubled(Content):
    """A student's variant of a term: it must stay itself, with its own name, at every coarse level."""

    name: str = "doubled content"

    def loss(self, F, x):
        return 2 * super().loss(F, x)


def test_a_subclass_keeps_its_class_and_name_at_a_coarse_level(encoder, photo):
    term = Doubled.of(encoder, photo, [CONTENT_LAYER], 3.0)
    half = term.resized(encoder, 0.5)
    assert type(half) is Doubled and half.name == "doubled content" and half.weight == pytest.approx(12.0)
    objective = Objective([term, Content.of(encoder, photo, ["relu2_1"])])
    assert [t.name for t in objective.resized(encoder, 0.5).terms] == ["doubled content", "content"]


def test_balanced_layer_weights_give_every_layer_the_same_share_of_the_start(caffe, photo, painting):
    from nst_teach import balanced_layer_weights, style_layer_loss

    start = initial_image("noise", photo.shape, content=photo, style=painting)
    w = balanced_layer_weights(caffe, painting, start)
    style = Style.of(caffe, painting, w)
    with torch.no_grad():
        F = caffe(start, STYLE_LAYERS)
    E = {l: float(style_layer_loss(F[l], style.A[l], style.M_A[l])) for l in STYLE_LAYERS}
    parts = [w[l] * E[l] for l in STYLE_LAYERS]
    assert max(parts) / min(parts) == pytest.approx(1.0, rel=1e-4)
    assert sum(parts) == pytest.approx(sum(E.values()) / 5, rel=1e-4)  # the paper's total, 1/5 each
    assert w["relu1_1"] > 10 * w["relu4_1"]  # on the trained network, relu4_1's E_l is by far the largest


def test_balanced_layer_weights_give_each_layer_its_share_of_the_start(caffe, photo, painting):
    """Shares (the default picture's, each half the one before) set each layer's w_l E_l at the start, in proportion,
    with the paper's total; a tensor or all-zero shares are refused."""
    from nst_teach import PICTURE_STYLE_SHARES, balanced_layer_weights, style_layer_loss

    start = initial_image("noise", photo.shape, content=photo, style=painting)
    w = balanced_layer_weights(caffe, painting, start, PICTURE_STYLE_SHARES)
    style = Style.of(caffe, painting, w)
    with torch.no_grad():
        F = caffe(start, STYLE_LAYERS)
    E = {l: float(style_layer_loss(F[l], style.A[l], style.M_A[l])) for l in STYLE_LAYERS}
    shares = [w[l] * E[l] / PICTURE_STYLE_SHARES[l] for l in STYLE_LAYERS]
    assert max(shares) / min(shares) == pytest.approx(1.0, rel=1e-4)
    assert sum(w[l] * E[l] for l in STYLE_LAYERS) == pytest.approx(sum(E.values()) / 5, rel=1e-4)
    assert w["relu1_1"] * E["relu1_1"] == pytest.approx(16 * w["relu5_1"] * E["relu5_1"], rel=1e-4)
    with pytest.raises(NstTeachError, match="must be a number"):
        balanced_layer_weights(caffe, painting, start, {"relu1_1": torch.ones(1)})
    with pytest.raises(NstTeachError, match="must not all be 0"):
        balanced_layer_weights(caffe, painting, start, {"relu1_1": 0.0, "relu2_1": 0.0})


def test_a_weight_at_its_limit_survives_the_coarse_levels(encoder, photo):
    """alpha grows 16-fold two levels down: the objective is checked when made, not again when resized."""
    from nst_teach.objective import MAX_WEIGHT

    objective = Objective([Content.of(encoder, photo, [CONTENT_LAYER], MAX_WEIGHT)])
    assert objective.resized(encoder, 0.25).terms[0].weight == 16 * MAX_WEIGHT


def test_a_ratio_is_above_0_and_at_most_max_ratio_and_is_named():
    from nst_teach.objective import MAX_RATIO, check_ratio

    check_ratio(MAX_RATIO), check_ratio(1e-12)
    for bad in (0, -1e-3, 2 * MAX_RATIO, float("nan")):
        with pytest.raises(NstTeachError) as err:
            check_ratio(bad)
        assert err.value.name == "ratio" and str(err.value).startswith("ratio must be a finite number, above 0 and at most 1e+06")
    with pytest.raises(NstTeachError) as err:
        check_ratio(0, "--ratio")
    assert err.value.name == "--ratio"


def test_a_term_without_from_images_says_what_to_add():
    class Plain(Term):
        name: str = "plain"

    with pytest.raises(NstTeachError) as err:
        Plain.from_images(None, None, [])
    assert str(err.value) == ("Plain does not say how to build itself from a run's images: give it a classmethod "
                              "from_images(encoder, content, styles, weight)") and err.value.name == "term"


def test_a_level_of_the_style_term_shrinks_its_paintings_and_counts_their_positions(encoder, painting):
    style = Style.of(encoder, [painting], ["relu1_1", "relu2_1"])
    half = style.resized(encoder, 0.5)
    assert half.paintings[0].shape[-2:] == tuple(s // 2 for s in painting.shape[-2:])
    H, W = half.paintings[0].shape[-2:]
    assert half.M_A == {"relu1_1": H * W, "relu2_1": (H // 2) * (W // 2)} and style.M_A["relu1_1"] == 4 * H * W
    objective = Objective([style])
    assert objective.term("style") is style and objective.term("content") is None


def test_alpha_for_size_by_hand():
    """ratio at 512 x 512 px: alpha = ratio * 512^2 / (H W), so that alpha times Eq. 1's sum over H W positions keeps
    its size against the style loss, which compares per position."""
    assert alpha_for_size(1e-3, (256, 128)) == pytest.approx(1e-3 * 512 * 512 / (256 * 128))
    assert alpha_for_size(2e-3, (512, 512)) == pytest.approx(2e-3)
