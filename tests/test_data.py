import hashlib
import re
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


def test_shared_images_when_ci_points_at_them(shared_images):
    folder = shared_images
    for name in ("tubingen", "starry_night", "the_scream", "composition_vii", "shipwreck"):
        picture = paper_image(name, 64)
        assert not picture.fallback, picture.credit
        assert Path(catalogue_path(name)).is_relative_to(Path(folder).expanduser())


def test_skimage_pictures_ship_with_the_dependency():
    for name in FALLBACKS:
        assert skimage_image(name, 32).shape[1] == 3
    with pytest.raises(ImageError, match="is no image this package knows"):
        paper_image("mona_lisa")


def test_every_entry_has_a_pinned_source_and_a_hash():
    for name, entry in CATALOGUE.items():
        pinned = "/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/" in entry.url or entry.url.startswith(
            "https://upload.wikimedia.org/wikipedia/commons/")
        assert pinned and "/master/" not in entry.url, (name, entry.url)
        assert re.fullmatch(r"sha256:[0-9a-f]{64}|md5:[0-9a-f]{32}", entry.known_hash), (name, entry.known_hash)


def test_each_hash_is_the_hash_of_the_real_file(shared_images):
    """The pinned hashes against the files themselves: the course's copies ($NST_TEACH_IMAGES) of neural-style's
    inputs are those files, byte for byte. A hash typed wrong would refuse every student's download. (Composition VII
    is pinned to Wikimedia's full-size file, pystiche's md5; the course's copy is a smaller one, so it is left out.)"""
    present = [name for name, entry in CATALOGUE.items()
               if "jcjohnson/neural-style" in entry.url and (Path(shared_images) / entry.file).is_file()]
    assert len(present) == 5, present
    for name in present:
        algorithm, digest = CATALOGUE[name].known_hash.split(":")
        assert hashlib.new(algorithm, (Path(shared_images) / CATALOGUE[name].file).read_bytes()).hexdigest() == digest, name


def _serve(monkeypatch, content: bytes):
    """pooch's downloader, answering every URL with ``content`` (no network)."""
    import pooch

    def fake(self, url, output_file, pooch_, check_only=False):
        Path(output_file).write_bytes(content) if not hasattr(output_file, "write") else output_file.write(content)

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", fake)


def test_a_download_that_does_not_match_its_hash_is_one_error_and_is_not_kept(tmp_path, monkeypatch):
    from nst_teach.data import download_all

    _serve(monkeypatch, b"not the painting")
    with pytest.raises(ImageError, match="does not match its known hash") as err:
        download_all(tmp_path)
    assert "tubingen.jpg" in str(err.value) and not (tmp_path / "tubingen.jpg").exists()


def test_the_offline_kit_writes_verified_files(tmp_path, monkeypatch, capsys):
    import dataclasses

    from nst_teach import data
    from nst_teach.cli import main

    body = b"verified bytes"
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    monkeypatch.setattr(data, "CATALOGUE", {k: dataclasses.replace(v, known_hash=digest) for k, v in CATALOGUE.items()})
    _serve(monkeypatch, body)
    assert main(["images", "--download", str(tmp_path / "kit")]) == 0
    assert sorted(p.name for p in (tmp_path / "kit").iterdir()) == sorted(e.file for e in CATALOGUE.values())
    assert "NST_TEACH_IMAGES" in capsys.readouterr().out


def test_the_maintainer_check_says_skipped_offline(monkeypatch, capsys):
    import urllib.request

    from nst_teach.cli import main

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    assert main(["images", "--check"]) == 0
    assert capsys.readouterr().out.strip() == "skipped: offline"
