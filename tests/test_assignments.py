"""The classroom assignment: instructor sources, generated student versions, and the checks."""

import json
import re
from pathlib import Path

import numpy as np
import torch

from nst_teach import checks, losses
from nst_teach.assignments import generate, student_cell_source
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS

ROOT = Path(__file__).resolve().parent.parent / "assignments"
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))


def test_regenerating_reproduces_the_committed_student_versions(tmp_path):
    written = generate(ROOT / "source", tmp_path)
    assert written
    for path in written:
        committed = ROOT / "release" / path.relative_to(tmp_path)
        assert path.read_text() == committed.read_text(), "run: make students"


def test_no_solution_line_in_any_student_version():
    for source in SOURCES:
        student = (ROOT / "release" / source.relative_to(ROOT / "source")).read_text()
        assert "BEGIN SOLUTION" not in student and "HIDDEN TESTS" not in student
        for cell in json.loads(source.read_text())["cells"]:
            text = "".join(cell["source"])
            for region in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", text, re.S):
                for line in region.splitlines():
                    if len(line.strip()) > 12:  # skip trivial lines such as "return P, A"
                        assert json.dumps(line.strip())[1:-1] not in student, line


def test_stub_generation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert student_cell_source(src, "code") == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert student_cell_source("a\n### BEGIN HIDDEN TESTS\nassert 0\n### END HIDDEN TESTS\n", "code") == "a"
    assert student_cell_source("### BEGIN SOLUTION\nanswer\n### END SOLUTION", "markdown") == "YOUR ANSWER HERE"


