
import pytest
import torch

from nst_teach import (
    Objective,
    Settings,
    build_objective,
    optimize,
    reconstruct_content,
    resize,
    style_transfer,
    synthesize_texture,
)
from nst_teach.coarse_to_fine import level_size, levels, most_levels, resample, scaled
from nst_teach.color import in_colors_of
from nst_teach.data import paper_image
from nst_teach.engine import initial_image
from nst_teach.metrics import psnr
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS
from nst_teach.precision import is_channels_last
from nst_teach.weights import load_vgg19_features


def test_low_layers_invert_nearly_exactly(encoder, photo):
    # Fig. 1 (bottom row): reconstructions from conv1_2 and conv2_2 are almost perfect.
    result = reconstruct_content(encoder, photo, ["conv1_2", "conv2_2"], Settings(steps=120))
    assert result.status == "finished" and result.image.shape == (2, 3, *photo.shape[-2:])
    for b in range(2):
        assert psnr(result.image[b], photo[0]) > 30


def test_texture_loss_drops_by_a_large_factor(encoder, texture):
    layers = ["conv1_1", "conv2_1", "conv3_1"]
    result = synthesize_texture(encoder, texture, layers, Settings(steps=60))
    start = synthesize_texture(encoder, texture, layers, Settings(steps=1, coarse_levels=0)).history[0]  # at full size
    assert result.history[-1]["style"] < start["style"] / 300  # half the steps at half size: on random weights,
    # about 700x here (60 full-size steps: 1000x); on the trained network it is the faster plan (benchmarks/README.md)
    assert result.history[0]["content"] == 0


def test_transfer_reduces_total_loss(encoder, photo, texture):
    result = style_transfer(encoder, photo, texture, Settings(steps=40), init="noise")
    h = result.history
    assert len(h) == 40 and {"content", "style", "total"} <= set(h[0])
    full = [e for e in h if e["level"] == 0]  # after the coarse levels (coarse-to-fine, from noise)
    assert len(full) < 40 and full[-1]["total"] < full[0]["total"] / 5
    assert result.losses["total"] == min(e["total"] for e in full)


def test_transfer_starts_from_the_photograph_in_the_paintings_colours_by_default(encoder, photo, texture):
    first = {init: style_transfer(encoder, photo, texture, Settings(steps=1), init=init).history[0]
             for init in ("content", "recolored", "noise")}
    assert style_transfer(encoder, photo, texture, Settings(steps=1)).history[0] == first["recolored"]
    assert first["content"]["content"] < first["noise"]["content"] / 100  # bfloat16 features: not exactly 0
    assert first["recolored"]["content"] > first["content"]["content"]  # the photograph, but in other colours,
    assert first["recolored"]["style"] < first["content"]["style"] / 2  # which are what the Gram matrices measure first
    # from the photograph at full size only (an enlarged coarse solution would blur it), unless asked
    assert {h["level"] for h in style_transfer(encoder, photo, texture, Settings(steps=4)).history} == {0}
    assert {h["level"] for h in style_transfer(encoder, photo, texture, Settings(steps=4), init="content").history} == {0}
    blend = style_transfer(encoder, photo, [texture, photo.flip(-1)], Settings(steps=2), style_blend=[0.7, 0.3])
    assert {h["level"] for h in blend.history} == {0}  # the start in the blend's colours is the photograph too
    asked = style_transfer(encoder, photo, texture, Settings(steps=4, coarse_levels=1)).history
    assert [h["level"] for h in asked] == [1, 1, 0, 0]
    # the plan sees the start (coarse_to_fine.most_levels), so optimize() called directly decides the same way
    objective = build_objective(encoder, content=photo, style=texture, content_layers=[CONTENT_LAYER], style_layers=STYLE_LAYERS)
    for start in (photo.clone(), in_colors_of(photo, texture)):
        assert {h["level"] for h in optimize(encoder, objective, start, Settings(steps=4)).history} == {0}
    with pytest.raises(ValueError, match="needs a content and a style image"):
        reconstruct_content(encoder, photo, CONTENT_LAYER, Settings(steps=1), init="recolored")


