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
    with pytest.raises(ImageError, match="starry_night.jpg is not cached and NST_TEACH_OFFLINE is set"):
        paper_image("starry_night", 32, stand_in=False)  # a benchmark's table: no stand-in, the reason instead
    assert paper_image("coffee", 32, stand_in=False).name == "coffee"  # scikit-image's own pictures are no stand-ins


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


@pytest.fixture
def server(monkeypatch):
    """A real HTTP server on this machine: ``files[path] = bytes`` serves them, ``asked`` lists the paths requested."""
    import http.server
    import threading
    from types import SimpleNamespace

    files: dict[str, bytes] = {}
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    import pooch

    # pooch's logger keeps the stderr it first saw; under capsys that stream is a test's closed capture
    monkeypatch.setattr(pooch.get_logger(), "disabled", True)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield SimpleNamespace(files=files, asked=asked, root=f"http://127.0.0.1:{httpd.server_port}/")
    httpd.shutdown()
    httpd.server_close()


def _through(server, monkeypatch, **hashes: str) -> dict[str, str]:
    """Point every catalogue entry at ``server``, under its real URL's host and path (``https://host/path`` is served
    as ``/host/path``); ``hashes``: entries whose pinned hash is replaced. Returns each entry's path on the server."""
    import dataclasses
    from urllib.parse import urlsplit

    from nst_teach import data

    moved = {name: dataclasses.replace(e, url=server.root + e.url.removeprefix("https://"),
                                       known_hash=hashes.get(name, e.known_hash)) for name, e in CATALOGUE.items()}
    monkeypatch.setattr(data, "CATALOGUE", moved)
    return {name: urlsplit(e.url).path for name, e in moved.items()}


def test_the_offline_kit_is_the_real_files_downloaded_and_checked(shared_images, server, tmp_path, monkeypatch,
                                                                   capsys):
    """`nst-teach images --download DIR` against a server holding the real files at the pinned URLs' paths: each
    hash is checked. Composition VII's pin is Wikimedia's full-size file (pystiche's md5), which the course's smaller
    copy is not, so that one is refused and not kept, and the command says what to do; the other five are written."""
    from nst_teach.cli import main

    paths = _through(server, monkeypatch)
    for name, path in paths.items():
        server.files[path] = (Path(shared_images) / CATALOGUE[name].file).read_bytes()
    kit = tmp_path / "kit"
    assert main(["images", "--download", str(kit)]) == 1
    out, err = capsys.readouterr()
    assert sorted(server.asked) == sorted(paths.values())  # one request a file, at the real path
    assert paths["tubingen"] == "/raw.githubusercontent.com/jcjohnson/neural-style/" \
                                "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/tubingen.jpg"
    written = sorted(p.name for p in kit.iterdir())
    assert written == sorted(e.file for n, e in CATALOGUE.items() if n != "composition_vii")
    for name, entry in CATALOGUE.items():
        if name != "composition_vii":
            algorithm, digest = entry.known_hash.split(":")
            assert hashlib.new(algorithm, (kit / entry.file).read_bytes()).hexdigest() == digest, name
            assert f"ok: {kit / entry.file}" in out
    assert "composition_vii.jpg" in err and "does not match its known hash (md5:bfcbc420" in err
    assert "1 of 6 images are not in" in err and "Traceback" not in err


def test_a_corrupted_download_is_refused_and_not_kept(server, tmp_path, monkeypatch, capsys):
    """One byte changed in transit: the kit keeps the others, and the first use of the picture (the user cache) refuses
    it too, so the lessons fall back to scikit-image's and say why."""
    from nst_teach.cli import main
    from nst_teach.images import save_image

    good = save_image(torch.rand(1, 3, 12, 16), tmp_path / "good.png").read_bytes()
    digest = "sha256:" + hashlib.sha256(good).hexdigest()
    paths = _through(server, monkeypatch, **{name: digest for name in CATALOGUE})
    for path in paths.values():
        server.files[path] = good
    server.files[paths["tubingen"]] = good[:-20] + bytes([good[-20] ^ 1]) + good[-19:]
    assert main(["images", "--download", str(tmp_path / "kit")]) == 1
    err = capsys.readouterr().err
    assert "tubingen.jpg" in err and "does not match its known hash" in err and "1 of 6 images" in err
    assert not (tmp_path / "kit" / "tubingen.jpg").exists()
    assert (tmp_path / "kit" / "the_scream.jpg").read_bytes() == good
    monkeypatch.delenv("NST_TEACH_IMAGES", raising=False)
    monkeypatch.delenv("NST_TEACH_OFFLINE", raising=False)
    monkeypatch.setattr("pooch.os_cache", lambda name: tmp_path / "cache")
    picture = paper_image("tubingen", 16)
    assert picture.fallback and "does not match its known hash" in picture.credit
    assert not (tmp_path / "cache" / "tubingen.jpg").exists()
    assert not paper_image("the_scream", 16).fallback  # downloaded into the cache, checked, used
    assert (tmp_path / "cache" / "the_scream.jpg").read_bytes() == good


def test_the_imagenet_weights_download_checks_its_hash(server, tmp_path, monkeypatch, capsys):
    """`nst-teach weights --download` fetches torchvision's file by its real path; a file whose SHA-256 does not begin
    with the name's ``dcbb9e9d`` (here a random checkpoint) is refused, one message, nothing kept in TORCH_HOME."""
    from nst_teach import weights
    from nst_teach.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(weights, "IMAGENET_URL", server.root + weights.IMAGENET_URL.removeprefix("https://"))
    path = "/download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.rand(64, 3, 3, 3)}, tmp_path / "random.pth")
    server.files[path] = (tmp_path / "random.pth").read_bytes()
    assert main(["weights", "--download"]) == 2
    err = capsys.readouterr().err
    assert server.asked == [path]
    assert "invalid hash value" in err and "dcbb9e9d" in err and "--weights caffe" in err and "Traceback" not in err
    assert not any((tmp_path / "torch").rglob("*.pth"))


def test_the_maintainer_check_says_skipped_offline(monkeypatch, capsys):
    import urllib.request

    from nst_teach.cli import main

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    assert main(["images", "--check"]) == 0
    assert capsys.readouterr().out.strip() == "skipped: offline"
