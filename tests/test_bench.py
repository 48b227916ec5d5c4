"""The benchmark (nst_teach.bench, one contender a process in nst_teach.bench_worker), in a tiny configuration."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nst_teach.bench_worker import Snapshots, as_saved, conv_flops
from nst_teach.cli import main
from nst_teach.errors import NstTeachError
from nst_teach.images import load_image, save_image


def test_flops_match_the_hand_count():
    # VGG19 up to conv5_1 at 512 px: about 189 GFLOP forward, the same again backward to the input.
    assert conv_flops(512, 512, "conv5_1") / 1e9 == pytest.approx(378, rel=0.01)
    assert conv_flops(64, 64, "conv1_1") == 2 * 2 * 3 * 64 * 9 * 64 * 64


def test_snapshot_saving_is_left_out_of_the_recorded_times():
    trace, image = Snapshots(), torch.rand(1, 3, 64, 64)
    trace.add(1.0, image)
    first_save = trace.overhead
    trace.add(2.0, image)  # a run clock that ran on through the first save
    assert first_save > 0 and trace.overhead > first_save
    assert trace.times == [1.0, 2.0 - first_save]
    curve = trace.curve(lambda x: float(x.mean()), torch.device("cpu"))
    assert [t for t, _ in curve] == trace.times and curve[0][1] == pytest.approx(float(as_saved(image).mean()))


def test_scores_see_the_image_as_a_png_stores_it(tmp_path):
    x = torch.rand(1, 3, 16, 16) * 1.2 - 0.1  # some pixels outside [0, 1]
    assert torch.equal(as_saved(x), load_image(save_image(x, tmp_path / "x.png")))


@pytest.mark.integration  # the benchmark as a whole: a process per contender
def test_benchmark_runs_tiny_and_writes_its_table(tmp_path):
    assert main(["bench", "--quick", "--out", str(tmp_path), "--contenders", "engine, photograph as it is"]) == 0
    table = (tmp_path / "results.md").read_text()
    report = json.loads((tmp_path / "results.json").read_text())
    assert "| task | px | pictures | contender |" in table and "loop (paper.py)" in table and "engine default" in table
    assert {"float32", "bfloat16"} <= set(report["matmul_peak_gflops"])
    assert report["weights"] == "caffe" and "Weights: caffe" in table  # the trained network by default
    assert [r["contender"] for r in report["rows"]] == ["loop (paper.py)", "engine default", "engine, photograph as it is"]
    loop = report["rows"][0]
    assert loop["evaluations"] == 4 and loop["to_in_memory_ratio"] == 1
    for row in report["rows"]:
        assert row["s_per_step"] > 0 and row["peak_memory_mb"] > 0 and row["final_loss_f32"] > 0
        assert Path(row["png"]).exists() and 0 < row["startup_s"] < row["whole_process_s"]  # scored as saved
        assert 0 <= row["palette"] <= 1 and -1 <= row["structure"] <= 1  # a transfer's figure scores
        assert row["target_in_memory"] == loop["target_in_memory"] and row["target_saved"] == loop["target_saved"]


@pytest.mark.integration  # the levers benchmark as a whole
def test_levers_script_times_each_variant(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "levers.py"
    out = tmp_path / "levers.json"
    proc = subprocess.run([sys.executable, str(script), "--sizes", "32", "--repeats", "1", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {(r["precision"], r["channels_last"]) for r in rows} == {(p, c) for p in ("float32", "bfloat16")
                                                                   for c in (False, True)}
    assert all(r["per_pass_s"] > 0 for r in rows) and "| 32 | float32 | NHWC | no |" in proc.stdout


def test_a_named_painting_that_cannot_be_had_is_refused_not_stood_in_for(tmp_path, monkeypatch, capsys):
    """The published table's second pair once ran scikit-image's brick for *The Scream*: now the run stops first."""
    from nst_teach.bench import check

    monkeypatch.setenv("NST_TEACH_IMAGES", str(tmp_path))  # a folder without the paintings
    with pytest.raises(NstTeachError, match="--styles: the_scream cannot be had"):
        check([512], ["transfer"], 500, None, ["chelsea"], None, None)  # the default paintings are checked too
    assert main(["bench", "--contents", "chelsea", "--styles", "the_scream", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--styles: the_scream cannot be had" in err and "never on a stand-in" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # no worker started
    save_image(torch.rand(1, 3, 8, 8), tmp_path / "the_scream.jpg")
    check([512], ["transfer"], 500, None, ["chelsea"], ["the_scream"], None)  # there now: accepted
    check([48], ["transfer"], 4, 6, ["tubingen"], ["starry_night"], None, stand_ins=True)  # --quick may stand in


@pytest.mark.integration  # the default transfer's benchmark as a whole: a fresh nst-teach process
def test_the_default_transfer_benchmark_runs_the_cli_whole_and_scores_its_picture(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "default_transfer.py"
    photo = save_image(torch.rand(1, 3, 24, 32), tmp_path / "photo.png")
    painting = save_image(torch.rand(1, 3, 32, 32), tmp_path / "painting.png")
    proc = subprocess.run([sys.executable, str(script), "--pairs", f"{photo}:{painting}", "--size", "32", "--steps",
                           "14", "--laptop", "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    assert row["steps"] == 14 and row["size"] == [24, 32] and row["laptop_switch"]  # > FIRST_AFTER + 1: a time left
    assert row["first_left_s"] >= 0 and 0 < row["real_left_s"] < row["run_s"]  # the bar's first time left, and the real
    assert 0 < row["run_s"] < row["wall_s"] and 0.2 < row["peak_rss_gb"] < 20  # the child's, not this process's
    assert Path(row["picture"]).is_file() and -1 <= row["structure"] <= 1 and 0 <= row["palette"] <= 1
    assert "| photo.png × painting.png | 32 × 24 | 14 |" in proc.stdout and "laptop switch" in proc.stdout


@pytest.mark.integration  # the profile as a whole: a fresh process, the default picture's plan
def test_the_profile_times_each_phase_of_the_plan_and_splits_each_phases_step(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "profile_default.py"
    photo = save_image(torch.rand(1, 3, 96, 128), tmp_path / "photo.png")
    painting = save_image(torch.rand(1, 3, 96, 128), tmp_path / "painting.png")
    proc = subprocess.run([sys.executable, str(script), "--pair", f"{photo}:{painting}", "--size", "128", "--steps",
                           "12", "--out", str(tmp_path / "p.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert [phase["level"] for phase in report["phases"]][0] == 1 and report["phases"][-1]["level"] == 0
    assert sum(phase["steps"] for phase in report["phases"]) == 12 and not report["paper"]  # 11 at half size, 1 full
    assert sum(seconds for _, seconds in report["marks"]) <= report["whole_s"]
    for row in report["operations"]:  # each phase's evaluation split: the network both ways, the Gram matrices
        assert min(row["split_s"][k] for k in ("convolutions", "convolution backward", "Gram matrices")) > 0
        assert sum(row["split_s"].values()) == pytest.approx(row["evaluation_s"])
    assert "| **whole process** |" in proc.stdout and "convolution backward" in proc.stdout


@pytest.mark.integration  # the defaults' table as a whole: a transfer a cell
def test_the_defaults_table_runs_each_row_on_each_pair_and_keeps_the_pictures(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "defaults.py"
    rows = ("content 2e-3", "noise 1e-3", "noise 1e-3 balanced", "noise 1e-3 picture relu3_2")
    proc = subprocess.run([sys.executable, str(script), "--size", "32", "--steps", "5",  # the trained network
                           "--pairs", "rocket:coffee,chelsea:brick", "--rows", ";".join(rows), "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("| start, ratio |", 1)[1]
    assert "rocket × coffee | chelsea × brick |" in table and table.count("\n| ") == 4
    pictures = {p.name: load_image(p) for p in tmp_path.glob("*.png")}
    assert sorted(pictures) == sorted(f"{a}_x_{b}_{row.replace(' ', '_')}.png" for a, b in (("rocket", "coffee"),
                                      ("chelsea", "brick")) for row in rows)
    for pair in ("rocket_x_coffee", "chelsea_x_brick"):  # each row's setting reached its run
        plain, balanced = pictures[f"{pair}_noise_1e-3.png"], pictures[f"{pair}_noise_1e-3_balanced.png"]
        assert not torch.equal(plain, balanced) and not torch.equal(plain, pictures[f"{pair}_content_2e-3.png"])
        assert not torch.equal(balanced, pictures[f"{pair}_noise_1e-3_picture_relu3_2.png"])
    refused = subprocess.run([sys.executable, str(script), "--rows", "photo 1e-3"], capture_output=True, text=True)
    assert refused.returncode == 1 and "--rows: init must be one of" in refused.stderr and "Traceback" not in refused.stderr
    refused = subprocess.run([sys.executable, str(script), "--rows", "noise 1e-3 picture relu9_9"], capture_output=True, text=True)
    assert refused.returncode == 1 and "relu9_9" in refused.stderr and "Traceback" not in refused.stderr
