"""The plan: coarse-to-fine levels, then the float32 tail, as phases; and the images between levels."""

import torch

from nst_teach import Settings, reconstruct_content, resize, style_transfer, synthesize_texture
from nst_teach.coarse_to_fine import level_size, levels, plan, resample
from nst_teach.data import paper_image
from nst_teach.starts import initial_image

CPU = torch.device("cpu")


def test_levels_plan_coarse_levels_by_size():
    def pyramid(settings, size, most=2):
        """The plan with each level's (H, W), as the engine shrinks the image."""
        return [(level_size(size, k), n) for k, n in levels(settings, size, most)]

    assert pyramid(Settings(steps=100), (384, 512)) == [((96, 128), 25), ((192, 256), 25), ((384, 512), 50)]
    assert pyramid(Settings(steps=100), (96, 128)) == [((48, 64), 50), ((96, 128), 50)]
    assert pyramid(Settings(steps=100), (64, 64)) == [((64, 64), 100)]  # too small to shrink
    assert pyramid(Settings(steps=100), (384, 512), most=0) == [((384, 512), 100)]
    assert pyramid(Settings(steps=100, coarse_levels=0), (384, 512)) == [((384, 512), 100)]
    assert pyramid(Settings(steps=100, coarse_levels=2), (48, 64)) == [((24, 32), 50), ((48, 64), 50)]  # 12 px: no room
    assert pyramid(Settings(steps=9, coarse_share=1 / 3), (384, 512)) == [((96, 128), 2), ((192, 256), 1),
                                                                       ((384, 512), 6)]


def test_each_level_ends_in_float32_when_the_network_runs_in_bfloat16():
    phases = plan(Settings(steps=40, precision="bfloat16"), (192, 256), CPU, most=1)
    assert [(p.level, p.steps, p.precision) for p in phases] == [(1, 18, "bfloat16"), (1, 2, "float32"),
                                                                  (0, 18, "bfloat16"), (0, 2, "float32")]
    assert [(p.level, p.steps, p.precision) for p in plan(Settings(steps=40, precision="float32"), (64, 64), CPU)] == [
        (0, 40, "float32")]
    assert sum(p.steps for p in plan(Settings(steps=7, precision="bfloat16", float32_tail=0.0), (64, 64), CPU)) == 7


def test_coarse_to_fine_runs_coarse_first_and_reports_full_size(encoder):
    photo, painting = (resize(paper_image(name, 128).image, (96, 128)) for name in ("tubingen", "brick"))
    calls = []
    result = style_transfer(encoder, photo, painting, Settings(steps=20, coarse_levels=1, every=1), init="noise",
                            callback=calls.append)
    assert [h["level"] for h in result.history] == [1] * 10 + [0] * 10
    assert {c.image.shape for c in calls} == {photo.shape} and result.image.shape == photo.shape
    # The full-size level starts from the upsampled coarse solution, far below a start from noise.
    plain = style_transfer(encoder, photo, painting, Settings(steps=1, coarse_levels=0), init="noise")
    assert result.history[10]["total"] < 0.75 * plain.history[0]["total"]


def test_coarse_levels_fit_odd_sizes(encoder):
    """A coarse level's image and its content target are shrunk by the same rule: 101 x 107 halves to 50 x 54."""
    photo = torch.rand(1, 3, 101, 107)
    result = reconstruct_content(encoder, photo, "conv1_1", Settings(steps=4, coarse_levels=1))
    assert result.status == "finished" and [h["level"] for h in result.history] == [1, 1, 0, 0]
    assert result.image.shape == photo.shape


