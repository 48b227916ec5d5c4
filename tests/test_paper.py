"""nst_teach.paper, the paper's method in one file, and the engine checked against it on the same images."""

import copy
import warnings

import pytest
import torch

from nst_teach import paper
from nst_teach.engine import loss_terms
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, Content, Objective, Style, build_objective
from nst_teach.spatial import GuidedStyle

#: float64 carries about 16 significant digits. The engine and paper.py add the same products in other orders
#: (channels-last kernels, a symmetric Gram backward), which costs a few of them; 1e-9 leaves room for that and still
#: sees any real difference: a single float32 rounding is 6e-8, a missing factor or term is of order 1.
FLOAT64 = 1e-9


@pytest.fixture(scope="module")
def net():
    return paper.Encoder("random").double()  # the same seeded weights as the `encoder` fixture


@pytest.fixture(scope="module")
def encoder64(encoder):
    return copy.deepcopy(encoder).double()


def _close(ours: dict, theirs: dict, keys=("content", "style", "total"), rtol: float = FLOAT64) -> None:
    for key in keys:
        a, b = float(ours[key].detach()), float(theirs[key].detach())
        assert a == pytest.approx(b, rel=rtol, abs=1e-12), key


def _both(objective: Objective, encoder, loss: paper.Loss, x: torch.Tensor, precision: str = "float32"):
    """The engine's terms and gradient at ``x`` (its own path: the layout it runs in, and ``precision`` for the
    network), and the paper's, in the dtype of ``x``."""
    x_engine, x_paper = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = loss_terms(encoder, objective, x_engine, precision)
    theirs = loss(x_paper)
    ours["total"].backward()
    theirs["total"].backward()
    return ours, theirs, x_engine.grad, x_paper.grad


def _grads_agree(a: torch.Tensor, b: torch.Tensor, rtol: float = FLOAT64) -> None:
    error = float((a.double() - b.double()).norm() / b.double().norm())
    assert error < rtol, f"the gradients differ by {error:.2e} (relative), more than {rtol:.0e}"


def test_the_encoders_compute_the_same_features(encoder64, net, photo):
    layers = ["conv1_1", "relu2_1", "pool3", "relu4_2", "relu5_1"]
    with torch.no_grad():
        ours, theirs = encoder64(photo.double(), layers), net(photo.double(), layers)
    for name in layers:
        torch.testing.assert_close(ours[name], theirs[name], rtol=FLOAT64, atol=FLOAT64 * float(theirs[name].abs().max()))


def test_the_encoder_reaches_its_last_layer(net, photo):
    with torch.no_grad():
        assert net(photo.double(), ["pool5"])["pool5"].shape == (1, 512, 2, 2)  # 64 px halved five times