def test_the_plan_knows_the_photograph_in_any_colours(encoder, photo, texture):
    objective = build_objective(encoder, content=photo, style=texture, content_layers=[CONTENT_LAYER], style_layers=STYLE_LAYERS)
    grey = photo.mean(1, keepdim=True).expand_as(photo)
    for start in (photo, 0.6 * photo.flip(1) + 0.2, in_colors_of(photo, texture), in_colors_of(photo, 0.5 * texture)):
        assert most_levels(objective, start.clone()) == 0
    for start in (photo + 0.01 * torch.randn_like(photo), photo.flip(-1), torch.rand_like(photo)):
        assert most_levels(objective, start.clamp(0, 1)) == 2  # altered, moved or noise: not the photograph
    grey_objective = build_objective(encoder, content=grey, content_layers=[CONTENT_LAYER])  # its colours are one
    assert most_levels(grey_objective, 0.5 * grey + 0.1) == 0 and most_levels(grey_objective, photo) == 2
    assert {h["level"] for h in optimize(encoder, objective, torch.rand_like(photo), Settings(steps=4)).history} != {0}


def test_adam_also_descends(encoder, texture):
    result = synthesize_texture(encoder, texture, ["conv1_1"], Settings(optimizer="adam", steps=30, lr=0.05))
    assert result.history[-1]["total"] < result.history[0]["total"] / 2


def test_seed_makes_runs_repeatable(encoder, texture):
    a, b = (synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=5, seed=7)) for _ in range(2))
    assert torch.equal(a.image, b.image)
    c = synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=5, seed=8))
    assert not torch.equal(a.image, c.image)


def test_initial_images(photo, texture):
    shape = photo.shape
    assert torch.equal(initial_image("content", shape, content=photo), photo)
    assert initial_image("style", shape, style=texture).shape == shape
    uniform = initial_image("uniform", shape, seed=1)
    assert 0 <= uniform.min() and uniform.max() <= 1 and abs(uniform.std() - 12**-0.5) < 0.01
    # without source images, "noise" is the paper's plain uniform noise
    assert torch.equal(initial_image("noise", shape, seed=1), uniform)
    with pytest.raises(ValueError, match="needs a style image"):
        initial_image("style", shape)


def test_noise_takes_the_colours_of_the_source_images(photo, texture):
    def colours(x):
        return x.mean((0, 2, 3)), x.std((0, 2, 3))

    dark = texture * 0.3  # a mean colour far from the uniform noise's 0.5
    noise = initial_image("noise", photo.shape, seed=1, style=dark)
    for ours, theirs in zip(colours(noise), colours(dark)):
        assert torch.allclose(ours, theirs, atol=0.01), (ours, theirs)
    assert not torch.equal(noise, initial_image("noise", photo.shape, seed=2, style=dark))  # new noise per seed
    # content and style together: the colours of their pixels pooled
    both = initial_image("noise", photo.shape, seed=1, content=photo, style=dark)
    pooled = torch.cat([photo.movedim(1, 0).flatten(1), dark.movedim(1, 0).flatten(1)], 1)
    assert torch.allclose(both.mean((0, 2, 3)), pooled.mean(1), atol=0.02)


def test_the_tasks_start_from_noise_in_their_sources_colours(encoder, photo, texture):
    dark = texture * 0.3
    once = Settings(steps=1, coarse_levels=0)  # one evaluation: the result is the start
    starts = {"reconstruction": reconstruct_content(encoder, photo, "conv1_1", once).image,
              "texture": synthesize_texture(encoder, dark, ["conv1_1"], once).image,
              "transfer": style_transfer(encoder, photo, dark, once, init="noise").image}
    expected = {"reconstruction": photo.mean(), "texture": dark.mean(), "transfer": (photo.mean() + dark.mean()) / 2}
    for task, image in starts.items():
        assert abs(float(image.mean() - expected[task])) < 0.02, task


