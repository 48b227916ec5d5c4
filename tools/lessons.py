"""The lesson notebooks' source. ``python tools/lessons.py`` writes ``notebooks/0*.ipynb``.

Cells are plain strings here so that reviews read as Python diffs; the
notebooks are written without outputs, kernelspec ``python3``. A test checks
that the committed notebooks match this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
SETUP = """\
import nst_teach as nt
from nst_teach.data import paper_image
from nst_teach.lesson import lesson_config
from nst_teach.live import LiveView

cfg = lesson_config({budget})
print(cfg.describe())"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


TOUR = [
    md("""
# 1 · A tour of VGG19

Gatys, Ecker & Bethge build everything on the 16 convolutional and 5 pooling layers of
VGG19 (Simonyan & Zisserman 2015), a network trained to recognise objects. They never
train anything themselves: the network is a fixed *feature space*, and pictures are made
by changing pixels until their features match (CVPR 2016, Sec. 2).

In this lesson you meet the layers by the paper's names (`conv1_1` … `conv5_4`), see what
they respond to, and find out why the paper swaps max pooling for average pooling.
"""),
    code(SETUP.format(budget="quick_size=96, cpu_size=224, gpu_size=512")),
    md("""
## The layers, by the paper's names

Each block ends with a pooling layer that halves the map. A layer *l* has $N_l$ filters and
$M_l = H_l W_l$ positions; its response is the matrix $F^l \\in \\mathbb{R}^{N_l \\times M_l}$
(CVPR 2016, Sec. 2.1). The table is for an image of `cfg.size` pixels.
"""),
    code("""
from IPython.display import HTML

rows = [r for r in nt.layer_table(cfg.size, cfg.size) if r["kind"] != "relu"]
HTML("<table><tr><th>layer</th><th>features[i]</th><th>N_l</th><th>H_l × W_l</th><th>M_l</th></tr>"
     + "".join(f"<tr><td>{r['name']}</td><td>{r['index']}</td><td>{r['N_l']}</td>"
               f"<td>{r['H_l']} × {r['W_l']}</td><td>{r['M_l']}</td></tr>" for r in rows) + "</table>")
"""),
    md("""
`conv4_2`, the paper's content layer, is `features[21]` in torchvision; `conv5_1` is
`features[28]`. In code you never need the numbers: ask for layers by name.
"""),
    code("""
photo = paper_image("tubingen", cfg.size)
print(photo.credit)
encoder = cfg.encoder(pooling="max")
F = encoder(photo.image, ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"])
{name: tuple(f.shape) for name, f in F.items()}
"""),
    md("""
## What the layers see: feature maps per layer

Each row shows the first feature maps of one layer. Low layers respond to edges and
colours at full resolution; higher layers to larger, more abstract patterns on coarser
grids. This is the "per-layer" view behind Fig. 1 of the paper.
"""),
    code("""
fig = nt.images.show_feature_maps(F, channels=6, random_weights=encoder.is_random)
"""),
    md("""
## Why average pooling?

The paper: "For image synthesis we found that replacing the maximum pooling operation by
average pooling yields slightly more appealing results" (CVPR 2016, Sec. 2). One reason is
the gradient. Max pooling passes the gradient to one pixel in each 2×2 window and none to
the other three, so the image receives a sparse, blocky signal; average pooling spreads it
over all four. Measure it: the share of pixels that get any gradient from `conv5_1`.
"""),
    code("""
import torch

for pooling in ("max", "avg"):
    net = cfg.encoder(pooling=pooling)
    x = photo.image.clone().requires_grad_(True)
    net(x, ["conv5_1"])["conv5_1"][..., 2:3, 2:3].sum().backward()  # one position deep in the net
    share = (x.grad.abs() > 1e-12).float().mean().item()
    print(f"{pooling} pooling: {share:6.1%} of the pixels get a gradient, "
          f"gradient spread (std/mean of |grad|) {(x.grad.abs().std() / x.grad.abs().mean()).item():.1f}")
"""),
    md("""
## Questions

1. Which layer has the most positions $M_l$, and which the most filters $N_l$? What does
   that mean for the cost of a Gram matrix $N_l \\times N_l$ at each layer?
2. Why does the share of pixels with a gradient fall with max pooling, and what would that
   do to an image optimised by gradient descent?
3. Look at the feature maps again: which layer would you trust to keep the *arrangement*
   of a scene, and which only its *textures*?
"""),
]

