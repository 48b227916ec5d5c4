"""What the lessons share: quick mode, sizes and steps by device, the network, and the code a lesson shows."""

from nst_teach.classroom.lesson import lesson_config


def test_lesson_config_quick_and_full(monkeypatch):
    monkeypatch.setenv("NST_TEACH_DEVICE", "cpu")  # the CPU's full-mode size, even on a Mac or beside a GPU
    monkeypatch.setenv("NST_TEACH_QUICK", "1")
    cfg = lesson_config(quick_size=40, quick_steps=7)
    assert cfg.quick and cfg.size == 40 and cfg.steps == 7 and cfg.weights == "caffe"  # quick mode is trained too
    assert "QUICK" in cfg.describe() and "RANDOM" not in cfg.describe() and not cfg.random_weights
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "random")
    assert "RANDOM" in lesson_config().describe()
    monkeypatch.setenv("NST_TEACH_QUICK", "0")
    monkeypatch.setenv("NST_TEACH_WEIGHTS", "random")
    full = lesson_config(cpu_size=200)
    assert not full.quick and full.size == 200 and full.random_weights