def test_only_noise_starts_get_coarse_levels_and_textures_no_more_than_their_poolings(encoder, photo, cpu_kind_heavy):
    source, painting = resize(photo, (192, 256)), resize(photo.flip(-1), (192, 256))  # no start is the optimum
    shallow = {"content_layers": ["relu2_2"], "style_layers": ["relu1_1", "relu2_1"]}  # the same plan as the paper's
    # layers (what decides it: a content term, and the sources' size), at a fraction of the cost in bfloat16

    def plan_of(result):
        assert result.steps == 4, result.message  # every step taken, in either precision
        return [h["level"] for h in result.history]

    def transfer(**kwargs):
        return style_transfer(encoder, source, painting, **shallow, **kwargs)

    assert plan_of(synthesize_texture(encoder, source, ["conv1_1", "conv3_1"], Settings(steps=4))) == [2, 1, 0, 0]
    assert plan_of(transfer(settings=Settings(steps=4), init="noise")) == [2, 1, 0, 0]
    assert plan_of(reconstruct_content(encoder, source, "relu1_2", Settings(steps=4))) == [2, 1, 0, 0]  # a layout
    for layers, expected in ((["relu1_1"], [0, 0, 0, 0]), (["relu1_1", "relu2_1"], [1, 1, 0, 0])):
        assert plan_of(synthesize_texture(encoder, source, layers, Settings(steps=4))) == expected  # no blobs
    for init in ("recolored", "content", "style"):  # a picture already has a layout: shrunk, it would come back blurred
        assert plan_of(transfer(settings=Settings(steps=4), init=init)) == [0, 0, 0, 0]
    assert plan_of(transfer(settings=Settings(steps=4, coarse_levels=1))) == [1, 1, 0, 0]  # unless asked


def test_interrupt_during_a_coarse_level_returns_a_full_size_image(encoder):
    photo = torch.rand(1, 3, 96, 128)

    def stop_at_3(p):
        if p.step == 3:
            raise KeyboardInterrupt

    result = style_transfer(encoder, photo, photo.flip(-1), Settings(steps=20, coarse_levels=1, every=1),
                            callback=stop_at_3)
    assert result.status == "interrupted" and result.image.shape == photo.shape
    assert result.losses["level"] == 1


def test_levels_move_by_bilinear_resizing_unless_told(encoder, photo):
    assert Settings().resampling == "bilinear"
    # Shrunk by nearest neighbour, white noise keeps its spread; averaging would about halve it.
    noise = initial_image("uniform", (1, 3, 192, 256), seed=0)
    assert abs(float(resample(noise, (96, 128), "nearest").std() - noise.std())) < 0.01
    assert float(resample(noise, (96, 128), "bilinear").std()) < 0.6 * float(noise.std())

    def full_size_start(**settings):
        seen = []
        synthesize_texture(encoder, resize(photo, (96, 128)), ["conv1_1"],
                           Settings(steps=4, coarse_levels=1, every=1, **settings), callback=lambda p: seen.append(p.image))
        return seen[2]  # step 3 evaluates the enlarged coarse solution, the full size's start

    def blocky(image):  # nearest neighbour: every 2 x 2 block is one coarse pixel
        return all(torch.equal(image[..., dy::2, dx::2], image[..., ::2, ::2]) for dy, dx in ((0, 1), (1, 0), (1, 1)))

    assert not blocky(full_size_start()) and blocky(full_size_start(resampling="nearest"))


def test_levels_leave_the_sources_large_enough_and_the_full_size_at_least_one_step(encoder):
    """A coarse level shrinks the painting too: a 32 px source has room to halve once for relu5_1 (16 px), even when
    two levels are asked for; by default, none (a source below 2 x 48 px is not halved)."""
    result = synthesize_texture(encoder, torch.rand(1, 3, 32, 32), settings=Settings(steps=4, coarse_levels=2),
                                size=(256, 256))
    assert result.status == "finished" and {h["level"] for h in result.history} == {0, 1}  # 16 px: one halving
    assert levels(Settings(steps=10, coarse_share=0.95), (384, 512), most=2)[-1] == (0, 1)
    default = synthesize_texture(encoder, torch.rand(1, 3, 32, 32), settings=Settings(steps=4), size=(256, 256))
    assert {h["level"] for h in default.history} == {0}
