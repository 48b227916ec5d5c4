import numpy as np
import pytest
import torch
from PIL import Image

from nst_teach import ImageError, load_image, resize, save_image
from nst_teach.images import MAX_PIXELS


def _save(tmp_path, image, name):
    path = tmp_path / name
    image.save(path)
    return path


def test_modes_become_rgb_in_unit_range(tmp_path):
    cases = {
        "grey.png": Image.new("L", (5, 4), 128),
        "palette.png": Image.new("RGB", (5, 4), (255, 0, 0)).convert("P"),
        "cmyk.jpg": Image.new("CMYK", (5, 4), (0, 0, 0, 0)),
    }
    for name, image in cases.items():
        x = load_image(_save(tmp_path, image, name))
        assert x.shape == (1, 3, 4, 5) and x.dtype == torch.float32, name
        assert 0 <= x.min() and x.max() <= 1, name
    red = load_image(tmp_path / "palette.png")[0, :, 0, 0]
    torch.testing.assert_close(red, torch.tensor([1.0, 0.0, 0.0]))
    assert load_image(tmp_path / "cmyk.jpg").min() > 0.9  # no ink is white


def test_rgba_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (3, 3), (0, 0, 0, 0))  # fully transparent black
    torch.testing.assert_close(load_image(_save(tmp_path, image, "a.png")), torch.ones(1, 3, 3, 3))


def test_16_bit_grey_keeps_its_range(tmp_path):
    array = np.full((4, 4), 65535 // 2, dtype=np.uint16)
    path = _save(tmp_path, Image.fromarray(array), "g16.png")
    x = load_image(path)
    assert x.mean().item() == pytest.approx(0.5, abs=1e-3)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (6, 2), (0, 255, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    path = tmp_path / "rot.jpg"
    image.save(path, exif=exif)
    assert load_image(path).shape == (1, 3, 6, 2)


def test_arrays_pil_and_tensors():
    assert load_image(np.zeros((4, 5, 3), np.uint8)).shape == (1, 3, 4, 5)
    assert load_image(np.ones((4, 5), np.float32)).min() == 1
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert load_image(rgba).min() == 1  # transparent -> white
    assert load_image(Image.new("RGB", (7, 3))).shape == (1, 3, 3, 7)
    assert load_image(torch.rand(3, 4, 4)).shape == (1, 3, 4, 4)
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((2, 2, 2)))


def test_resize_by_longest_side():
    x = torch.rand(1, 3, 100, 50)
    assert resize(x, 40).shape == (1, 3, 40, 20)
    assert load_image(np.zeros((100, 50, 3), np.uint8), size=64).shape == (1, 3, 64, 32)


def test_save_png_with_metadata(tmp_path):
    x = torch.rand(1, 3, 8, 9)
    path = save_image(x, tmp_path / "sub" / "out.png", {"nst-teach:weights": "random (seed 0)"})
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (9, 8)
    assert image.text["nst-teach:weights"] == "random (seed 0)"
    assert (load_image(path) - x).abs().max() <= 1 / 255


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"image not found: .*nope\.jpg"):
        load_image(tmp_path / "nope.jpg")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    with pytest.raises(ImageError, match=r"notes\.jpg is not an image"):
        load_image(path)


def test_truncated_image(tmp_path):
    path = _save(tmp_path, Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "t.jpg")
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(ImageError, match=r"t\.jpg is damaged or truncated"):
        load_image(path)


def test_decompression_bomb(tmp_path, monkeypatch):
    path = _save(tmp_path, Image.new("L", (200, 200)), "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # same check Pillow makes on a real bomb
    with pytest.raises(ImageError, match=r"bomb\.png is too large"):
        load_image(path)
    assert MAX_PIXELS > 10_000_000


def test_a_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from nst_teach import NstTeachError
    from nst_teach.images import write_atomically

    path = write_atomically(tmp_path / "new" / "a.json", b"{}")
    assert path.read_bytes() == b"{}" and [p.name for p in path.parent.iterdir()] == ["a.json"]

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    with pytest.raises(NstTeachError, match="could not write .*No space left on device"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "b.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]  # no partial b.png, no temporary file


def test_image_size_reads_only_the_header_and_applies_the_exif_rotation(tmp_path):
    from nst_teach.images import image_size

    path = tmp_path / "tall.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap
    Image.new("RGB", (40, 30)).save(path, exif=exif)
    assert image_size(path) == load_image(path).shape[-2:] == (40, 30)


def test_files_are_written_with_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = save_image(torch.rand(1, 3, 4, 4), tmp_path / "o.png")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # as open() makes them: readable by others on a shared hub