def test_style_is_resized_to_the_content_unless_kept(encoder, photo, texture, monkeypatch):
    seen = {}
    import nst_teach.tasks as engine

    real = engine.build_objective

    def spy(enc, **kw):
        seen["style"] = kw["style"].shape
        return real(enc, **kw)

    monkeypatch.setattr(engine, "build_objective", spy)
    style_transfer(encoder, photo, texture, Settings(steps=1))
    assert seen["style"][-2:] == photo.shape[-2:]
    style_transfer(encoder, photo, texture, Settings(steps=1), keep_style_scale=True)
    assert seen["style"][-2:] == texture.shape[-2:]


def test_callback_every_k_steps(encoder, texture):
    calls = []
    synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=10, every=3), callback=calls.append)
    assert [p.step for p in calls] == [3, 6, 9, 10]
    assert calls[0].image.shape == texture.shape and "total" in calls[0].losses


def test_interrupt_returns_the_best_image_so_far(encoder, texture):
    snapshots = []

    def interrupt(progress):
        snapshots.append(progress.step)
        if progress.step == 6:
            raise KeyboardInterrupt

    settings = Settings(steps=50, every=1, coarse_levels=0)  # one level: its losses are the image's
    result = synthesize_texture(encoder, texture, ["conv1_1"], settings, callback=interrupt)
    assert result.status == "interrupted" and "best image" in result.message
    assert result.steps == 6 and snapshots[-1] == 6
    assert result.losses["total"] < result.history[0]["total"]
    # the returned image really is the best one: evaluating it gives (about) the best loss
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)
    with torch.no_grad():
        again = objective.terms(encoder(result.image, objective.layers), result.image)["total"].item()
    assert again == pytest.approx(result.losses["total"], rel=1e-3)


def test_should_stop_ends_the_run(encoder, texture):
    result = synthesize_texture(encoder, texture, ["conv1_1"], Settings(steps=50), should_stop=lambda: True)
    assert result.status == "stopped" and result.steps == 1


class NaNAfter(Objective):
    def __init__(self, base: Objective, after: int):
        super().__init__(**vars(base))
        self.after, self.calls = after, 0

    def terms(self, F, x):
        self.calls += 1
        out = super().terms(F, x)
        if self.calls > self.after:
            out["total"] = out["total"] * float("nan")
        return out


def test_nan_stops_with_a_clear_message_and_a_finite_image(encoder, texture):
    objective = NaNAfter(build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1), 4)
    result = optimize(encoder, objective, torch.rand_like(texture), Settings(steps=20, coarse_levels=0))
    assert result.status == "diverged"
    assert "NaN" in result.message and "learning rate" in result.message
    assert torch.isfinite(result.image).all() and result.steps == 4


class Recording(Objective):
    """Records the range of every image the optimiser evaluates (the callback only sees clamped copies)."""

    def __init__(self, base: Objective):
        super().__init__(**vars(base))
        self.ranges: list[tuple[float, float]] = []

    def terms(self, F, x):
        self.ranges.append((float(x.detach().min()), float(x.detach().max())))
        return super().terms(F, x)


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgsb", "adam"])
def test_pixels_stay_in_the_unit_box(encoder, texture, optimizer):
    objective = Recording(build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1))
    seen = []
    settings = Settings(optimizer=optimizer, steps=8, every=1, coarse_levels=0)  # one level: every step is recorded
    result = optimize(encoder, objective, torch.rand_like(texture), settings, callback=seen.append)
    assert len(seen) == 8 and result.steps == 8
    assert all(0 <= p.image.min() and p.image.max() <= 1 for p in seen)
    # what the network saw, not the clamped copies the callback gets: the optimiser itself keeps x in the box
    assert len(objective.ranges) == 8 and all(0 <= lo and hi <= 1 for lo, hi in objective.ranges)


