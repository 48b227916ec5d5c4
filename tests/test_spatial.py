"""Spatial control (Gatys et al., CVPR 2017, Sec. 4): guided Gram matrices, regions from label images."""

import pytest
import torch

import nst_teach as nt
from nst_teach.cli import main
from nst_teach.data import paper_image
from nst_teach.spatial import guided_gram, label_masks, mask_at, regions_from_labels


def test_a_guided_gram_matrix_with_an_all_ones_mask_is_the_plain_one():
    F = torch.rand(2, 5, 7, 6)
    G, m = guided_gram(F, torch.ones(1, 1, 7, 6))
    torch.testing.assert_close(G, nt.gram_matrix(F))
    assert float(m) == 42


def test_a_mask_reaches_each_layer_by_area_averaging():
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :] = 1
    small = mask_at(mask, (2, 2))
    torch.testing.assert_close(small, torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]]))
    assert float(mask_at(mask, (3, 3)).sum()) == pytest.approx(4.5, abs=0.6)


def test_label_images_split_into_one_mask_per_colour_and_regions_match_by_colour():
    labels = torch.zeros(1, 3, 4, 6)
    labels[:, 2, :2] = 1.0  # blue sky on top, black below
    masks = label_masks(labels)
    assert set(masks) == {(0, 0, 255), (0, 0, 0)} and float(sum(masks.values()).min()) == 1
    styles = [torch.rand(1, 3, 5, 5), torch.rand(1, 3, 6, 6)]
    style_labels = [torch.zeros(1, 3, 5, 5), torch.zeros(1, 3, 6, 6)]
    style_labels[1][:, 2] = 1.0  # the second style is all blue
    T, S_images, S = regions_from_labels(labels, styles, style_labels)
    by_colour = dict(zip(masks, S_images))
    assert by_colour[(0, 0, 255)] is styles[1] and by_colour[(0, 0, 0)] is styles[0] and len(T) == 2
    for k, colour in enumerate(masks):  # each region: its content mask, and its painting's mask of the same colour
        assert torch.equal(T[k], masks[colour])
        assert torch.equal(S[k], label_masks(style_labels[1 if colour == (0, 0, 255) else 0])[colour])
    with pytest.raises(nt.NstTeachError) as err:
        regions_from_labels(labels, styles[:1], style_labels[:1])
    assert str(err.value) == ("the colour (0, 0, 255) of the content mask is in no style mask: give each region of the "
                              "content mask a region of the same colour in a style mask")


def test_masks_and_a_blend_are_refused_together_and_each_alone_is_named():
    from nst_teach.spatial import check_control

    mask = [torch.ones(1, 1, 4, 4)]
    for content_masks, style_masks, missing in ((mask, None, "style_masks"), (None, mask, "content_masks")):
        with pytest.raises(nt.NstTeachError) as err:
            check_control(content_masks, style_masks, None)
        assert str(err.value) == "spatial control needs masks on the content image and one on each painting"
        assert err.value.name == missing
    with pytest.raises(nt.NstTeachError) as err:
        check_control(mask, mask, [0.5, 0.5])
    assert str(err.value) == ("a blend mixes the paintings everywhere, masks give each region its own painting: use one "
                              "or the other") and err.value.name == "style_blend"
    check_control(mask, mask, None), check_control(None, None, [0.5, 0.5]), check_control(None, None, None)


