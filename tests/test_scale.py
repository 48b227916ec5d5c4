"""Scale control as the authors did it (CVPR 2017, Sec. 6; their ScaleControl notebook): a new style image from
the coarse painting, with the fine painting's texture at the low layers only."""

import torch

import nst_teach as nt
from nst_teach.data import skimage_image
from nst_teach.scale import FINE_LAYERS, mix_scales, scale_transfer


def test_the_new_style_image_takes_the_fine_texture_of_one_painting_and_the_layout_of_the_other(caffe):
    coarse, fine = skimage_image("astronaut", 128), skimage_image("brick", 128)  # relu2_1 sees 10 px: room for a layout
    fine = nt.resize(fine, coarse.shape[-2:])
    result = mix_scales(caffe, coarse, fine, nt.Settings(steps=30))
    assert {h["level"] for h in result.history} == {0} and set(result.history[0]) >= {"style", "total"}  # no content
    new = result.image
    F = {name: caffe(im, ["relu1_1"])["relu1_1"] for name, im in [("new", new), ("coarse", coarse), ("fine", fine)]}

    def E(a: str, b: str) -> float:  # Eq. 4 at relu1_1: fine texture
        return float(nt.style_layer_loss(F[a], nt.gram_matrix(F[b])))

    assert E("new", "fine") < 0.5 * E("coarse", "fine")  # the texture moved to the fine painting's
    # the layout stayed the coarse painting's: structure compares the edges' directions, so a picture with the astronaut's
    # layout is well above the bricks' own score against it; had the fine painting's layout come through, the two would meet
    assert nt.structure(coarse, new) > nt.structure(coarse, fine) + 0.25
    assert FINE_LAYERS == ("relu1_1", "relu2_1")  # the notebook's max_pretrans_layer = 'relu2_1'


def test_scale_transfer_recolours_both_paintings_and_starts_from_the_photograph(encoder, monkeypatch):
    from nst_teach import scale

    photo = skimage_image("astronaut", 48)
    coarse, fine = torch.full_like(photo, 0.2), skimage_image("brick", 48)
    seen = {}
    real_mix, real_transfer = scale.mix_scales, scale.style_transfer
    monkeypatch.setattr(scale, "mix_scales", lambda enc, c, f, *a, **k: seen.update(coarse=c, fine=f) or real_mix(enc, c, f, *a, **k))
    monkeypatch.setattr(scale, "style_transfer", lambda *a, **k: seen.update(init=k["init"]) or real_transfer(*a, **k))
    mixed, transfer = scale_transfer(encoder, photo, coarse + 0.1 * torch.rand_like(coarse), fine, nt.Settings(steps=2))
    for key in ("coarse", "fine"):  # both in the photograph's colours first
        assert torch.allclose(seen[key].mean((0, 2, 3)), photo.mean((0, 2, 3)), atol=0.03), key
    assert seen["init"] == "content" and transfer.status == "finished"


def test_scale_transfer_stops_after_the_first_step_when_asked(encoder):
    photo = skimage_image("astronaut", 48)
    mixed, transfer = scale_transfer(encoder, photo, photo, photo, nt.Settings(steps=5), should_stop=lambda: True)
    assert mixed.status == "stopped" and transfer is mixed
