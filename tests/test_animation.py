"""Watching a picture form: an animated GIF of a run."""

from PIL import Image

import nst_teach as nt


def test_the_animation_has_a_frame_every_k_steps_and_the_result_last(encoder, photo, painting, tmp_path):
    frames = nt.Animation(every=2)
    result = nt.style_transfer(encoder, photo, painting, nt.Settings(steps=8, every=1), callback=frames)
    path = frames.save(tmp_path / "run.gif", result)
    gif = Image.open(path)
    assert len(frames.frames) == 8 // 2  # steps 2, 4, 6, 8; the result is added last (Pillow merges it
    assert gif.n_frames in (4, 5) and gif.size == (photo.shape[-1], photo.shape[-2])  # with an equal frame)
    assert [p.name for p in tmp_path.iterdir()] == ["run.gif"]  # written whole: no temporary file left