RECONSTRUCTION = [
    md("""
# 2 · Content reconstruction

How much of a photograph does a layer of VGG19 keep? Gatys et al. answer by *inverting*
the layer: start from white noise and change the pixels until their features at that layer
match the photograph's (CVPR 2016, Sec. 2.1; Mahendran & Vedaldi 2015). The bottom row of
**Fig. 1** shows reconstructions from `conv1_2`, `conv2_2`, `conv3_2`, `conv4_2` and
`conv5_2`: the low layers give the photo back almost exactly; the high layers keep the
objects and their arrangement but lose the exact pixels.
"""),
    code(SETUP.format(budget="quick_size=64, quick_steps=40, cpu_size=256, cpu_steps=200")),
    md("""
## The content loss (Eq. 1)

With $P^l$ the photo's features and $F^l$ those of the image $\\vec x$ being generated:

$$\\mathcal{L}_{content}(\\vec p, \\vec x, l) = \\tfrac12 \\sum_{i,j} (F^l_{ij} - P^l_{ij})^2,
\\qquad \\frac{\\partial \\mathcal{L}}{\\partial F^l_{ij}} = (F^l - P^l)_{ij} \\text{ where } F^l_{ij} > 0
\\text{ (Eq. 2)}.$$

The package implements it in one line; autograd carries the gradient back to the pixels.
"""),
    code("""
import inspect

print(inspect.getsource(nt.content_loss))
"""),
    md("""
## Reconstruct from five layers at once

The five reconstructions are independent, so they run as one batch of five images: image
*b* is compared with the photo only at its own layer. The optimiser is L-BFGS, as in the
paper ("L-BFGS, which we found to work best for image synthesis"): a quasi-Newton method
that estimates the curvature of the loss from its last steps, so it needs no learning rate
and converges in far fewer steps than plain gradient descent. Ours is *projected*: a pixel
that sits at 0 or 1 and whose gradient pushes it further out is frozen for that step, and
every step is clipped back into [0, 1], so the picture is always a valid image
(`optimizer="lbfgsb"` runs SciPy's L-BFGS-B instead, for comparison). It starts from white
noise, as in the paper, drawn in the photo's colours: each channel has the photo's mean and
spread, so besides the features only six numbers of the photo leak in, and nothing about
where anything is (`init="uniform"` starts from plain noise in [0, 1] instead). On
larger images the engine first solves the problem at a quarter and at half the size and
upsamples each solution as the next start (*coarse-to-fine*); the dotted lines in the loss
plot mark those switches. The live view shows the five images and the loss as they change.
"""),
    code("""
photo = paper_image("tubingen", cfg.size)
print(photo.credit)
layers = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]
encoder = cfg.encoder(pooling="avg")

view = LiveView("content reconstruction", random_weights=encoder.is_random, labels=layers)
result = view.finish(nt.reconstruct_content(encoder, photo.image, layers, cfg.settings(every=5), callback=view))
"""),
    code("""
import math

def psnr(x, y):
    return 10 * math.log10(1 / ((x - y) ** 2).mean().item())

titles = ["photograph"] + [f"{l}\\nPSNR {psnr(result.image[b], photo.image[0]):.1f} dB" for b, l in enumerate(layers)]
fig = nt.show_images([photo.image, *result.image.split(1)], titles,
                     suptitle=f"Fig. 1 (bottom row) · {cfg.describe()}", random_weights=encoder.is_random)
"""),
    md("""
With ImageNet weights, expect the first three nearly perfect and `conv4_2`, `conv5_2`
blurred and "painterly": the network keeps *what* is where, not the exact pixels. (With
random weights, the low layers still invert almost exactly; random filters keep a great
deal of information, which is itself a lesson.)

## Questions

1. What is lost at each depth, and why? Think of the pooling layers and of what the
   network was trained to ignore.
2. The paper takes `conv4_2` as *the* content layer for style transfer. What would go
   wrong with `conv1_2`? With `conv5_2`?
3. Change `layers` to the `relu*_1` layers, or start from the content image
   (`init="content"`). What changes, and why?
"""),
]

