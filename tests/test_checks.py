"""Assignment 1's checks (nst_teach.classroom.checks): stored expected values, and a hint for each classic mistake."""

import numpy as np
import pytest
import torch
from check_helpers import exercise_of, fails

from nst_teach import losses
from nst_teach.classroom import checks
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS


def test_stored_expected_values_match_the_package():
    fresh = checks.make_cases()
    with np.load(checks.CASES_FILE) as stored:
        assert set(stored.files) == set(fresh)
        for key, value in fresh.items():
            np.testing.assert_allclose(stored[key], value, rtol=1e-12, err_msg=key)


#: Each check of assignment 1, the package's own answer, its number of cases and the name of its first case.
_CHECKS = [(checks.check_gram_matrix, losses.gram_matrix, 3, "single 1x3x4x4"),
           (checks.check_content_loss, losses.content_loss, 3, "single 1x3x4x4"),
           (checks.check_style_layer_loss, losses.style_layer_loss, 3, "single 1x3x4x4"),
           (checks.check_style_loss, losses.style_loss, 1, "three layers, w_l = 1, 1/2, 1/3"),
           (checks.check_total_variation, losses.total_variation, 3, "single 1x3x4x4"),
           (checks.check_compute_targets, None, 3, None), (checks.check_transfer_step, None, 1, None)]


def _package_compute_targets(encoder, content, style):
    with torch.no_grad():
        P = {CONTENT_LAYER: encoder(content, [CONTENT_LAYER])[CONTENT_LAYER]}
        A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
    return P, A


def _package_transfer_step(encoder, x, optimizer, P, A, alpha, beta):
    def closure():
        optimizer.zero_grad()
        F = encoder(x, [CONTENT_LAYER, *STYLE_LAYERS])
        loss = alpha * losses.content_loss(F[CONTENT_LAYER], P[CONTENT_LAYER]) + beta * losses.style_loss(
            F, A, {l: 0.2 for l in STYLE_LAYERS})
        loss.backward()
        return loss
    return optimizer.step(closure)


_ANSWERS = {"compute_targets": _package_compute_targets, "transfer_step": _package_transfer_step}


@pytest.mark.parametrize(("check", "answer", "n_cases", "first_case"), _CHECKS, ids=[exercise_of(c[0]) for c in _CHECKS])
def test_each_check_prints_one_exact_line_for_a_pass_a_stub_and_a_crash(check, answer, n_cases, first_case, capsys):
    """What a student reads, to the letter, and what the notebook's summary records: PASS with the number of cases,
    TODO for a stub that still raises NotImplementedError, FAIL naming the case that raised and the error."""
    exercise = exercise_of(check)
    answer = answer or _ANSWERS[exercise]
    assert check(answer) is True
    assert capsys.readouterr().out == f"PASS {exercise}: all {n_cases} cases agree\n" and checks.RESULTS[exercise] == "pass"

    def stub(*args):
        raise NotImplementedError

    assert check(stub) is False
    assert capsys.readouterr().out == f"TODO {exercise}: not implemented yet\n"
    assert checks.RESULTS[exercise] == "not implemented yet"

    def crash(*args):
        raise ValueError("boom")

    where = f"case '{first_case}' raised" if first_case else "raised"
    assert fails(check, crash, capsys) == f"FAIL {exercise}: {where} ValueError: boom\n"


@pytest.mark.parametrize(("check", "answer", "n_cases", "first_case"), _CHECKS[:5], ids=[exercise_of(c[0]) for c in _CHECKS[:5]])
def test_an_answer_that_is_no_tensor_or_of_the_wrong_shape_is_told_so(check, answer, n_cases, first_case, capsys):
    exercise = exercise_of(check)
    assert fails(check, lambda *args: "G", capsys) == (
        f"FAIL {exercise}: case '{first_case}': expected a tensor, got str. Return a torch.Tensor.\n")
    out = fails(check, lambda *args: answer(*args).unsqueeze(0), capsys, "Shapes differ.")
    assert out.startswith(f"FAIL {exercise}: case '{first_case}': expected ")