def test_bounds_beat_clamping_at_the_end(encoder, photo):
    """Projected L-BFGS keeps x in [0, 1]; the loss it reports is the loss of the image it returns."""
    grass = paper_image("grass", 64).image
    content = resize(photo, 64)
    grass = resize(grass, tuple(content.shape[-2:]))
    result = style_transfer(encoder, content, grass, Settings(steps=30), alpha=1e-3)
    objective = build_objective(encoder, content=content, style=grass, content_layers=[CONTENT_LAYER],
                                style_layers=STYLE_LAYERS, alpha=1e-3)
    with torch.no_grad():
        again = objective.terms(encoder(result.image, objective.layers), result.image)["total"].item()
    assert again == pytest.approx(result.losses["total"], rel=1e-3)


@pytest.mark.parametrize("optimizer", ["lbfgs", "lbfgsb", "adam"])
def test_the_image_returned_is_the_best_one_seen(encoder, texture, optimizer):
    """The engine keeps the best image without copying it, so no optimiser may change it afterwards
    (Adam updates its x in place; a large step makes its loss go up and down)."""
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)
    result = optimize(encoder, objective, initial_image("noise", texture.shape),
                      Settings(optimizer=optimizer, steps=12, lr=0.3, coarse_levels=0))
    with torch.no_grad():
        again = objective.terms(encoder(result.image, objective.layers), result.image)["total"].item()
    assert again == pytest.approx(min(h["total"] for h in result.history), rel=1e-4)


def test_bfloat16_network_keeps_float32_losses(encoder, texture):
    settings = Settings(steps=20, precision="bfloat16", coarse_levels=0)  # one level: the losses compare
    result = synthesize_texture(encoder, texture, ["conv1_1", "conv2_1"], settings)
    assert result.image.dtype == torch.float32
    assert result.history[-1]["total"] < result.history[0]["total"] / 10


def test_levels_plan_coarse_levels_by_size():
    def pyramid(settings, size):
        """The plan with each level's (H, W), as optimize() shrinks the image."""
        return [(level_size(size, k), n) for k, n in levels(settings, size)]

    plan = pyramid(Settings(steps=100), (384, 512))
    assert plan == [((96, 128), 25), ((192, 256), 25), ((384, 512), 50)]
    assert pyramid(Settings(steps=100), (96, 128)) == [((48, 64), 50), ((96, 128), 50)]
    assert pyramid(Settings(steps=100), (64, 64)) == [((64, 64), 100)]  # too small to shrink
    assert pyramid(Settings(steps=100, coarse_levels=0), (384, 512)) == [((384, 512), 100)]
    assert pyramid(Settings(steps=100, coarse_levels=2), (48, 64)) == [((24, 32), 50), ((48, 64), 50)]  # 12 px: no room
    assert pyramid(Settings(steps=9, coarse_share=1 / 3), (384, 512)) == [((96, 128), 2), ((192, 256), 1),
                                                                       ((384, 512), 6)]


def test_coarse_to_fine_runs_coarse_first_and_reports_full_size(encoder, photo, texture):
    calls = []
    settings = Settings(steps=20, coarse_levels=1, every=1)
    result = style_transfer(encoder, photo, texture, settings, init="noise", callback=calls.append)
    levels = [h["level"] for h in result.history]
    assert levels == [1] * 10 + [0] * 10 and [h["step"] for h in result.history] == list(range(1, 21))
    assert {c.image.shape for c in calls} == {photo.shape} and result.image.shape == photo.shape
    # The full-size level starts from the upsampled coarse solution, far below a start from noise.
    plain = style_transfer(encoder, photo, texture, Settings(steps=1, coarse_levels=0), init="noise")
    assert result.history[10]["total"] < 0.75 * plain.history[0]["total"]


