from pathlib import Path

import pytest
import torch

from nst_teach import ImageError
from nst_teach.data import CATALOGUE, FALLBACKS, catalogue_path, paper_image, skimage_image


def test_catalogue_has_the_papers_images_with_credits():
    assert {"tubingen", "shipwreck", "starry_night", "the_scream", "composition_vii"} <= set(CATALOGUE)
    assert "Praefcke" in CATALOGUE["tubingen"].credit and "CC BY" in CATALOGUE["tubingen"].licence
    assert all(entry.fallback in FALLBACKS for entry in CATALOGUE.values())


def test_local_folder_is_used(tmp_path, monkeypatch):
    from nst_teach.images import save_image

    save_image(torch.rand(1, 3, 20, 30), tmp_path / "shipwreck.jpg")
    monkeypatch.setenv("NST_TEACH_IMAGES", str(tmp_path))
    assert catalogue_path("shipwreck") == tmp_path / "shipwreck.jpg"
    picture = paper_image("shipwreck", 16)
    assert not picture.fallback and "Turner" in picture.credit and picture.image.shape == (1, 3, 11, 16)


def test_falls_back_to_scikit_image_when_the_catalogue_cannot_be_had(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_TEACH_IMAGES", str(tmp_path))  # an empty folder
    picture = paper_image("tubingen", 32)
    assert picture.fallback and picture.name == "astronaut" and "standing in for" in picture.credit
    monkeypatch.delenv("NST_TEACH_IMAGES")
    monkeypatch.setenv("NST_TEACH_OFFLINE", "1")
    monkeypatch.setattr("pooch.os_cache", lambda name: tmp_path / "cache")
    assert paper_image("starry_night", 32).fallback


def test_shared_images_when_ci_points_at_them():
    import os

    folder = os.environ.get("NST_TEACH_IMAGES")
    if not folder and os.environ.get("CI"):
        pytest.fail("CI must set NST_TEACH_IMAGES (.ci/run points it at ../shared/images)")
    if not folder:
        pytest.skip("NST_TEACH_IMAGES is not set; CI sets it to ../shared/images")
    for name in ("tubingen", "starry_night", "the_scream", "composition_vii", "shipwreck"):
        picture = paper_image(name, 64)
        assert not picture.fallback, picture.credit
        assert Path(catalogue_path(name)).is_relative_to(Path(folder).expanduser())


def test_skimage_pictures_ship_with_the_dependency():
    for name in FALLBACKS:
        assert skimage_image(name, 32).shape[1] == 3
    with pytest.raises(ImageError, match="unknown"):
        paper_image("mona_lisa")
