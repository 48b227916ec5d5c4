"""The default picture in Python: ``style_transfer(..., nt.PICTURE, **nt.PICTURE_OBJECTIVE)`` is the objective the README
names (tests/test_cli.py checks that the command line passes the same keywords)."""

import pytest
import torch

import nst_teach as nt


def _start(encoder, photo, painting, **objective) -> dict:
    """The losses of a one-step run at full size: the start's, weighted as ``objective`` says."""
    settings = nt.Settings(steps=1, coarse_levels=0, precision="float32")
    return nt.style_transfer(encoder, photo, painting, settings, **objective).history[0]


def test_the_picture_objective_is_conv3_2_the_halving_shares_and_its_ratio(encoder, photo, painting):
    assert dict(nt.PICTURE_STYLE_SHARES) == {"relu1_1": 16, "relu2_1": 8, "relu3_1": 4, "relu4_1": 2, "relu5_1": 1}
    with pytest.raises(TypeError):  # the shares cannot be changed under the command line's feet
        nt.PICTURE_STYLE_SHARES["relu1_1"] = 1.0  # type: ignore[index]
    torch.manual_seed(0)
    picture = _start(encoder, photo, painting, **nt.PICTURE_OBJECTIVE)
    torch.manual_seed(0)
    spelled_out = _start(encoder, photo, painting, content_layers=["relu3_2"], style_layers=nt.PICTURE_STYLE_SHARES,
                         balance=True, ratio=5e-4)
    assert picture == pytest.approx(spelled_out, rel=1e-6)
    torch.manual_seed(0)
    balanced_alone = _start(encoder, photo, painting, content_layers=["relu3_2"], style_layers=nt.PICTURE_STYLE_SHARES,
                            balance=True)  # BALANCED_RATIO: 4 x the content weight of the picture's ratio
    assert (balanced_alone["content"], balanced_alone["style"]) == pytest.approx((picture["content"], picture["style"]))
    weighted = [run["total"] - run["style"] for run in (picture, balanced_alone)]  # alpha times the content loss
    assert weighted[1] == pytest.approx(4 * weighted[0], rel=1e-4)
