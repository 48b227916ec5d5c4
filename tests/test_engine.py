"""The engine: a plan's phases in order, the best image kept, progress reported, and a run that never loses work."""

import pytest
import torch

from nst_teach import Settings, build_objective, optimize, synthesize_texture
from nst_teach.coarse_to_fine import Phase
from nst_teach.engine import loss_terms
from nst_teach.objective import Objective, Term
from nst_teach.runtime import is_channels_last
from nst_teach.starts import initial_image


@pytest.fixture(scope="module")
def texture_objective(encoder, texture):
    return build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)


def test_the_phases_run_in_order_and_the_history_says_each_steps_level(encoder, photo, painting):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=["relu4_2"],
                                style_layers=["relu1_1", "relu3_1"], alpha=1e-2)
    phases = [Phase(1, 3, "bfloat16"), Phase(1, 1, "float32"), Phase(0, 2, "bfloat16"), Phase(0, 2, "float32")]
    seen = []
    result = optimize(encoder, objective, torch.rand_like(photo), Settings(every=1), phases, callback=seen.append)
    assert [h["level"] for h in result.history] == [1, 1, 1, 1, 0, 0, 0, 0] and result.steps == 8
    assert [h["step"] for h in result.history] == list(range(1, 9)) and [p.steps for p in seen] == [8] * 8
    assert {p.image.shape for p in seen} == {photo.shape} and result.image.shape == photo.shape  # full size always
    assert result.message == "finished 8 steps" and result.losses == min(result.history[6:], key=lambda h: h["total"])
    assert [h["phase"] for h in result.history] == [0, 0, 0, 1, 2, 2, 3, 3]  # the best image: of the last phase


def test_callback_every_k_steps(encoder, texture):
    calls = []
    synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=10, every=3), callback=calls.append)
    assert [p.step for p in calls] == [3, 6, 9, 10]
    assert calls[0].image.shape == texture.shape and "total" in calls[0].losses


def test_interrupt_returns_the_best_image_so_far(encoder, texture, texture_objective, cpu_kind):
    snapshots = []

    def interrupt(progress):
        snapshots.append(progress.step)
        if progress.step == 6:
            raise KeyboardInterrupt

    result = optimize(encoder, texture_objective, torch.rand_like(texture), Settings(steps=50, every=1), callback=interrupt)
    assert result.status == "interrupted" and "best image" in result.message
    assert result.steps == 6 and snapshots[-1] == 6
    assert result.losses["total"] < result.history[0]["total"]
    with torch.no_grad():  # the returned image really is the best one: evaluated as the run did, it gives the best loss
        again = loss_terms(encoder, texture_objective, result.image, cpu_kind)["total"].item()
    assert again == pytest.approx(result.losses["total"], rel=1e-5)


def test_should_stop_ends_the_run(encoder, texture):
    result = synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=50), should_stop=lambda: True)
    assert result.status == "stopped" and result.steps == 1


class NaNAfter(Term):
    """A term that becomes NaN after ``after`` evaluations."""

    name, weight, calls = "nan", 1.0, 0

    def __init__(self, after: int) -> None:
        self.after = after

    @property
    def layers(self):
        return []

    def loss(self, F, x):
        self.calls += 1
        return x.new_zeros(()) * (float("nan") if self.calls > self.after else 1.0)

    def resized(self, encoder, factor):
        return self


def test_nan_stops_with_a_clear_message_and_a_finite_image(encoder, texture, texture_objective):
    objective = Objective([*texture_objective.terms, NaNAfter(4)])
    result = optimize(encoder, objective, torch.rand_like(texture), Settings(steps=20))
    assert result.status == "diverged"
    assert "NaN" in result.message and "learning rate" in result.message
    assert torch.isfinite(result.image).all() and result.steps == 4


class Recording(Term):
    """Records the range of every image the optimiser evaluates (the callback only sees clamped copies)."""

    name, weight = "recording", 0.0

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    @property
    def layers(self):
        return []

    def loss(self, F, x):
        self.ranges.append((float(x.detach().min()), float(x.detach().max())))
        return x.new_zeros(())

    def resized(self, encoder, factor):
        return self


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgsb", "adam"])
def test_pixels_stay_in_the_unit_box_and_each_phase_gets_its_budget(encoder, texture, texture_objective, optimizer):
    recording = Recording()
    objective = Objective([*texture_objective.terms, recording])
    seen = []
    phases = [Phase(0, 5, "bfloat16"), Phase(0, 3, "float32")]
    settings = Settings(optimizer=optimizer, every=1, lr=0.05 if optimizer == "adam" else None)
    result = optimize(encoder, objective, torch.rand_like(texture), settings, phases, callback=seen.append)
    assert len(seen) == 8 and result.steps == 8  # no optimiser oversteps a phase's budget, SciPy's included
    assert all(0 <= p.image.min() and p.image.max() <= 1 for p in seen)
    # what the network saw, not the clamped copies the callback gets: the optimiser itself keeps x in the box
    assert len(recording.ranges) == 8 and all(0 <= lo and hi <= 1 for lo, hi in recording.ranges)


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgsb", "adam"])
def test_the_image_returned_is_the_best_one_seen(encoder, texture, texture_objective, optimizer):
    """The engine keeps the best image without copying it, so no optimiser may change it afterwards
    (Adam updates its x in place; a large step makes its loss go up and down)."""
    result = optimize(encoder, texture_objective, initial_image("noise", texture.shape),
                      Settings(optimizer=optimizer, steps=12, lr=0.3 if optimizer == "adam" else None,
                               precision="float32"))  # re-evaluated in float32
    with torch.no_grad():
        again = texture_objective(encoder(result.image, texture_objective.layers), result.image)["total"].item()
    assert again == pytest.approx(min(h["total"] for h in result.history), rel=1e-4)


