"""Assignment 2's checks (nst_teach.classroom.loop_checks): the optimisation loop's classic mistakes, each named."""

import torch
from check_helpers import fails

from nst_teach import losses


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
    from nst_teach import load_vgg19_features
    from nst_teach.classroom import loop_checks

    assert loop_checks.check_make_encoder(lambda: load_vgg19_features(pooling="avg"))
    assert loop_checks.check_synthesize(_lbfgs)
    assert loop_checks.check_texture_loss(_texture_loss)
    assert capsys.readouterr().out.count("PASS") == 3


def test_the_image_not_requiring_a_gradient(capsys):
    from nst_teach.classroom import loop_checks

    def mistake(loss_fn, x0, steps):
        optimizer = torch.optim.LBFGS([x0], max_iter=steps, max_eval=steps)
        optimizer.step(lambda: loss_fn(x0).backward())
        return x0
    fails(loop_checks.check_synthesize, mistake, capsys, "does not require a gradient")


def test_a_learning_rate_style_loop_with_lbfgs(capsys):
    from nst_teach.classroom import loop_checks

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
    fails(loop_checks.check_synthesize, small_steps, capsys, "learning-rate-style loop")
    fails(loop_checks.check_synthesize, lambda f, x0, n: torch.optim.LBFGS([x0.requires_grad_()]).step(), capsys,
           "L-BFGS needs a closure")


def test_clamping_that_breaks_the_line_search(capsys):
    from nst_teach.classroom import loop_checks

    fails(loop_checks.check_synthesize, lambda f, x0, n: _lbfgs(f, x0, n, clamp_inside=True), capsys,
           "clamping during the optimisation")
    fails(loop_checks.check_synthesize, _clamp_between_calls, capsys, "clamping during the optimisation")


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
    from nst_teach.classroom import loop_checks

    def mistake(encoder, style, layers):
        return lambda x: sum(losses.style_layer_loss(encoder(x, layers)[l], losses.gram_matrix(encoder(style, layers)[l]))
                             for l in layers) / len(layers)
    fails(loop_checks.check_texture_loss, mistake, capsys, "targets are recomputed every step")


def test_forgetting_average_pooling(capsys):
    from nst_teach import load_vgg19_features
    from nst_teach.classroom import loop_checks

    fails(loop_checks.check_make_encoder, lambda: load_vgg19_features(), capsys, "forgetting average pooling")
    fails(loop_checks.check_make_encoder, lambda: load_vgg19_features("random", pooling="avg"), capsys,
           "random weights")
