"""VGG19's layers by the paper's names: the architecture the paper file and the engine's encoder share."""

import pytest
from torch import nn

from nst_teach import LAYER_INDEX, LAYER_NAMES, LayerError, layer_shapes, layer_table
from nst_teach.vgg19 import deepest_layer, vgg19_layers


def test_names_map_to_torchvision_modules():
    from torchvision.models import vgg19  # in the test: the import takes seconds in each test worker

    features = vgg19(weights=None, init_weights=False).features
    assert len(LAYER_NAMES) == len(features) == 37
    assert LAYER_INDEX["conv4_2"] == 21 and LAYER_INDEX["conv5_1"] == 28
    for name, index in LAYER_INDEX.items():
        kind = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}[name[:4]]
        assert isinstance(features[index], kind), name
    assert features[LAYER_INDEX["conv3_1"]].out_channels == 256


def test_module_is_torchvisions_make_layers_module_for_module():
    from torchvision.models.vgg import cfgs, make_layers

    ours, theirs = vgg19_layers(), make_layers(cfgs["E"], batch_norm=False)
    assert [type(m) for m in ours] == [type(m) for m in theirs]
    # kernel sizes, padding, strides; our ReLUs keep their input (the losses read the conv outputs too)
    assert repr(ours) == repr(theirs).replace("ReLU(inplace=True)", "ReLU()")
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    assert isinstance(vgg19_layers("avg")[LAYER_INDEX["pool1"]], nn.AvgPool2d)


def test_deepest_layer_is_by_network_order_not_by_name():
    assert deepest_layer(["conv4_2", "relu4_1", "conv1_1"]) == "conv4_2"
    assert deepest_layer(["pool3", "conv3_4"]) == "pool3"
    with pytest.raises(LayerError, match="conv9_9"):
        deepest_layer(["conv1_1", "conv9_9"])


def test_layer_shapes_list_channels_and_sizes_and_the_table_shows_them():
    rows = {layer.name: layer for layer in layer_shapes(224, 224)}
    assert rows["conv1_1"].N_l == 64 and rows["conv1_1"].M_l == 224 * 224
    assert rows["conv4_2"].N_l == 512 and rows["conv4_2"].H_l == 28
    assert rows["pool5"].H_l == 7 and [layer.name for layer in rows.values()] == list(LAYER_NAMES)
    html = layer_table(224, 224).data
    assert "<td>relu4_2</td><td>22</td><td>512</td><td>28 × 28</td><td>784</td>" in html and "conv4_2" not in html
