"""nst_teach.paper, the paper's method in one file, and the engine checked against it on the same images."""

import pytest
import torch

from nst_teach import paper
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, Content, Objective, Style, build_objective
from nst_teach.spatial import GuidedStyle


@pytest.fixture(scope="module")
def net():
    return paper.Encoder("random")  # the same seeded weights as the `encoder` fixture


def _close(ours: dict, theirs: dict, keys=("content", "style", "total"), rtol: float = 1e-5) -> None:
    for key in keys:
        a, b = float(ours[key].detach()), float(theirs[key].detach())
        assert a == pytest.approx(b, rel=rtol, abs=1e-6), key


def _both(objective: Objective, encoder, loss: paper.Loss, x: torch.Tensor):
    """The engine's terms and gradient, and the paper's, at ``x`` (float32 throughout)."""
    x_engine, x_paper = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = objective(encoder(x_engine, objective.layers), x_engine)
    theirs = loss(x_paper)
    ours["total"].backward()
    theirs["total"].backward()
    return ours, theirs, x_engine.grad, x_paper.grad


def _grads_agree(a: torch.Tensor, b: torch.Tensor) -> None:
    assert float((a - b).norm() / b.norm()) < 1e-4


def test_the_encoders_compute_the_same_features(encoder, net, photo):
    layers = ["conv1_1", "relu2_1", "pool3", "relu4_2", "relu5_1"]
    with torch.no_grad():
        ours, theirs = encoder(photo, layers), net(photo, layers)
    for name in layers:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-4 * float(theirs[name].abs().max()))


def test_a_transfer_has_the_same_loss_and_gradient(encoder, net, photo, painting):
    x = torch.rand_like(photo)
    objective = build_objective(encoder, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=3e-2, beta=1.0)
    loss = paper.Loss(net, content=photo, style=painting, alpha=3e-2, beta=1.0)
    ours, theirs, g_ours, g_theirs = _both(objective, encoder, loss, x)
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_a_reconstruction_and_a_texture_too(encoder, net, photo, texture):
    x = torch.rand_like(photo)
    content = Objective([Content.of(encoder, photo, ["relu3_2"])])
    _close(*_both(content, encoder, paper.Loss(net, content=photo, content_layers=["relu3_2"], beta=0.0), x)[:2],
           keys=("content", "total"))
    texture_only = Objective([Style.of(encoder, texture, ["relu1_1", "relu3_1"])])
    loss = paper.Loss(net, style=texture, style_layers=["relu1_1", "relu3_1"], alpha=0.0)
    ours, theirs, g_ours, g_theirs = _both(texture_only, encoder, loss, torch.rand_like(texture))
    _close(ours, theirs, keys=("style", "total"))
    _grads_agree(g_ours, g_theirs)


def test_a_blend_of_two_paintings(encoder, net, photo, painting, texture):
    x, paintings = torch.rand_like(photo), [painting, texture.flip(-1)]
    objective = Objective([Content.of(encoder, photo, [CONTENT_LAYER], 1e-2),
                           Style.of(encoder, paintings, STYLE_LAYERS, blend=[0.7, 0.3])])
    loss = paper.Loss(net, content=photo, style=paintings, alpha=1e-2, blend=[0.7, 0.3])
    ours, theirs, g_ours, g_theirs = _both(objective, encoder, loss, x)
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_a_painting_per_region(encoder, net, photo, painting, texture):
    top = torch.zeros(1, 1, *photo.shape[-2:])
    top[..., : photo.shape[-2] // 2, :] = 1
    content_masks, paintings = [top, 1 - top], [painting, texture]
    style_masks = [torch.ones(1, 1, *p.shape[-2:]) for p in paintings]
    style_masks[1][..., :10] = 0  # a region of the painting only
    objective = Objective([Content.of(encoder, photo, [CONTENT_LAYER], 1e-2),
                           GuidedStyle.of(encoder, content_masks, paintings, style_masks, STYLE_LAYERS)])
    loss = paper.Loss(net, content=photo, style=paintings, alpha=1e-2, masks=(content_masks, style_masks))
    ours, theirs, g_ours, g_theirs = _both(objective, encoder, loss, torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_the_trained_network_agrees_too(caffe, photo, painting):
    net = paper.Encoder("caffe")
    objective = build_objective(caffe, content=photo, style=painting, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=1e-2)
    ours, theirs, g_ours, g_theirs = _both(objective, caffe, paper.Loss(net, content=photo, style=painting, alpha=1e-2),
                                           torch.rand_like(photo))
    _close(ours, theirs)
    _grads_agree(g_ours, g_theirs)


def test_the_loop_descends_from_white_noise_and_does_not_clamp(net, photo, painting):
    loss = paper.Loss(net, content=photo, style=painting, alpha=1e-2)
    seen = []
    x = paper.synthesize(loss, photo.shape, steps=12, callback=lambda step, x, losses: seen.append(losses["total"]))
    assert len(seen) == 12 and seen[-1] < seen[0] / 2
    first = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    assert float(loss(first)["total"]) == pytest.approx(seen[0], rel=1e-5)  # it starts from U(0, 1) noise, seed 0
    assert x.shape == photo.shape and torch.isfinite(x).all()