def test_the_summary_lists_every_exercise_and_counts_the_passes(capsys):
    checks.RESULTS.clear()
    assert checks.summary() == {} and capsys.readouterr().out == "0 of 0 exercises pass\n"
    checks.report("gram_matrix", None, 3)
    checks.report("style_loss", "todo", 1)
    checks.report("content_loss", "wrong", 3)
    capsys.readouterr()
    table = checks.summary()
    assert table == {"gram_matrix": "pass", "style_loss": "not implemented yet", "content_loss": "fail"}
    assert capsys.readouterr().out == ("PASS  gram_matrix   pass\n"
                                       "TODO  style_loss    not implemented yet\n"
                                       "FAIL  content_loss  fail\n"
                                       "1 of 3 exercises pass\n")
    assert checks.passed("gram_matrix") and not checks.passed("gram_matrix", "style_loss") and not checks.passed("tv")
    assert checks.passed()  # nothing asked, nothing missing




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


@pytest.mark.parametrize("layer", ["conv4_1", "relu4_3", "conv4_4"])
def test_wrong_layer(capsys, layer):
    """Every layer of block 4 has relu4_2's shape: each one taken instead is named."""
    def mistake(encoder, content, style):
        with torch.no_grad():
            P = {CONTENT_LAYER: encoder(content, [layer])[layer]}
            A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
        return P, A
    assert fails(checks.check_compute_targets, mistake, capsys) == (
        f"FAIL compute_targets: P holds the features of {layer}: the wrong layer. Use relu4_2.\n")


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
    out = fails(checks.check_transfer_step, mistake, capsys, "FAIL transfer_step: case 'image after 3 Adam steps': expected ")
    assert out.endswith(". Hint: did you call optimizer.zero_grad() inside the closure? Without it, gradients pile up from "
                        "step to step.\n"), out


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
        _package_transfer_step(encoder, x, optimizer, P, A, alpha, beta)
        return torch.tensor(0.0)
    out = fails(checks.check_transfer_step, returns_nothing, capsys,
                "FAIL transfer_step: case 'the loss returned by the 3rd step (evaluated before its update)': expected ")
    assert out.endswith(". Hint: return the loss from optimizer.step(closure).\n"), out


def _gram(F):
    return losses.gram_matrix(F)