def test_each_8_bit_colour_of_a_label_image_is_its_own_region():
    """Colours that differ in one channel only, by one step of 255, are different regions; every key is the colour's
    (r, g, b) in 0..255; values a little outside [0, 1] (a resampled label image) count as 0 or 255; each mask is
    1 on its colour's pixels, in the labels' dtype."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (12, 34, 56), (12, 34, 57), (255, 255, 255)]
    labels = torch.zeros(1, 3, 2, len(colours), dtype=torch.float64)
    for j, colour in enumerate(colours):
        labels[0, :, :, j] = torch.tensor(colour, dtype=torch.float64).view(3, 1) / 255
    labels[0, :, 1, 0] = torch.tensor([1.2, -0.1, -0.3])  # below the red: red again, once clamped
    masks = label_masks(labels)
    assert set(masks) == set(colours)
    for j, colour in enumerate(colours):
        expected = torch.zeros(1, 1, 2, len(colours), dtype=torch.float64)
        expected[..., j] = 1
        assert torch.equal(masks[colour], expected) and masks[colour].dtype == torch.float64, colour


def test_label_images_of_the_wrong_number_or_size_are_named():
    from nst_teach.spatial import check_labels

    with pytest.raises(nt.NstTeachError) as err:
        check_labels([(1, 3, 5, 5), (1, 3, 6, 6)], [(1, 3, 5, 5)])
    assert str(err.value) == "1 style label images for 2 style images: give one each" and err.value.name == "style_masks"
    with pytest.raises(nt.NstTeachError) as err:
        check_labels([(1, 3, 5, 5)], [(1, 3, 5, 5)], content=(1, 3, 8, 9), content_labels=(1, 3, 8, 10))
    assert str(err.value) == ("the label image content_labels is 10 x 8 px but its image is 9 x 8 px: a label image must "
                              "have its image's size") and err.value.name == "content_masks"
    with pytest.raises(nt.NstTeachError) as err:
        check_labels([(1, 3, 5, 5), (1, 3, 6, 7)], [(1, 3, 5, 5), (1, 3, 7, 6)], names=["photo.png", "a.png", "b.png"])
    assert str(err.value) == ("the label image b.png is 6 x 7 px but its image is 7 x 6 px: a label image must have its "
                              "image's size") and err.value.name == "style_masks"
    check_labels([(1, 3, 5, 5)], [(1, 3, 5, 5)], content=(1, 3, 8, 9), content_labels=(1, 1, 8, 9))  # sizes agree


def test_each_region_takes_its_own_style(caffe):
    """The sky in one painting's style, the rest in another's: each region's colours move towards its own."""
    content = paper_image("chelsea", 64).image
    red, blue = torch.zeros(1, 3, 48, 48), torch.zeros(1, 3, 48, 48)
    red[:, 0], blue[:, 2] = 0.9, 0.9
    red, blue = red + 0.1 * torch.rand(red.shape), blue + 0.1 * torch.rand(blue.shape)
    top = torch.zeros(1, 1, *content.shape[-2:])
    top[..., : content.shape[-2] // 2, :] = 1
    ones = torch.ones(1, 1, 48, 48)
    result = nt.style_transfer(caffe, content, [red, blue], nt.Settings(steps=30), alpha=0.0, init="noise",
                               content_masks=[top, 1 - top], style_masks=[ones, ones])  # no content term
    half = content.shape[-2] // 2
    upper, lower = result.image[..., : half - 4, :], result.image[..., half + 4 :, :]
    assert upper[:, 0].mean() > upper[:, 2].mean() + 0.1 and lower[:, 2].mean() > lower[:, 0].mean() + 0.1


def test_a_level_shrinks_the_masks_with_the_images(encoder):
    from nst_teach.spatial import GuidedStyle

    top = torch.zeros(1, 1, 64, 96)
    top[..., :32, :] = 1
    painting = torch.rand(1, 3, 40, 40)
    term = GuidedStyle.of(encoder, [top, 1 - top], [painting, painting], [torch.ones(1, 1, 40, 40)] * 2, ["relu1_1"])
    half = term.resized(encoder, 0.5)
    assert half.content_masks[0].shape[-2:] == (32, 48) and half.paintings[0].shape[-2:] == (20, 20)
    assert float(half.content_masks[0].sum()) == 16 * 48 and half.weight == term.weight
    # the style masks shrink too, and every target and layer mask is rebuilt from the shrunk images
    assert half.style_masks[0].shape[-2:] == (20, 20) and float(half.style_masks[0].sum()) == 400
    rebuilt = GuidedStyle.of(encoder, half.content_masks, half.paintings, half.style_masks, ["relu1_1"])
    for r in range(2):
        torch.testing.assert_close(half.A[r]["relu1_1"], rebuilt.A[r]["relu1_1"])
        torch.testing.assert_close(half.T[r]["relu1_1"], rebuilt.T[r]["relu1_1"])
    assert not torch.allclose(half.A[0]["relu1_1"], term.A[0]["relu1_1"])
    # by area averaging: a mask of alternate pixels becomes one half everywhere (nearest would keep 0s and 1s)
    alternate = (torch.arange(64).view(-1, 1) + torch.arange(96).view(1, -1)).remainder(2).float()[None, None]
    term = GuidedStyle.of(encoder, [alternate, 1 - alternate], [painting, painting], [torch.ones(1, 1, 40, 40)] * 2, ["relu1_1"])
    assert torch.equal(term.resized(encoder, 0.5).content_masks[0], torch.full((1, 1, 32, 48), 0.5))


def test_cli_masks_of_another_size_or_an_unmatched_colour_get_one_line(tmp_path, capsys):
    content = nt.save_image(paper_image("chelsea", 64).image, tmp_path / "c.png")
    style = nt.save_image(paper_image("coffee", 64).image, tmp_path / "s.png")
    h, w = nt.load_image(content).shape[-2:]
    good = nt.save_image(torch.zeros(1, 3, h, w), tmp_path / "labels.png")
    wrong_size = nt.save_image(torch.zeros(1, 3, h + 1, w), tmp_path / "big.png")
    blue = torch.zeros(1, 3, *nt.load_image(style).shape[-2:])
    blue[:, 2] = 1
    other_colour = nt.save_image(blue, tmp_path / "blue.png")
    base = ["transfer", str(content), str(style), "--weights", "random", "--steps", "1", "--size", "32"]
    for extra, needle in ((["--content-mask", str(wrong_size), "--style-mask", str(good)], "a label image must have its image's size"),
                          (["--content-mask", str(good), "--style-mask", str(other_colour)], "is in no style mask"),
                          (["--content-mask", str(good)], "--style-mask: spatial control needs masks on the content image")):
        assert main(base + extra) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("nst-teach: error") == 1 and "Traceback" not in err, err


def test_a_guided_term_refuses_each_bad_mask_by_name(encoder):
    from nst_teach.spatial import GuidedStyle

    painting, ones = torch.rand(1, 3, 20, 20), torch.ones(1, 1, 20, 20)
    top = torch.zeros(1, 1, 16, 24)
    top[..., :8, :] = 1

    def refused(*args, **kwargs) -> nt.NstTeachError:
        with pytest.raises(nt.NstTeachError) as err:
            GuidedStyle.of(encoder, *args, ["relu1_1"], **kwargs)
        return err.value

    err = refused([top, 1 - top], [painting], [ones])
    assert str(err) == ("spatial control needs one style image, one style mask and one weight per content region: got 2 "
                        "regions, 1 styles, 1 style masks and 2 weights") and err.name == "content_masks"
    assert "got 0 regions" in str(refused([], [], []))
    assert "and 1 weights" in str(refused([top, 1 - top], [painting] * 2, [ones] * 2, region_weights=[1.0]))
    assert refused([top, 1 - top], [painting] * 2, [ones] * 2, region_weights=[1.0, -1.0]).name == "region_weights[1]"
    err = refused([top, torch.ones(1, 1, 16, 25)], [painting] * 2, [ones] * 2)
    assert str(err) == ("content_masks[1] must be a mask of shape (1, 1, H, W) of its image's size (16, 24); got "
                        "(1, 1, 16, 25)") and err.name == "content_masks"
    assert "of its image's size (16, 30); got (1, 1, 16, 24)" in str(refused([top], [painting], [ones], size=(16, 30)))
    err = refused([top], [painting], [torch.ones(1, 20, 20)])
    assert str(err) == "style_masks[0] must be a mask of shape (1, 1, H, W) of its image's size (20, 20); got (1, 20, 20)"
    assert err.name == "style_masks"
    assert str(refused([top], [painting], [[1.0]])).endswith("got list")
    assert str(refused([top], [painting], [torch.ones(1, 2, 20, 20)])).endswith("got (1, 2, 20, 20)")
    for bad in (2 * ones, -ones, 0 * ones):
        err = refused([top], [painting], [bad])
        assert str(err) == "style_masks[0] must have values in [0, 1] and cover some pixels" and err.name == "style_masks"
    speck = torch.zeros(1, 1, 20, 20)
    speck[..., 3, 4] = 0.5  # a region of half a pixel is still a region
    GuidedStyle.of(encoder, [top], [painting], [speck], ["relu1_1"])
    term = GuidedStyle.of(encoder, [top, 1 - top], [painting] * 2, [ones] * 2, ["relu1_1"], beta=3.0, region_weights=[2.0, 0.5])
    assert term.weight == 3.0 and term.region_weights == [2.0, 0.5]


def test_a_faint_mask_weighs_its_region_as_a_full_one(caffe):
    """Each guided Gram matrix is divided by its region's size, sum T^2: a mask of 0.1 everywhere is the same region as
    one of 1, even at relu4_1 and relu5_1, where a small painting's region sums to less than 1 position (the trained
    network: its deep features are not near zero, as a random network's can be)."""
    from nst_teach.spatial import GuidedStyle

    encoder = caffe
    painting, x = (nt.resize(paper_image(name, 32).image, (32, 32)) for name in ("coffee", "chelsea"))
    layers = ["relu1_1", "relu4_1", "relu5_1"]
    full, faint = (GuidedStyle.of(encoder, [v * torch.ones(1, 1, 32, 32)], [painting], [v * torch.ones(1, 1, 32, 32)], layers)
                   for v in (1.0, 0.1))
    for l in layers:
        torch.testing.assert_close(faint.A[0][l], full.A[0][l])
    F = encoder(x, layers)
    torch.testing.assert_close(faint.loss(F, x), full.loss(F, x))
