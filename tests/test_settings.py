"""Settings are checked when made: an unknown or impossible value is one error that names the field."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_teach import NstTeachError, Settings

_ANY = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**7), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=8), st.sampled_from(["lbfgs", "adam", "auto", "bfloat16", "bilinear", "nearest"]))
_FIELDS = ["optimizer", "steps", "lr", "history_size", "seed", "precision", "float32_tail", "channels_last",
           "cuda_graphs", "coarse_levels", "coarse_share", "resampling", "every"]


@pytest.mark.parametrize("bad", [{"resampling": "bicubic"}, {"optimizer": "sgd"}, {"precision": "float16"},
                                 {"coarse_share": 1.5}, {"steps": -1}, {"steps": 0}, {"history_size": 0},
                                 {"coarse_levels": -2}, {"coarse_levels": 9}, {"lr": 0.0}, {"lr": math.nan},
                                 {"every": 0}, {"steps": 10**9}, {"seed": -1}, {"channels_last": "yes"}])
def test_settings_refuse_unknown_or_impossible_values_by_name(bad):
    (name, value), = bad.items()
    with pytest.raises(NstTeachError, match=rf"^{name} must be .*got {value!r}"):
        Settings(**bad)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(name=st.sampled_from(_FIELDS), value=_ANY)
def test_any_value_is_accepted_or_refused_by_name(name, value):
    try:
        made = Settings(**{name: value})
    except NstTeachError as err:
        assert str(err).startswith(f"{name} must be"), str(err)
    else:
        assert getattr(made, name) == value or value != value  # kept as given (a NaN is never equal to itself)


def test_a_float_where_a_whole_number_belongs_is_refused():
    with pytest.raises(NstTeachError, match="coarse_levels must be a whole number"):
        Settings(coarse_levels=2.0)


def test_a_step_size_is_refused_with_an_optimizer_that_finds_its_own():
    with pytest.raises(NstTeachError, match="^lr must be given only with optimizer 'adam'"):
        Settings(lr=0.1)
    assert Settings(optimizer="adam", lr=0.1).lr == 0.1
