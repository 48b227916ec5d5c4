"""Assignment 1's checks (nst_teach.classroom.checks): stored expected values, and a hint for each classic mistake."""

import numpy as np
import torch
from check_helpers import fails

from nst_teach import losses
from nst_teach.classroom import checks
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS


def test_stored_expected_values_match_the_package():
    fresh = checks.make_cases()
    with np.load(checks.CASES_FILE) as stored:
        assert set(stored.files) == set(fresh)
        for key, value in fresh.items():
            np.testing.assert_allclose(stored[key], value, rtol=1e-12, err_msg=key)


def test_the_package_passes_its_own_checks(capsys):
    assert checks.check_gram_matrix(losses.gram_matrix)
    assert checks.check_content_loss(losses.content_loss)
    assert checks.check_style_layer_loss(losses.style_layer_loss)
    assert checks.check_style_loss(losses.style_loss)
    assert checks.check_total_variation(losses.total_variation)
    assert "PASS gram_matrix" in capsys.readouterr().out




def test_missing_normalisation_of_the_style_loss(capsys):
    def mistake(F, A):
        return ((losses.gram_matrix(F) - A) ** 2).sum()
    fails(checks.check_style_layer_loss, mistake, capsys, "case 'single", "expected", "got", "1/(4 N_l^2 M_l^2)")


def test_transposed_gram_matrix(capsys):
    def mistake(F):
        B, N, H, W = F.shape
        F = F.reshape(B, N, H * W)
        return F.transpose(1, 2) @ F
    fails(checks.check_gram_matrix, mistake, capsys, "transposed Gram")


def test_missing_half_in_the_content_loss(capsys):
    fails(checks.check_content_loss, lambda F, P: ((F - P) ** 2).sum(), capsys, "1/2")


def test_mean_instead_of_sum(capsys):
    fails(checks.check_content_loss, lambda F, P: 0.5 * ((F - P) ** 2).mean(), capsys, "mean where the paper has a sum")
    fails(checks.check_total_variation, lambda x: ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean()
           + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean(), capsys, "expected")


def test_wrong_layer(capsys):
    def mistake(encoder, content, style):
        with torch.no_grad():
            P = {CONTENT_LAYER: encoder(content, ["conv4_1"])["conv4_1"]}
            A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
        return P, A
    fails(checks.check_compute_targets, mistake, capsys, "conv4_1", "wrong layer")


def test_forgetting_to_detach_the_targets(capsys):
    def mistake(encoder, content, style):
        P = encoder(content, [CONTENT_LAYER])
        A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
        return P, A
    fails(checks.check_compute_targets, mistake, capsys, "detach")


def test_forgetting_zero_grad_in_the_closure(capsys):
    def mistake(encoder, x, optimizer, P, A, alpha, beta):
        def closure():
            F = encoder(x, [CONTENT_LAYER, *STYLE_LAYERS])
            w = {l: 0.2 for l in STYLE_LAYERS}
            loss = alpha * losses.content_loss(F[CONTENT_LAYER], P[CONTENT_LAYER]) + beta * losses.style_loss(F, A, w)
            loss.backward()
            return loss
        return optimizer.step(closure)
    fails(checks.check_transfer_step, mistake, capsys, "zero_grad")


def test_a_stub_reports_not_implemented_and_a_crash_is_reported(capsys):
    def stub(F):
        raise NotImplementedError()
    assert checks.check_gram_matrix(stub) is False
    assert "not implemented yet" in capsys.readouterr().out
    fails(checks.check_gram_matrix, lambda F: F.reshape(-1) @ F, capsys, "raised RuntimeError")


def test_each_content_loss_hint_names_its_own_mistake(capsys):
    fails(checks.check_content_loss, lambda F, P: ((F - P) ** 2).mean(), capsys, "a mean where the paper has a sum, and no 1/2")
    fails(checks.check_content_loss, lambda F, P: 0.5 * ((F - P) ** 2).mean(), capsys, "you kept the 1/2")


def test_a_gram_matrix_normalised_as_tutorials_do_is_named(capsys):
    def over_M(F):
        return losses.gram_matrix(F) / (F.shape[-2] * F.shape[-1])

    def over_NM(F):
        return losses.gram_matrix(F) / (F.shape[1] * F.shape[-2] * F.shape[-1])
    fails(checks.check_gram_matrix, over_M, capsys, "divided by M = H W")
    fails(checks.check_gram_matrix, over_NM, capsys, "as the PyTorch tutorial does")


def test_the_total_variation_hint_does_not_call_it_the_papers(capsys):
    def mistake(x):
        return ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean() + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()
    assert checks.check_total_variation(mistake) is False
    out = capsys.readouterr().out
    assert "not in the 2016 paper" in out and "paper's regulariser" not in out


def test_the_step_check_says_which_loss_it_compares(capsys):
    def returns_nothing(encoder, x, optimizer, P, A, alpha, beta):
        def closure():
            optimizer.zero_grad()
            F = encoder(x, [CONTENT_LAYER, *STYLE_LAYERS])
            loss = alpha * losses.content_loss(F[CONTENT_LAYER], P[CONTENT_LAYER]) + beta * losses.style_loss(
                F, A, {l: 0.2 for l in STYLE_LAYERS})
            loss.backward()
            return loss
        optimizer.step(closure)
        return torch.tensor(0.0)
    fails(checks.check_transfer_step, returns_nothing, capsys, "evaluated before its update", "return the loss")


# ---------------------------------------------------------------- assignment 2: from losses to pictures