TEXTURE = [
    md("""
# 3 · Texture synthesis from noise

Before style transfer came texture synthesis (Gatys, Ecker & Bethge, NeurIPS 2015). A
texture is described by *which features occur together*, not *where*: the Gram matrices of
the feature maps. Matching them from white noise produces new images of the same texture.
The top row of **Fig. 1** (CVPR 2016) shows style reconstructions from growing sets of
layers: `conv1_1`, then `conv1_1`–`conv2_1`, and so on up to `conv5_1`.
"""),
    code(SETUP.format(budget="quick_size=64, quick_steps=30, cpu_size=192, cpu_steps=200")),
    md("""
## The Gram matrix and the style loss (Eq. 3–5)

$$G^l_{ij} = \\sum_k F^l_{ik} F^l_{jk}, \\qquad
E_l = \\frac{1}{4 N_l^2 M_l^2} \\sum_{i,j} (G^l_{ij} - A^l_{ij})^2, \\qquad
\\mathcal{L}_{style}(\\vec a, \\vec x) = \\sum_l w_l E_l$$

$A^l$ is the style image's Gram matrix; $w_l$ weighs the layers (the paper: $1/5$ each for
five layers, zero elsewhere). The sum over positions $k$ throws away *where* a feature
fired: that is what makes it a texture statistic.
"""),
    code("""
import inspect

print(inspect.getsource(nt.gram_matrix))
print(inspect.getsource(nt.style_layer_loss))
"""),
    md("""
### The gradient the paper writes down (Eq. 6)

$$\\frac{\\partial E_l}{\\partial F^l_{ij}} = \\frac{1}{N_l^2 M_l^2}
\\left((F^l)^\\top (G^l - A^l)\\right)_{ji}$$

(The paper adds "if $F^l_{ij} > 0$, else 0": its $F^l$ is the rectified response. Here
`conv1_1` is the convolution's output and that mask belongs to the ReLU.) `gram_matrix`
hands autograd a backward of this shape. Because $G = F F^\\top$ is symmetric, the
gradient of anything through $G$ is $(\\partial L/\\partial G + \\partial L/\\partial G^\\top) F$:
one matrix product, where autograd, seeing two factors, would do two and add them. That
is 14 % of a style-transfer step on a CPU (README "Speed"). The cell checks autograd
against Eq. 6.
"""),
    code("""
import torch

F = torch.randn(1, 8, 6, 5, requires_grad=True)  # N_l = 8 filters, M_l = 6 x 5 = 30 positions
A = nt.gram_matrix(torch.randn(1, 8, 6, 5))
(grad,) = torch.autograd.grad(nt.style_layer_loss(F, A), F)
N, M = 8, 30
G = nt.gram_matrix(F.detach())
eq6 = (F.detach().reshape(N, M).T @ (G - A)[0]).T / (N**2 * M**2)
assert torch.allclose(grad.reshape(N, M), eq6, atol=1e-6)
print("autograd's gradient equals Eq. 6")
print(inspect.getsource(nt.losses._Gram))
"""),
    md("""
## Growing layer sets, as one batch

Image *k* of the batch matches the Gram matrices of `conv1_1` … `convk_1`, each with weight
$1/k$. Per-image weights let one optimisation run all five. When the image's short side is
192 px or more, the engine spends the first half of the steps at half size and enlarges
the result as the start at full size (*coarse-to-fine*, lesson 4; the dotted line in the
loss plot). For a texture it shrinks and enlarges by nearest neighbour, which keeps the
spread of the pixel values and the sharp edges that `conv1_1`'s Gram matrix measures;
bilinear resizing, right for a photograph's layout, would blur them.

The start is white noise in the texture's colours: every pixel is drawn on its own, with
each channel's mean and spread taken from the source image. The Gram matrices are not
centred, so the mean colour enters every entry of $G^l$, and a plain uniform start in
[0, 1] is furthest off there (`init="uniform"`: question 4).
"""),
    code("""
import torch

tops = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
w = {layer: torch.tensor([1 / (k + 1) if k >= i else 0.0 for k in range(5)]) for i, layer in enumerate(tops)}
labels = [f"up to {t}" for t in tops]
encoder = cfg.encoder(pooling="avg")
view = LiveView("texture synthesis", random_weights=encoder.is_random, labels=labels)

results = {}
for name in ("gravel", "starry_night"):
    source = paper_image(name, cfg.size)
    print(source.credit)
    view.restart(f"texture: {name}", labels)
    batch = source.image.expand(5, -1, -1, -1)
    results[name] = view.finish(nt.synthesize_texture(encoder, batch, w, cfg.settings(every=5), callback=view))
    fig = nt.show_images([source.image, *results[name].image.split(1)], ["original", *labels],
                         suptitle=f"Fig. 1 (top row) style: {name}", random_weights=encoder.is_random)
"""),
    md("""
Low layers alone reproduce colours and fine grain; adding higher layers brings larger
structures (CVPR 2016, Fig. 1; NeurIPS 2015, Fig. 2).

## Trained network or random filters?

Is it the *training* that makes these features good texture statistics? Compare the same
synthesis with random weights. (In quick mode both networks are random, so the pictures
cannot show the difference: run this lesson in full mode for the real comparison.)
"""),
    code("""
source = paper_image("brick", cfg.size)
settings = cfg.settings(every=10)
pairs = []
for weights in (cfg.weights, "random"):
    net = cfg.encoder(pooling="avg", weights=weights)
    view.restart(f"brick, {weights} weights")
    pairs.append((weights, view.finish(nt.synthesize_texture(net, source.image, tops, settings, callback=view))))
fig = nt.show_images([source.image] + [r.image for _, r in pairs], ["brick"] + [f"{w} weights" for w, _ in pairs],
                     random_weights=True)
"""),
    md("""
## Average or max pooling?

The paper synthesises with average pooling (lesson 1 showed why the gradient is denser).
Here is the same texture with max pooling.
"""),
    code("""
outcomes = []
for pooling in ("avg", "max"):
    net = cfg.encoder(pooling=pooling)
    view.restart(f"brick, {pooling} pooling")
    outcomes.append(view.finish(nt.synthesize_texture(net, source.image, tops, settings, callback=view)))
fig = nt.show_images([source.image, *[r.image for r in outcomes]], ["brick", "avg pooling", "max pooling"],
                     random_weights=net.is_random)
for pooling, r in zip(("avg", "max"), outcomes):
    print(f"{pooling}: final style loss {r.losses['style']:.3g} after {r.steps} steps")
"""),
    md("""
## Questions

1. Which layer set gives the most convincing gravel? Where do larger structures appear?
2. The Gram matrix is $N_l \\times N_l$, independent of the image size. What does that
   allow you to do with the output size (`size=` in `synthesize_texture`)?
3. Random filters already give texture-like images. What, then, does training add?
4. Run one texture from `init="uniform"` and one from the default start, with the same
   steps, and compare `result.history[0]` and the final losses. Why does a wrong mean colour
   raise every $E_l$? (Write $F^l = \bar F^l + \tilde F^l$, its mean over positions plus the
   rest, and expand $G^l$.)
"""),
]