#: (check, a classic mistake, the case it fails on, the exact end of its line: the hint as the student reads it).
#: The first case is 1 x 3 x 4 x 4 (N = 3, M = 16, 48 entries; 36 vertical differences); the second a batch of 2.
_MISTAKES = [
    (checks.check_gram_matrix, lambda F: _gram(F) / 16 if F.shape[-1] == 4 else _gram(F) / (F.shape[-2] * F.shape[-1]),
     "single 1x3x4x4", "Hint: yours is 0.0625 times the expected value: divided by M = H W = 16, as many tutorials do. "
     "The paper's G is unnormalised; its Eq. 4 divides by M^2 instead."),
    (checks.check_gram_matrix, lambda F: _gram(F) / 48, "single 1x3x4x4",
     "Hint: yours is 0.0208333 times the expected value: divided by N M = 48, as the PyTorch tutorial does. "
     "The paper's G is unnormalised."),
    (checks.check_gram_matrix, lambda F: F.flatten(2).transpose(1, 2) @ F.flatten(2), "single 1x3x4x4",
     "Hint: that is F^T F over positions (a transposed Gram matrix); the paper's is F F^T, N_l x N_l."),
    (checks.check_gram_matrix, lambda F: _gram(F)[0], "single 1x3x4x4", "Hint: keep the batch dimension: the result is (B, N, N)."),
    (checks.check_gram_matrix, lambda F: F.flatten(2), "single 1x3x4x4", "Shapes differ. Check the output shape."),  # not square
    (checks.check_content_loss, lambda F, P: ((F - P) ** 2).sum(), "single 1x3x4x4",
     "Hint: yours is 2 times the expected value: did you forget the 1/2 in Eq. 1?"),
    (checks.check_content_loss, lambda F, P: ((F - P) ** 2).mean(), "single 1x3x4x4", "Hint: yours is 0.0416667 times the "
     "expected value: a mean where the paper has a sum, and no 1/2 (Eq. 1 is 1/2 times a sum)."),
    (checks.check_content_loss, lambda F, P: 0.5 * ((F - P) ** 2).mean(), "single 1x3x4x4", "Hint: yours is 0.0208333 times "
     "the expected value: a mean where the paper has a sum (you kept the 1/2; a mean also divides by the number of elements)."),
    (checks.check_style_layer_loss, lambda F, A: ((_gram(F) - A) ** 2).sum(), "single 1x3x4x4",
     "Hint: yours is 9216 times the expected value: did you forget the 1/(4 N_l^2 M_l^2) of Eq. 4?"),
    (checks.check_style_layer_loss, lambda F, A: 4 * losses.style_layer_loss(F, A), "single 1x3x4x4",
     "Hint: yours is 4 times the expected value: the 1/4 of Eq. 4 is missing."),
    (checks.check_style_layer_loss, lambda F, A: losses.style_layer_loss(F, A) / (F.shape[0] * F.shape[1] ** 2),
     "single 1x3x4x4", "Hint: yours is 0.111111 times the expected value: a mean where the paper has a sum: the sum over "
     "i, j is divided by 4 N^2 M^2 only."),
    (checks.check_style_layer_loss, lambda F, A: losses.style_layer_loss(F, A) / F.shape[0], "batch of 2, 4x5x7",
     "Hint: yours is 0.5 times the expected value: a mean over the batch: the loss sums over the batch's images, as it "
     "sums over i, j."),
    (checks.check_style_loss, lambda F, A, w: sum(losses.style_layer_loss(F[l], A[l]) for l in F),
     "three layers, w_l = 1, 1/2, 1/3", "Hint: yours is {unweighted:.6g} times the expected value: the weights w_l are missing "
     "(you summed E_l)."),
    (checks.check_total_variation, lambda x: losses.total_variation(x) / 36, "single 1x3x4x4", "Hint: yours is 0.0277778 times "
     "the expected value: a mean where this regulariser has a sum (total variation is not in the 2016 paper; the markdown "
     "above defines it as a sum of squared differences)."),
    (checks.check_total_variation, lambda x: 3 * losses.total_variation(x), "single 1x3x4x4",
     "Compare your code with the equation in the markdown above."),  # a factor no hint knows
]


@pytest.mark.parametrize(("check", "mistake", "case", "hint"), _MISTAKES)
def test_each_classic_mistake_gets_its_own_hint_to_the_letter(check, mistake, case, hint, capsys):
    """The line names the case, then expected and got, then the hint, which ends the line exactly (nothing after it)."""
    c = {k: torch.from_numpy(v) for k, v in np.load(checks.CASES_FILE).items()}
    unweighted = float(sum(losses.style_layer_loss(c[f"F{i}"], c[f"A{i}"]) for i in range(3)) / c["style_loss"])
    out = fails(check, mistake, capsys, f"FAIL {exercise_of(check)}: case '{case}': expected ")
    assert out.endswith(f". {hint.format(unweighted=unweighted)}\n"), out


def _targets_then(change):
    """The package's compute_targets, its (P, A) passed through ``change`` before being returned."""
    return lambda encoder, content, style: change(*_package_compute_targets(encoder, content, style))


@pytest.mark.parametrize(("mistake", "line"), [
    (_targets_then(lambda P, A: (P[CONTENT_LAYER], A)), "return two dicts: P = {layer: features}, A = {layer: Gram matrix}."),
    (_targets_then(lambda P, A: (P, list(A.values()))), "return two dicts: P = {layer: features}, A = {layer: Gram matrix}."),
    (_targets_then(lambda P, A: ({"relu5_1": P[CONTENT_LAYER]}, A)),
     "P has layers ['relu5_1']; the paper's content layer is relu4_2."),
    (_targets_then(lambda P, A: (P, {l: a for l, a in A.items() if l != "relu5_1"})),
     "A has layers ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1']; expected ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1']."),
    (_targets_then(lambda P, A: (P, {**A, "relu5_1": A["relu5_1"].requires_grad_(True)})),
     "the targets still require grad: forgetting to detach them drags the content image into every backward pass. "
     "Use .detach() or torch.no_grad()."),
])
def test_each_compute_targets_mistake_is_one_exact_line(mistake, line, capsys):
    assert fails(checks.check_compute_targets, mistake, capsys) == f"FAIL compute_targets: {line}\n"