def test_bfloat16_network_keeps_float32_losses(encoder, texture):
    """The network runs in bfloat16 (autocast), its features are brought back to float32 before the Gram matrices and
    losses: each term comes out float32, within bfloat16's error of the float32 network's, and not equal to it (so the
    network did run in bfloat16). A run at that precision still descends."""
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1", "conv2_1"], alpha=0, beta=1)
    x = initial_image("noise", texture.shape, seed=1)
    low, full = (loss_terms(encoder, objective, x, precision) for precision in ("bfloat16", "float32"))
    assert {name: t.dtype for name, t in low.items()} == {name: torch.float32 for name in full}
    assert float(low["total"]) == pytest.approx(float(full["total"]), rel=0.05) and float(low["total"]) != float(full["total"])
    result = synthesize_texture(encoder, texture, ["conv1_1", "conv2_1"], Settings(steps=20, precision="bfloat16", coarse_levels=0))
    assert result.losses["total"] < result.history[0]["total"] / 10


@pytest.mark.parametrize("channels_last", [True, False])
def test_the_same_call_twice_gives_the_same_image(texture, channels_last):
    """A fresh encoder: its first run used to compute the targets in NCHW and the rest in NHWC."""
    from nst_teach import load_vgg19_features

    encoder = load_vgg19_features("random", pooling="avg", seed=0)
    assert is_channels_last(encoder)  # the engine's default layout, from the start
    settings = Settings(steps=6, channels_last=channels_last)
    first, second = (synthesize_texture(encoder, texture, ["conv1_1", "conv3_1"], settings) for _ in range(2))
    assert [h["total"] for h in first.history] == [h["total"] for h in second.history]
    assert torch.equal(first.image, second.image)
    assert is_channels_last(encoder)  # back to its own layout after a run in NCHW


def test_a_term_that_reads_no_layer_needs_no_network(encoder):
    """Total variation alone smooths the image; the network is not run at all."""
    from nst_teach.objective import TotalVariation

    noisy = torch.rand(1, 3, 32, 32)
    result = optimize(encoder, Objective([TotalVariation(1.0)]), noisy, Settings(steps=10))
    assert result.history[-1]["tv"] < result.history[0]["tv"] / 2


def test_optimize_and_the_tasks_follow_one_plan(encoder):
    """nt.optimize without a plan and a task's run plan their levels with the same function (coarse_to_fine.plan_for):
    from noise, two coarse levels for a content term; from a picture, none."""
    from nst_teach.objective import CONTENT_LAYER, Content
    from nst_teach.tasks import optimize_from

    photo, picture = torch.rand(1, 3, 192, 192), torch.rand(1, 3, 192, 192)  # a picture to start from, not the target
    objective, settings = Objective([Content.of(encoder, photo, [CONTENT_LAYER])]), Settings(steps=4, precision="float32")
    levels = {name: [h["level"] for h in result.history] for name, result in (
        ("optimize from noise", optimize(encoder, objective, torch.rand_like(photo), settings, from_noise=True)),
        ("task from noise", optimize_from(encoder, objective, "noise", photo.shape, settings, content=photo)),
        ("optimize from a picture", optimize(encoder, objective, picture, settings)),
        ("task from the photograph", optimize_from(encoder, objective, "content", photo.shape, settings, content=picture)))}
    assert levels["optimize from noise"] == levels["task from noise"] == [2, 1, 0, 0]
    assert levels["optimize from a picture"] == levels["task from the photograph"] == [0] * 4


def test_a_still_picture_ends_its_level_and_the_run_says_so(encoder, texture, texture_objective):
    phases = [Phase(1, 200, "float32"), Phase(0, 5, "float32")]
    still = optimize(encoder, texture_objective, torch.rand_like(texture), Settings(still=0.5), phases)
    # each 10 steps move the pixels by far less than an RMS of 0.5: the coarse level ends at its 10th step
    assert [h["level"] for h in still.history] == [1] * 10 + [0] * 5 and still.status == "finished"
    assert "level 1 ended at step 10: the picture stopped changing" in still.message
    moving = optimize(encoder, texture_objective, torch.rand_like(texture), Settings(still=1e-9), phases)
    assert moving.steps == 205 and moving.message == "finished 205 steps"  # still, but never that still


def test_the_progress_carries_the_plan_whose_phases_the_history_indexes(encoder, photo, painting):
    objective = build_objective(encoder, content=photo, style=painting, content_layers=["relu4_2"],
                                style_layers=["relu1_1", "relu3_1"], alpha=1e-2)
    seen = []
    phases = [Phase(1, 3, "float32"), Phase(0, 2, "float32")]
    optimize(encoder, objective, torch.rand_like(photo), Settings(every=1), phases, callback=seen.append)
    assert all(list(p.plan) == phases for p in seen) and [p.losses["phase"] for p in seen] == [0, 0, 0, 1, 1]
