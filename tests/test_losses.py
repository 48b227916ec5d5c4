import doctest

import pytest
import torch

import nst_teach
from nst_teach import content_loss, gram_matrix, losses, style_layer_loss, style_loss, total_loss, total_variation


def test_gram_matrix_by_hand():
    # One image, two channels, 1x3 positions: F = [[1, 2, 3], [0, 1, -1]].
    F = torch.tensor([[[[1.0, 2.0, 3.0]], [[0.0, 1.0, -1.0]]]])
    expected = torch.tensor([[[14.0, -1.0], [-1.0, 2.0]]])
    assert torch.equal(gram_matrix(F), expected)


def test_gram_matrix_is_per_image_in_a_batch():
    F = torch.randn(3, 4, 5, 6)
    G = gram_matrix(F)
    assert G.shape == (3, 4, 4)
    for b in range(3):
        flat = F[b].reshape(4, 30)
        torch.testing.assert_close(G[b], flat @ flat.T)


def test_content_loss_by_hand():
    F = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    P = torch.tensor([[[[0.0, 2.0], [1.0, 4.0]]]])
    assert content_loss(F, P).item() == pytest.approx(0.5 * (1 + 0 + 4 + 0))


def test_style_layer_loss_by_hand():
    F = torch.tensor([[[[1.0, 2.0, 3.0]], [[0.0, 1.0, -1.0]]]])  # N = 2, M = 3
    A = torch.zeros(1, 2, 2)
    expected = (14.0**2 + 1 + 1 + 2.0**2) / (4 * 2**2 * 3**2)
    assert style_layer_loss(F, A).item() == pytest.approx(expected)


def test_style_layer_loss_by_hand_against_a_painting_of_another_size():
    """With M_A positions in the painting's map, each Gram matrix over its own positions: sum (G/M - A/M_A)^2 / 4N^2."""
    F = torch.tensor([[[[1.0, 2.0, 3.0]], [[0.0, 1.0, -1.0]]]])  # N = 2, M = 3; G = [[14, -1], [-1, 2]]
    A = torch.tensor([[[12.0, 6.0], [6.0, 24.0]]])  # M_A = 6: per position [[2, 1], [1, 4]]
    expected = ((14 / 3 - 2) ** 2 + 2 * (-1 / 3 - 1) ** 2 + (2 / 3 - 4) ** 2) / (4 * 2**2)
    assert style_layer_loss(F, A, M_A=6).item() == pytest.approx(expected)
    assert style_loss({"l": F}, {"l": A}, {"l": 1.0}, {"l": 6}).item() == pytest.approx(expected)  # M_A reaches it


def test_style_loss_weights_layers():
    F = {"a": torch.ones(1, 2, 2, 2), "b": torch.full((1, 3, 2, 2), 2.0)}
    A = {"a": torch.zeros(1, 2, 2), "b": torch.zeros(1, 3, 3)}
    w = {"a": 0.25, "b": 0.75}
    expected = 0.25 * style_layer_loss(F["a"], A["a"]) + 0.75 * style_layer_loss(F["b"], A["b"])
    torch.testing.assert_close(style_loss(F, A, w), expected)


def test_weighted_gives_each_image_of_a_batch_its_own_weight():
    """w of shape (B,): sum_b w_b * loss(F_b, T_b), image b alone (in a batch of 3, where a slice b:b-1 is empty)."""
    F, T = torch.rand(3, 2, 4, 4, dtype=torch.float64), torch.rand(3, 2, 4, 4, dtype=torch.float64)
    for b in range(3):
        w = torch.zeros(3, dtype=torch.float64)
        w[b] = 2.0
        expected = 2.0 * content_loss(F[b : b + 1], T[b : b + 1])
        assert losses.weighted(content_loss, F, T, w).item() == pytest.approx(expected.item())
    nothing = losses.weighted(content_loss, F, T, torch.zeros(3))  # every weight 0: a zero tensor, not the int 0
    assert isinstance(nothing, torch.Tensor) and nothing.dtype == torch.float64 and nothing.item() == 0