def test_student_versions_run_top_to_bottom_and_report_todo():
    import nbformat
    from nbclient import NotebookClient

    assert len(SOURCES) >= 2
    for source in SOURCES:
        checked = sum(1 for c in nbformat.read(source, as_version=4).cells if c.cell_type == "code"
                      and c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
        path = ROOT / "release" / source.relative_to(ROOT / "source")
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()  # raises on any unhandled exception
        out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert out.count("not implemented yet") >= checked and "PASS" not in out.replace("PASS  ", ""), path.name
        assert f"0 of {checked} exercises pass" in out, path.name


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


def _fails(check, fn, capsys, *needles):
    assert check(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL") or out.startswith("TODO"), out
    for needle in needles:
        assert needle in out, out
    return out


def test_missing_normalisation_of_the_style_loss(capsys):
    def mistake(F, A):
        return ((losses.gram_matrix(F) - A) ** 2).sum()
    _fails(checks.check_style_layer_loss, mistake, capsys, "case 'single", "expected", "got", "1/(4 N_l^2 M_l^2)")


def test_transposed_gram_matrix(capsys):
    def mistake(F):
        B, N, H, W = F.shape
        F = F.reshape(B, N, H * W)
        return F.transpose(1, 2) @ F
    _fails(checks.check_gram_matrix, mistake, capsys, "transposed Gram")


def test_missing_half_in_the_content_loss(capsys):
    _fails(checks.check_content_loss, lambda F, P: ((F - P) ** 2).sum(), capsys, "1/2")


def test_mean_instead_of_sum(capsys):
    _fails(checks.check_content_loss, lambda F, P: 0.5 * ((F - P) ** 2).mean(), capsys, "mean where the paper has a sum")
    _fails(checks.check_total_variation, lambda x: ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean()
           + ((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean(), capsys, "expected")


def test_wrong_layer(capsys):
    def mistake(encoder, content, style):
        with torch.no_grad():
            P = {CONTENT_LAYER: encoder(content, ["conv4_1"])["conv4_1"]}
            A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
        return P, A
    _fails(checks.check_compute_targets, mistake, capsys, "conv4_1", "wrong layer")


def test_forgetting_to_detach_the_targets(capsys):
    def mistake(encoder, content, style):
        P = encoder(content, [CONTENT_LAYER])
        A = {l: losses.gram_matrix(f) for l, f in encoder(style, list(STYLE_LAYERS)).items()}
        return P, A
    _fails(checks.check_compute_targets, mistake, capsys, "detach")


def test_forgetting_zero_grad_in_the_closure(capsys):
    def mistake(encoder, x, optimizer, P, A, alpha, beta):
        def closure():
            F = encoder(x, [CONTENT_LAYER, *STYLE_LAYERS])
            w = {l: 0.2 for l in STYLE_LAYERS}
            loss = alpha * losses.content_loss(F[CONTENT_LAYER], P[CONTENT_LAYER]) + beta * losses.style_loss(F, A, w)
            loss.backward()
            return loss
        return optimizer.step(closure)
    _fails(checks.check_transfer_step, mistake, capsys, "zero_grad")


def test_a_stub_reports_not_implemented_and_a_crash_is_reported(capsys):
    def stub(F):
        raise NotImplementedError()
    assert checks.check_gram_matrix(stub) is False
    assert "not implemented yet" in capsys.readouterr().out
    _fails(checks.check_gram_matrix, lambda F: F.reshape(-1) @ F, capsys, "raised RuntimeError")


def test_each_content_loss_hint_names_its_own_mistake(capsys):
    _fails(checks.check_content_loss, lambda F, P: ((F - P) ** 2).mean(), capsys, "a mean where the paper has a sum, and no 1/2")
    _fails(checks.check_content_loss, lambda F, P: 0.5 * ((F - P) ** 2).mean(), capsys, "you kept the 1/2")


def test_a_gram_matrix_normalised_as_tutorials_do_is_named(capsys):
    def over_M(F):
        return losses.gram_matrix(F) / (F.shape[-2] * F.shape[-1])

    def over_NM(F):
        return losses.gram_matrix(F) / (F.shape[1] * F.shape[-2] * F.shape[-1])
    _fails(checks.check_gram_matrix, over_M, capsys, "divided by M = H W")
    _fails(checks.check_gram_matrix, over_NM, capsys, "as the PyTorch tutorial does")


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
    _fails(checks.check_transfer_step, returns_nothing, capsys, "evaluated before its update", "return the loss")


# ---------------------------------------------------------------- assignment 2: from losses to pictures

def _lbfgs(loss_fn, x0, steps, clamp_inside=False):
    """The right loop, or (clamp_inside) the classic mistake of clamping in the closure."""
    x = x0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], max_iter=steps, max_eval=steps, tolerance_grad=0.0, tolerance_change=0.0,
                                  line_search_fn="strong_wolfe")

    def closure():
        if clamp_inside:
            x.detach().clamp_(0, 1)
        optimizer.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss
    optimizer.step(closure)
    return x.detach().clamp(0, 1)


def _texture_loss(encoder, style, layers):
    with torch.no_grad():
        A = {l: losses.gram_matrix(F) for l, F in encoder(style, layers).items()}
    return lambda x: sum(losses.style_layer_loss(encoder(x, layers)[l], A[l]) for l in layers) / len(layers)


def test_assignment_2s_checks_pass_a_right_answer(capsys):
    from nst_teach import load_vgg19_features, loop_checks

    assert loop_checks.check_make_encoder(lambda: load_vgg19_features(pooling="avg"))
    assert loop_checks.check_synthesize(_lbfgs)
    assert loop_checks.check_texture_loss(_texture_loss)
    assert capsys.readouterr().out.count("PASS") == 3


def test_the_image_not_requiring_a_gradient(capsys):
    from nst_teach import loop_checks

    def mistake(loss_fn, x0, steps):
        optimizer = torch.optim.LBFGS([x0], max_iter=steps, max_eval=steps)
        optimizer.step(lambda: loss_fn(x0).backward())
        return x0
    _fails(loop_checks.check_synthesize, mistake, capsys, "does not require a gradient")


def test_a_learning_rate_style_loop_with_lbfgs(capsys):
    from nst_teach import loop_checks

    def small_steps(loss_fn, x0, steps):  # one iteration a call, a small fixed 'learning rate', no line search
        x = x0.detach().clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([x], lr=0.01, max_iter=1)

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(x)
            loss.backward()
            return loss
        for _ in range(steps):
            optimizer.step(closure)
        return x.detach().clamp(0, 1)
    _fails(loop_checks.check_synthesize, small_steps, capsys, "learning-rate-style loop")
    _fails(loop_checks.check_synthesize, lambda f, x0, n: torch.optim.LBFGS([x0.requires_grad_()]).step(), capsys,
           "L-BFGS needs a closure")


def test_clamping_that_breaks_the_line_search(capsys):
    from nst_teach import loop_checks

    _fails(loop_checks.check_synthesize, lambda f, x0, n: _lbfgs(f, x0, n, clamp_inside=True), capsys,
           "clamping during the optimisation")
    _fails(loop_checks.check_synthesize, _clamp_between_calls, capsys, "clamping during the optimisation")


def _clamp_between_calls(loss_fn, x0, steps):
    x = x0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], max_iter=5, max_eval=5, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss
    for _ in range(steps // 5):
        optimizer.step(closure)
        x.detach().clamp_(0, 1)
    return x.detach()


def test_targets_recomputed_every_step(capsys):
    from nst_teach import loop_checks

    def mistake(encoder, style, layers):
        return lambda x: sum(losses.style_layer_loss(encoder(x, layers)[l], losses.gram_matrix(encoder(style, layers)[l]))
                             for l in layers) / len(layers)
    _fails(loop_checks.check_texture_loss, mistake, capsys, "targets are recomputed every step")


def test_forgetting_average_pooling(capsys):
    from nst_teach import load_vgg19_features, loop_checks

    _fails(loop_checks.check_make_encoder, lambda: load_vgg19_features(), capsys, "forgetting average pooling")
    _fails(loop_checks.check_make_encoder, lambda: load_vgg19_features("random", pooling="avg"), capsys,
           "random weights")