def test_a_wrong_style_target_names_its_layer_and_says_what_a_l_is(capsys):
    out = fails(checks.check_compute_targets, _targets_then(lambda P, A: (P, {**A, "relu3_1": A["relu3_1"] / 2})), capsys,
                "FAIL compute_targets: case 'style target relu3_1': expected ")
    assert out.endswith(". Hint: A_l is the Gram matrix of the style features.\n"), out
    out = fails(checks.check_compute_targets, _targets_then(lambda P, A: ({CONTENT_LAYER: P[CONTENT_LAYER] * 2}, A)), capsys,
                "FAIL compute_targets: case 'content target': expected ")
    assert out.endswith(". Compare your code with the equation in the markdown above.\n"), out


def test_values_in_a_message_are_short_and_exact():
    """A scalar to six significant digits; a tensor by its shape and first three values to four decimals; anything else
    by its repr, cut at 80 characters."""
    assert checks._short(torch.tensor(2 / 3)) == "0.666667"
    assert checks._short(torch.tensor([[0.123456, 2.0, 3.0, 4.0]])) == "tensor of shape (1, 4), first values [0.1235, 2.0, 3.0]"
    assert checks._short(torch.tensor([1.5, 2.5])) == "tensor of shape (2,), first values [1.5, 2.5]"
    assert checks._short("x" * 100) == "'" + "x" * 79 and checks._short(None) == "None"


def test_a_case_compares_to_float_precision_and_says_what_it_expected_and_got():
    expected = torch.tensor([1.0, 2.0], dtype=torch.float64)
    no_hint = lambda e, a: ""  # noqa: E731
    assert checks._compare("c", expected, expected.float() * (1 + 5e-6), no_hint) is None  # float32's rounding
    assert checks._compare("c", expected * 1e-9, torch.zeros(2), no_hint) is None  # within 1e-8 of nothing
    assert checks._compare("c", expected, expected * (1 + 1e-4), no_hint) == (
        "case 'c': expected tensor of shape (2,), first values [1.0, 2.0], got tensor of shape (2,), first values "
        "[1.0001, 2.0002]. Compare your code with the equation in the markdown above.")
    assert checks._compare("c", expected, torch.zeros(3), no_hint) == (
        "case 'c': expected tensor of shape (2,), first values [1.0, 2.0], got tensor of shape (3,), first values "
        "[0.0, 0.0, 0.0]. Shapes differ. Check the output shape.")
    assert checks._compare("c", expected, [1.0, 2.0], no_hint) == (
        "case 'c': expected a tensor, got list. Return a torch.Tensor.")


def test_a_factor_is_found_only_where_one_tensor_is_a_multiple_of_the_other():
    e = torch.tensor([1.0, -2.0, 3.0])
    assert checks.factor(e, 2.5 * e) == pytest.approx(2.5)
    assert checks.factor(e, 2.5 * e + torch.tensor([0.0, 0.0, 1e-3])) is None  # nearly, not exactly, a multiple
    assert checks.factor(e, torch.tensor([1.0, -2.0])) is None and checks.factor(torch.zeros(3), e) is None
    hint = checks.ratio_hints({"twice": 2.0})
    assert hint(e, 2 * e * (1 + 5e-5)) == "Hint: yours is 2.0001 times the expected value: twice"  # 1e-4 of it: named
    assert hint(e, 2.001 * e) == "" and hint(e, e + 1) == ""  # another factor, or no factor: no hint