def test_coarse_levels_fit_odd_sizes(encoder):
    """A coarse level's image and its content target are shrunk by the same rule: 101 x 107 halves to 50 x 54
    for both (a factor taken from the width, 54 / 107, used to make the target 51 x 54)."""
    photo = torch.rand(1, 3, 101, 107)
    assert levels(Settings(steps=4, coarse_levels=1), (101, 107)) == [(1, 2), (0, 2)]
    result = reconstruct_content(encoder, photo, "conv1_1", Settings(steps=4, coarse_levels=1))
    assert result.status == "finished" and [h["level"] for h in result.history] == [1, 1, 0, 0]
    assert result.image.shape == photo.shape


def test_coarse_targets_come_from_resized_sources(encoder, photo, texture):
    objective = build_objective(encoder, content=photo, style=resize(texture, tuple(photo.shape[-2:])),
                                content_layers=["conv4_2"], style_layers=["conv1_1"])
    half = scaled(objective, encoder, 0.5)
    assert half.P["conv4_2"].shape[-2:] == tuple(s // 2 for s in objective.P["conv4_2"].shape[-2:])
    assert half.A["conv1_1"].shape == objective.A["conv1_1"].shape  # Gram matrices are N x N at any size
    bare = Objective(P=objective.P, content_weights={"conv4_2": 1.0})
    assert not bare.rescalable
    result = optimize(encoder, bare, initial_image("noise", photo.shape), Settings(steps=4))
    assert {h["level"] for h in result.history} == {0}  # no sources: no coarse levels


def test_interrupt_during_a_coarse_level_returns_a_full_size_image(encoder, photo, texture):
    def stop_at_3(p):
        if p.step == 3:
            raise KeyboardInterrupt

    result = style_transfer(encoder, photo, texture, Settings(steps=20, coarse_levels=1, every=1), callback=stop_at_3)
    assert result.status == "interrupted" and result.image.shape == photo.shape
    assert result.losses["level"] == 1


def test_projected_lbfgs_matches_scipys_l_bfgs_b(encoder, texture):
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1", "conv2_1"], alpha=0, beta=1)
    x0 = initial_image("noise", texture.shape, seed=3)
    ours, scipys = (optimize(encoder, objective, x0, Settings(optimizer=o, steps=40, coarse_levels=0))
                    for o in ("lbfgs", "lbfgsb"))
    start = ours.history[0]["total"]
    assert ours.losses["total"] < start / 100 and scipys.losses["total"] < start / 100
    assert ours.losses["total"] < 3 * scipys.losses["total"]


def test_line_search_interpolates_instead_of_halving():
    """A rejected step is replaced by the parabola's minimiser: on a quadratic, the exact one."""
    from nst_teach.lbfgs import projected_lbfgs

    trials = []

    def evaluate(x):
        trials.append(x.clone())
        r = x - 0.5
        return float(500 * (r * r).sum()), 1000 * r

    message = projected_lbfgs(evaluate, torch.full((1, 3, 2, 2), 0.51), Settings(steps=10))
    assert float((trials[1] - 0.5).abs().max()) > 0.05  # the first step (pixels moved by 0.1) overshoots
    assert torch.allclose(trials[2], torch.full_like(trials[2], 0.5), atol=1e-6)  # halving would give 0.46
    assert "stationary" in message and len(trials) == 3


def test_projected_lbfgs_stops_at_a_stationary_point(encoder, texture):
    # The image is its own target: the gradient is zero at the start.
    objective = build_objective(encoder, style=texture, style_layers=["conv1_1"], alpha=0, beta=1)
    exact = Settings(steps=10, coarse_levels=0, precision="float32")  # bfloat16 features differ from the target
    result = optimize(encoder, objective, texture.clone(), exact)
    assert result.status == "finished" and result.steps == 1 and "stationary" in result.message


def test_textures_get_the_same_coarse_levels_as_the_other_tasks(encoder, photo):
    source, small = resize(photo, (192, 256)), resize(photo, (96, 128))
    texture = synthesize_texture(encoder, source, ["conv1_1", "conv3_1"], Settings(steps=4))
    transfer = style_transfer(encoder, source, source, Settings(steps=4), init="noise")
    small_texture = synthesize_texture(encoder, small, ["conv1_1", "conv3_1"], Settings(steps=4))
    assert [h["level"] for h in texture.history] == [h["level"] for h in transfer.history] == [2, 1, 0, 0]
    assert [h["level"] for h in small_texture.history] == [1, 1, 0, 0]  # 1/4 would be 24 px
    # but only as many as the poolings before a texture's deepest layer: no blobs that relu1_1 cannot see
    for layers, plan in ((["relu1_1"], [0, 0, 0, 0]), (["relu1_1", "relu2_1"], [1, 1, 0, 0])):
        assert [h["level"] for h in synthesize_texture(encoder, source, layers, Settings(steps=4)).history] == plan
    shallow_reconstruction = reconstruct_content(encoder, source, "relu1_2", Settings(steps=4))  # a layout at every size
    assert [h["level"] for h in shallow_reconstruction.history] == [2, 1, 0, 0]


def test_every_task_moves_between_levels_by_bilinear_resizing_unless_told(encoder, photo):
    assert Settings().resampling == "bilinear"
    # Shrunk by nearest neighbour, white noise keeps its spread; averaging would about halve it.
    noise = initial_image("uniform", (1, 3, 192, 256), seed=0)
    assert abs(float(resample(noise, (96, 128), "nearest").std() - noise.std())) < 0.01
    assert float(resample(noise, (96, 128), "bilinear").std()) < 0.6 * float(noise.std())

    def full_size_start(**settings):
        seen = []
        synthesize_texture(encoder, resize(photo, (96, 128)), ["conv1_1"],  # asked for: relu1_1 alone gets none
                           Settings(steps=4, coarse_levels=1, every=1, **settings), callback=lambda p: seen.append(p.image))
        return seen[2]  # step 3 evaluates the enlarged coarse solution, the full size's start

    def blocky(image):  # nearest neighbour: every 2 x 2 block is one coarse pixel
        return all(torch.equal(image[..., dy::2, dx::2], image[..., ::2, ::2]) for dy, dx in ((0, 1), (1, 0), (1, 1)))

    assert not blocky(full_size_start()) and blocky(full_size_start(resampling="nearest"))


@pytest.mark.parametrize("channels_last", [True, False])
def test_the_same_call_twice_gives_the_same_image(texture, channels_last):
    """A fresh encoder: its first run used to compute the targets in NCHW and the rest in NHWC."""
    encoder = load_vgg19_features("random", pooling="avg", seed=0)
    assert is_channels_last(encoder)  # the engine's default layout, from the start
    settings = Settings(steps=6, channels_last=channels_last)
    first, second = (synthesize_texture(encoder, texture, ["conv1_1", "conv3_1"], settings) for _ in range(2))
    assert [h["total"] for h in first.history] == [h["total"] for h in second.history]
    assert torch.equal(first.image, second.image)
    assert is_channels_last(encoder)  # back to its own layout after a run in NCHW


@pytest.mark.parametrize("bad", [{"resampling": "bicubic"}, {"optimizer": "sgd"}, {"precision": "float16"},
                                 {"coarse_share": 1.5}, {"steps": -1}, {"history_size": 0}, {"coarse_levels": -2},
                                 {"lr": 0.0}, {"every": 0}])
def test_settings_refuse_unknown_or_impossible_values_by_name(bad):
    (name, value), = bad.items()
    with pytest.raises(ValueError, match=rf"^{name} must be .*got {value!r}"):
        Settings(**bad)
    assert levels(Settings(steps=9, coarse_share=1 / 3), (384, 512)) == [(2, 2), (1, 1), (0, 6)]