TRANSFER = [
    md("""
# 4 · Style transfer

Content from one image, style from another: minimise both losses at once (CVPR 2016,
Eq. 7),

$$\\mathcal{L}_{total}(\\vec p, \\vec a, \\vec x) = \\alpha\\,\\mathcal{L}_{content}(\\vec p, \\vec x)
+ \\beta\\,\\mathcal{L}_{style}(\\vec a, \\vec x),$$

with content at `conv4_2` and style at `conv1_1`, `conv2_1`, `conv3_1`, `conv4_1`, `conv5_1`
($w_l = 1/5$). Only the ratio $\\alpha/\\beta$ matters for the picture; the paper uses
$10^{-3}$ for Fig. 2 and sweeps $10^{-5} … 10^{-2}$ in Fig. 3.
"""),
    code(SETUP.format(budget="quick_size=48, quick_steps=15, cpu_size=192, cpu_steps=150")),
    md("""
## The gallery of Fig. 2

The Neckarfront in Tübingen (photograph by Andreas Praefcke, CC BY 3.0) in the styles of
*The Shipwreck of the Minotaur* (J. M. W. Turner, 1805), *The Starry Night* (Vincent van
Gogh, 1889), *The Scream* (Edvard Munch, 1893) and *Composition VII* (Wassily Kandinsky,
1913). The style image is resized to the content's size, as in the paper.
"""),
    code("""
content = paper_image("tubingen", cfg.size)
print(content.credit)
encoder = cfg.encoder(pooling="avg")
view = LiveView("style transfer", random_weights=encoder.is_random)
gallery, titles = [content.image], ["content"]
for name in ("shipwreck", "starry_night", "the_scream", "composition_vii"):
    style = paper_image(name, cfg.size)
    print(style.credit)
    view.restart(f"Fig. 2: {name}")
    result = view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                           alpha=1e-3, beta=1.0, callback=view))
    gallery.append(result.image)
    titles.append(name)
fig = nt.show_images(gallery, titles, suptitle="Fig. 2 · alpha/beta = 1e-3", random_weights=encoder.is_random)
"""),
    md("""
## The grid of Fig. 3: style layers × α/β

Rows: style matched on layers up to `conv1_1`, `conv2_1`, `conv3_1`, `conv4_1`, `conv5_1`
(weights $1/k$). Columns: $\\alpha/\\beta = 10^{-5}, 10^{-4}, 10^{-3}, 10^{-2}$. Higher
layers give smoother, larger-scale style; a larger ratio keeps more of the photograph.
The paper's style image here is *Composition VII*.
"""),
    code("""
style = paper_image("composition_vii", cfg.size)
tops = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
ratios = [1e-5, 1e-4, 1e-3, 1e-2]
grid, grid_titles = [], []
for k, top in enumerate(tops, start=1):
    for ratio in ratios:
        view.restart(f"Fig. 3: up to {top}, alpha/beta = {ratio:g}")
        r = nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5), alpha=ratio, beta=1.0,
                              style_layers=tops[:k], callback=view)
        grid.append(view.finish(r).image)
        grid_titles.append(f"up to {top} · {ratio:g}")
fig = nt.show_images(grid, grid_titles, ncols=4, width=2.4, suptitle="Fig. 3", random_weights=encoder.is_random)
"""),
    md("""
## Where to start: noise, the photograph, or the painting?

The paper starts from white noise, which gives a new image each seed; starting from the
content or the style image biases the result towards it (CVPR 2016, Fig. 6). The engine's
noise has the colours of the two images (`init="noise"`, the default); `init="uniform"` is
plain noise in [0, 1], which needs more steps to reach the same loss.
"""),
    code("""
style = paper_image("starry_night", cfg.size)
starts = []
inits = ("noise", "uniform", "content", "style")
for init in inits:
    view.restart(f"init = {init}")
    starts.append(view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                                init=init, callback=view)))
fig = nt.show_images([r.image for r in starts], [f"from {init}" for init in inits],
                     random_weights=encoder.is_random)
for init, r in zip(inits, starts):
    print(f"{init:8s} total loss {r.losses['total']:.3g}")
"""),
    md("""
## Coarse to fine

A large image from white noise needs many steps before its large-scale structure settles.
Gatys et al. (*Controlling Perceptual Factors in Neural Style Transfer*, CVPR 2017) first
solve a smaller version of the problem — the photograph and the painting shrunk by the same
factor — and upsample the result as the start at full size. A step at half size costs a
quarter as much. Below, the same number of steps with and without one coarse level; the
losses are evaluated at full size.
"""),
    code("""
runs = {}
for levels in (0, 1):
    view.restart(f"coarse levels = {levels}")
    runs[levels] = view.finish(nt.style_transfer(encoder, content.image, style.image,
                                                 cfg.settings(every=5, coarse_levels=levels), callback=view))
fig = nt.show_images([r.image for r in runs.values()], ["full size only", "half size first"],
                     random_weights=encoder.is_random)
for levels, r in runs.items():
    print(f"coarse levels {levels}: final loss {r.losses['total']:.3g} in {r.seconds:.1f} s")
"""),
    md("""
## Try it yourself

Choose or upload a content and a style image, set $\\log_{10}(\\alpha/\\beta)$, the layers,
the size and the steps, then **Run**. The image and the loss plot update while it runs;
**Stop** ends the run and keeps the best image so far.
"""),
    code("""
from nst_teach.panel import TransferPanel

panel = TransferPanel(cfg)
panel
"""),
    md("""
## Questions

1. Which α/β would you choose for *The Scream*, and why might the best ratio depend on the
   painting?
2. In the Fig. 3 grid, what changes down a column? Along a row?
3. Why does the paper prefer L-BFGS over Adam here? Try `cfg.settings(optimizer="adam")`.
4. Coarse-to-fine starts the full-size image from an upsampled, blurry solution. Which loss
   term jumps at the switch (the dotted line), and why?
"""),
]

LESSONS = {
    "01_vgg19_tour.ipynb": TOUR,
    "02_content_reconstruction.ipynb": RECONSTRUCTION,
    "03_texture_synthesis.ipynb": TEXTURE,
    "04_style_transfer.ipynb": TRANSFER,
}


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def write(folder: Path = ROOT / "notebooks") -> list[Path]:
    paths = []
    for name, cells in LESSONS.items():
        path = folder / name
        nbformat.write(notebook(cells), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "notebooks"):
        print("wrote", p)