def test_total_loss_and_tv():
    assert total_loss(torch.tensor(2.0), torch.tensor(3.0), 1e-3, 1.0).item() == pytest.approx(3.002)
    x = torch.tensor([[[0.0, 1.0], [1.0, 3.0]]])  # dh: 1, 2 ; dw: 1, 2
    assert total_variation(x).item() == pytest.approx(1 + 4 + 1 + 4)
    assert total_variation(x.unsqueeze(0)).item() == total_variation(x).item()


@pytest.mark.parametrize(
    "fn, make_args",
    [
        (content_loss, lambda: (torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True),
                                torch.randn(2, 3, 4, 5, dtype=torch.float64))),
        (style_layer_loss, lambda: (torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True),
                                    torch.randn(2, 3, 3, dtype=torch.float64))),
        (gram_matrix, lambda: (torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True),)),
        (total_variation, lambda: (torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True),)),
    ],
)
def test_float64_gradients(fn, make_args):
    torch.manual_seed(0)
    assert torch.autograd.gradcheck(fn, make_args())


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_gram_backward_matches_autograd_through_both_factors(layout):
    """The symmetric backward, (dG + dGᵀ) F in one product, equals autograd's two-product one."""
    torch.manual_seed(0)
    F = torch.randn(2, 6, 5, 7, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_(True)
    dG = torch.randn(2, 6, 6, dtype=torch.float64)  # not symmetric, as the upstream gradient may be
    G = gram_matrix(F)
    (ours,) = torch.autograd.grad(G, F, dG)
    X = F.reshape(2, 6, 35)
    (reference,) = torch.autograd.grad(X @ X.transpose(1, 2), F, dG)
    assert torch.allclose(G, (X @ X.transpose(1, 2)).detach())
    assert torch.allclose(ours, reference)
    assert torch.autograd.gradgradcheck(gram_matrix, (F,))  # second derivatives still work


def test_a_gram_matrix_made_under_bfloat16_autocast_differentiates_back_to_float32_features():
    """Autocast makes G in bfloat16 from float32 F; the backward gets dG in bfloat16 and must bring it to F's dtype."""
    torch.manual_seed(0)
    F = torch.rand(1, 4, 5, 6, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        G = gram_matrix(F)
    assert G.dtype == torch.bfloat16
    (grad,) = torch.autograd.grad(G.float().sum(), F)
    X = F.detach().double().reshape(1, 4, 30)
    reference = (2 * X.sum(1, keepdim=True)).expand(1, 4, 30).reshape(1, 4, 5, 6)  # d/dF_ik sum(F F^T) = 2 sum_j F_jk
    assert grad.dtype == torch.float32
    torch.testing.assert_close(grad.double(), reference, rtol=2e-2, atol=0)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"\(B, N, H, W\)"):
        gram_matrix(torch.ones(3, 4))
    with pytest.raises(ValueError, match="same shape"):
        content_loss(torch.ones(1, 2, 3, 3), torch.ones(1, 2, 3, 4))
    with pytest.raises(ValueError, match="Gram matrix"):
        style_layer_loss(torch.ones(1, 2, 3, 3), torch.ones(1, 3, 3))
    for fn, args in ((gram_matrix, ()), (content_loss, (torch.ones(2, 3, 3),)), (style_layer_loss, (torch.ones(1, 2, 2),))):
        with pytest.raises(ValueError, match=r"^F must be feature maps of shape \(B, N, H, W\), got \(2, 3, 3\)$"):
            fn(torch.ones(2, 3, 3), *args)


def test_importable_from_the_package_top():
    assert nst_teach.gram_matrix is gram_matrix and nst_teach.content_loss is content_loss
    assert nst_teach.style_layer_loss is style_layer_loss


def test_docstring_examples():
    assert doctest.testmod(losses, raise_on_error=True).attempted >= 3


def test_total_variation_refuses_what_is_no_image_and_says_its_shape():
    from nst_teach import NstTeachError

    with pytest.raises(NstTeachError) as err:
        total_variation(torch.rand(4, 5))
    assert str(err.value) == "expected an image (C, H, W) or (B, C, H, W), got (4, 5)"