@pytest.mark.parametrize("rows", [slice(None), slice(8, 56)], ids=["square", "48x64-against-a-64x64-painting"])
def test_a_transfer_has_the_same_loss_and_gradient(encoder64, net, photo, painting, rows):
    """Also for a photograph that is not square: Eq. 4 at the image's M_l = N_rows x N_cols positions, each layer's own
    (48 x 64 px: 3 x 4 at relu5_1), against targets counted per position of the 64 x 64 painting; a square's M_l
    (rows x rows) would be 3/4 of it."""
    photo, painting = photo[..., rows, :].double(), painting.double()
    objective = build_objective(encoder64, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=3e-2, beta=1.0)
    loss = paper.Loss(net, content=photo, style=painting, alpha=3e-2, beta=1.0)
    ours, theirs, g_ours, g_theirs = _both(objective, encoder64, loss, torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_a_reconstruction_and_a_texture_too(encoder64, net, photo, texture):
    photo, texture = photo.double(), texture.double()
    content = Objective([Content.of(encoder64, photo, ["relu3_2"])])
    loss = paper.Loss(net, content=photo, content_layers=["relu3_2"], beta=0.0)
    ours, theirs, g_ours, g_theirs = _both(content, encoder64, loss, torch.rand_like(photo))
    _close(ours, theirs, keys=("content", "total"))
    _grads_agree(g_ours, g_theirs)
    texture_only = Objective([Style.of(encoder64, texture, ["relu1_1", "relu3_1"])])
    loss = paper.Loss(net, style=texture, style_layers=["relu1_1", "relu3_1"], alpha=0.0)
    ours, theirs, g_ours, g_theirs = _both(texture_only, encoder64, loss, torch.rand_like(texture))
    _close(ours, theirs, keys=("style", "total"))
    _grads_agree(g_ours, g_theirs)


def test_a_blend_of_two_paintings(encoder64, net, photo, painting, texture):
    photo, paintings = photo.double(), [painting.double(), texture.flip(-1).double()]
    objective = Objective([Content.of(encoder64, photo, [CONTENT_LAYER], 1e-2),
                           Style.of(encoder64, paintings, STYLE_LAYERS, blend=[0.7, 0.3])])
    loss = paper.Loss(net, content=photo, style=paintings, alpha=1e-2, blend=[0.7, 0.3])
    ours, theirs, g_ours, g_theirs = _both(objective, encoder64, loss, torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_a_painting_per_region(encoder64, net, photo, painting, texture):
    photo, painting, texture = photo.double(), painting.double(), texture.double()
    top = torch.zeros(1, 1, *photo.shape[-2:], dtype=torch.float64)
    top[..., : photo.shape[-2] // 2, :] = 1
    content_masks, paintings = [top, 1 - top], [painting, texture]
    style_masks = [torch.ones(1, 1, *p.shape[-2:], dtype=torch.float64) for p in paintings]
    style_masks[1][..., :10] = 0  # a region of the painting only
    objective = Objective([Content.of(encoder64, photo, [CONTENT_LAYER], 1e-2),
                           GuidedStyle.of(encoder64, content_masks, paintings, style_masks, STYLE_LAYERS)])
    loss = paper.Loss(net, content=photo, style=paintings, alpha=1e-2, masks=(content_masks, style_masks))
    ours, theirs, g_ours, g_theirs = _both(objective, encoder64, loss, torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_the_trained_network_agrees_too(caffe, photo, painting):
    net, caffe64, photo, painting = paper.Encoder("caffe").double(), copy.deepcopy(caffe).double(), photo.double(), painting.double()
    objective = build_objective(caffe64, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=1e-2)
    ours, theirs, g_ours, g_theirs = _both(objective, caffe64, paper.Loss(net, content=photo, style=painting, alpha=1e-2),
                                           torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


#: How close the engine's own precisions come to float64's answer, as the relative error of one term's loss and
#: gradient on the trained network. float32 rounds at 6e-8 and the network's long sums lose some digits (measured on
#: an AVX2 CPU: gradients within 8e-7, losses within 2e-7); bfloat16 keeps 8 bits, 4e-3 a rounding (measured:
#: gradients within 3.5e-2, losses within 8e-3). A wrong sign, factor or layer in one term is an error of order 1.
PRECISION_RTOL = {"float32": 1e-4, "bfloat16": 1e-1}


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("term", ["content", "style"])
def test_each_terms_gradient_in_the_engines_own_precision(caffe, photo, painting, precision, term):
    """The path a run takes on every CPU: float32 (a laptop) and bfloat16 (where the CPU is fast at it), each
    against paper.py in float64, term by term, so that no term's error hides behind another's."""
    net = paper.Encoder("caffe").double()
    alpha, beta = (1.0, 0.0) if term == "content" else (0.0, 1.0)
    objective = build_objective(caffe, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=alpha, beta=beta)
    loss = paper.Loss(net, content=photo.double(), style=painting.double(), alpha=alpha, beta=beta)
    x = torch.rand_like(photo)
    x_engine, x_paper = x.clone().requires_grad_(True), x.double().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bfloat16 emulated on this CPU: slow, still right
        ours = loss_terms(caffe, objective, x_engine, precision)
    theirs = loss(x_paper)
    ours[term].backward()
    theirs[term].backward()
    assert ours[term].dtype == torch.float32  # the losses are float32 whatever the network ran in
    _close(ours, theirs, keys=(term,), rtol=PRECISION_RTOL[precision])
    _grads_agree(x_engine.grad, x_paper.grad, PRECISION_RTOL[precision])


def test_the_loop_descends_from_white_noise_and_does_not_clamp(net, photo, painting):
    loss = paper.Loss(net, content=photo, style=painting, alpha=1e-2)
    seen = []
    x = paper.synthesize(loss, photo.shape, steps=12, callback=lambda step, x, losses: seen.append(losses["total"]))
    assert len(seen) == 12 and seen[-1] < seen[0] / 2
    first = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    assert float(loss(first)["total"]) == pytest.approx(seen[0], rel=1e-5)  # it starts from U(0, 1) noise, seed 0
    assert x.shape == photo.shape and torch.isfinite(x).all()


def test_an_equation_named_in_both_files_means_the_same_there():
    """Eq. 1, 3, 4 and 7 in paper.py and in the engine's losses.py: the same value for the same arguments."""
    from nst_teach import losses

    F, P = torch.rand(2, 8, 6, 5, dtype=torch.float64), torch.rand(2, 8, 6, 5, dtype=torch.float64)
    A = losses.gram_matrix(P)
    torch.testing.assert_close(paper.gram_matrix(F), losses.gram_matrix(F))
    torch.testing.assert_close(paper.content_loss(F, P), losses.content_loss(F, P))
    torch.testing.assert_close(paper.style_layer_loss(F, A), losses.style_layer_loss(F, A))
    torch.testing.assert_close(paper.total_loss(F.sum(), P.sum(), 0.3, 2.0), losses.total_loss(F.sum(), P.sum(), 0.3, 2.0))


def test_a_guided_layer_loss_brings_the_mask_to_the_layer_by_area_averaging():
    """A mask of alternate pixels at twice the layer's size averages to one half everywhere, which weighs every position
    alike: the same loss as no mask at all (nearest sampling would keep only one parity: all 0s or all 1s)."""
    F, A = torch.rand(1, 4, 6, 5, dtype=torch.float64), torch.rand(4, 4, dtype=torch.float64)
    alternate = (torch.arange(12).view(-1, 1) + torch.arange(10).view(1, -1)).remainder(2).double()[None, None]
    torch.testing.assert_close(paper.guided_style_layer_loss(F, alternate, A),
                               paper.guided_style_layer_loss(F, torch.ones(1, 1, 6, 5, dtype=torch.float64), A))


def test_synthesize_spends_every_step_from_the_seeded_noise():
    """Tolerances off: all `steps` evaluations run even once the loss is all but zero (PyTorch's default tolerances
    stop this quartic after 21), each seen by the callback with its number, the first at the start, U(0, 1) noise from
    seed 0 unless told."""
    seen = []
    x = paper.synthesize(lambda x: {"total": ((x - 0.3) ** 4).sum()}, (1, 3, 4, 4), steps=30,
                         callback=lambda step, x, losses: seen.append((step, x.clone(), losses["total"])))
    assert [step for step, _, _ in seen] == list(range(1, 31))
    torch.testing.assert_close(seen[0][1], torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(0)))
    assert seen[-1][2] < 1e-10 and torch.allclose(x, torch.full_like(x, 0.3), atol=1e-2)
    steps = []
    paper.synthesize(lambda x: {"total": ((x - 0.3) ** 4).sum()}, (1, 3, 2, 2), callback=lambda step, x, losses: steps.append(step))
    assert len(steps) == 500  # the default: "max_iter = 500" in the authors' NeuralStyleTransfer.ipynb


def test_the_paper_encoder_is_the_trained_network_frozen_by_default():
    net = paper.Encoder()
    assert "caffe" in net.weights.lower() and not any(p.requires_grad for p in net.parameters())


def test_the_paper_loss_weighs_its_layers_and_paintings_equally_by_default(photo, painting):
    """w_l = 1/L over the L style layers (1 for a single layer); a blend of k paintings 1/k each: the same targets as
    the weights written out."""
    net = paper.Encoder("random")
    assert paper.Loss(net, style=painting, style_layers=["relu1_1"]).w == {"relu1_1": 1.0}
    assert paper.Loss(net, style=painting, style_layers=["relu1_1", "relu2_1"]).w == {"relu1_1": 0.5, "relu2_1": 0.5}
    other = painting.flip(-1)
    default, written = (paper.Loss(net, style=[painting, other], style_layers=["relu1_1"], blend=b) for b in (None, [0.5, 0.5]))
    torch.testing.assert_close(default.A["relu1_1"], written.A["relu1_1"])
