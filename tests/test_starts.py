"""Where a run starts: white noise in the source images' colours, plain noise, the photograph, the painting."""

import pytest
import torch

from nst_teach import NstTeachError
from nst_teach.color import in_colors_of
from nst_teach.starts import initial_image


def test_initial_images(photo, texture):
    shape = photo.shape
    assert torch.equal(initial_image("content", shape, content=photo), photo)
    assert initial_image("style", shape, style=texture).shape == shape
    uniform = initial_image("uniform", shape, seed=1)
    assert 0 <= uniform.min() and uniform.max() <= 1 and abs(uniform.std() - 12**-0.5) < 0.02
    assert torch.equal(initial_image("noise", shape, seed=1), uniform)  # without source images: plain noise
    recolored = initial_image("recolored", shape, content=photo, style=texture)
    assert torch.allclose(recolored, in_colors_of(photo, texture))
    for init, needs in (("style", "a style image"), ("content", "a content image"),
                        ("recolored", "a content and a style image")):
        with pytest.raises(NstTeachError, match=needs):
            initial_image(init, shape, style=texture if init == "recolored" else None)
    with pytest.raises(NstTeachError, match="init must be one of"):
        initial_image("zeros", shape)  # type: ignore[arg-type]


def test_noise_takes_the_colours_of_the_source_images(photo, texture):
    def colours(x):
        return x.mean((0, 2, 3)), x.std((0, 2, 3))

    dark = texture * 0.3  # a mean colour far from the uniform noise's 0.5
    noise = initial_image("noise", photo.shape, seed=1, style=dark)
    for ours, theirs in zip(colours(noise), colours(dark)):
        assert torch.allclose(ours, theirs, atol=0.02), (ours, theirs)
    assert not torch.equal(noise, initial_image("noise", photo.shape, seed=2, style=dark))  # new noise per seed
    both = initial_image("noise", photo.shape, seed=1, content=photo, style=dark)  # the colours of both, pooled
    pooled = torch.cat([photo.movedim(1, 0).flatten(1), dark.movedim(1, 0).flatten(1)], 1)
    assert torch.allclose(both.mean((0, 2, 3)), pooled.mean(1), atol=0.02)
