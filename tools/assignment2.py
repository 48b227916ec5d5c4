"""Assignment 2's instructor notebook, written from this file: ``python tools/assignment2.py``.

Writes ``assignments/source/from_losses_to_pictures/from_losses_to_pictures.ipynb``; then
``make students`` makes the student version. A test checks that the committed notebook matches.
"""
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def md(text, **grade):
    c = new_markdown_cell(text.strip())
    if grade:
        c.metadata["nbgrader"] = {"grade": True, "grade_id": grade["id"], "locked": False, "points": 1,
                                  "schema_version": 3, "solution": True, "task": False}
    return c

def code(text, kind=None, gid=None):
    c = new_code_cell(text.strip())
    if kind == "solution":
        c.metadata["nbgrader"] = {"grade": False, "grade_id": gid, "locked": False, "schema_version": 3,
                                  "solution": True, "task": False}
    elif kind == "check":
        c.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": 1,
                                  "schema_version": 3, "solution": False, "task": False}
    return c

cells = [
    md(r"""
# Assignment 2 · From losses to pictures

Assignment 1 gave you the paper's losses. Here you turn them into pictures: you write the
optimisation loop yourself (L-BFGS with a closure, from white noise, as Gatys, Ecker & Bethge
do), synthesise textures with growing layer sets (CVPR 2016, Fig. 1, top row), work out why
α/β depends on the image size, and finish with a style transfer of a photograph of your own.

The checks after each exercise know the classic mistakes of this stage and name them: the
image not requiring a gradient, a learning-rate-style loop with L-BFGS, clamping that breaks
L-BFGS's line search, the targets recomputed every step, and forgetting average pooling. The
losses come from the package (`nt.style_layer_loss`, `nt.gram_matrix`): yours from
assignment 1 would do as well. Everything runs on the paper's own network on a laptop CPU.
"""),
    code(r"""
import torch

import nst_teach as nt
from nst_teach import loop_checks as checks
from nst_teach.checks import passed, summary
from nst_teach.data import paper_image
"""),
    md(r"""
## 1 · The encoder for synthesis

Return the paper's trained VGG19 (`nt.load_vgg19_features`) set up for image synthesis
(CVPR 2016, Sec. 2: which pooling?).
"""),
    code(r"""
def make_encoder():
    ### BEGIN SOLUTION
    return nt.load_vgg19_features(pooling="avg")
    ### END SOLUTION
""", "solution", "make_encoder"),
    code(r"""
checks.check_make_encoder(make_encoder)
### BEGIN HIDDEN TESTS
assert checks.check_make_encoder(make_encoder)
### END HIDDEN TESTS
""", "check", "check_make_encoder"),
    md(r"""
## 2 · The loop: L-BFGS with a closure

Write `synthesize(loss_fn, x0, steps)`: minimise `loss_fn(x)` over the pixels of an image that
starts as `x0`, with `torch.optim.LBFGS`, using at most `steps` evaluations of the loss, and
return the image with its values in [0, 1].

* The optimiser changes a tensor that requires a gradient: make `x` from `x0` accordingly.
* L-BFGS calls a *closure* several times per step (its line search): the closure clears the
  gradients, computes the loss, calls `backward()` and returns the loss. There is no learning
  rate to tune: let the line search choose the step (`line_search_fn="strong_wolfe"`).
* A step here is one evaluation: see `max_iter` and `max_eval`.
* The pixels should end in [0, 1]. Where do you clamp them, and why not anywhere else?
"""),
    code(r"""
def synthesize(loss_fn, x0, steps):
    ### BEGIN SOLUTION
    x = x0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], max_iter=steps, max_eval=steps, history_size=50, tolerance_grad=0.0,
                                  tolerance_change=0.0, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    optimizer.step(closure)
    return x.detach().clamp(0, 1)
    ### END SOLUTION
""", "solution", "synthesize"),
    code(r"""
checks.check_synthesize(synthesize)
### BEGIN HIDDEN TESTS
assert checks.check_synthesize(synthesize)
### END HIDDEN TESTS
""", "check", "check_synthesize"),
    md(r"""
## 3 · The texture loss, with its targets computed once

Write `texture_loss(encoder, style, layers)`. It returns a function `loss_fn(x)` with
$\mathcal{L}_{style} = \sum_l w_l E_l$, $w_l = 1/L$ over the $L$ given layers (Eq. 4, 5).
The style's Gram matrices $A_l$ do not change during the optimisation.
"""),
    code(r"""
def texture_loss(encoder, style, layers):
    ### BEGIN SOLUTION
    with torch.no_grad():
        A = {l: nt.gram_matrix(F) for l, F in encoder(style, layers).items()}

    def loss_fn(x):
        F = encoder(x, layers)
        return sum(nt.style_layer_loss(F[l], A[l]) for l in layers) / len(layers)
    return loss_fn
    ### END SOLUTION
""", "solution", "texture_loss"),
    code(r"""
checks.check_texture_loss(texture_loss)
### BEGIN HIDDEN TESTS
assert checks.check_texture_loss(texture_loss)
### END HIDDEN TESTS
"""  , "check", "check_texture_loss"),
    md(r"""
## 4 · Textures with growing layer sets (Fig. 1, top row)

Your loop and your loss, from white noise in the painting's colours: layers up to `relu1_1`,
then up to `relu2_1`, and so on. (About half a minute on a laptop CPU.)
"""),
    code(r"""
if passed("make_encoder", "synthesize", "texture_loss"):
    encoder = make_encoder()
    source = paper_image("starry_night", 96).image
    x0 = nt.engine.initial_image("noise", source.shape, style=source)
    tops = list(nt.STYLE_LAYERS)
    textures = [synthesize(texture_loss(encoder, source, tops[:k]), x0, 40) for k in range(1, 6)]
    fig = nt.show_images([source, *textures], ["original", *[f"up to {t}" for t in tops]],
                         suptitle="Fig. 1, top row: your textures")
else:
    print("Finish exercises 1 to 3 first: these textures are made by your functions.")
"""),
    md(r"""
## 5 · α/β and the image size

The cell makes the same style transfer at two sizes with the **same** α, and at the small size
once more with `nt.alpha_for_size`, each from white noise (from the default start, the photograph
in the painting's colours, the photograph would stay in every picture for a while whatever α
says). Look at the pictures, then answer below: why does the same α keep less of the photograph
in the smaller image? Which term of Eq. 7 changes with the size,
and which does not (lesson 3: why $1/(4N_l^2M_l^2)$)?
"""),
    code(r"""
content, style = paper_image("tubingen", 192).image, paper_image("starry_night", 192).image
small = [nt.resize(im, 96) for im in (content, style)]
alpha = nt.alpha_for_size(nt.DEFAULT_RATIO, content.shape[-2:])
runs = [(content, style, alpha), (*small, alpha), (*small, nt.alpha_for_size(nt.DEFAULT_RATIO, small[0].shape[-2:]))]
net = nt.load_vgg19_features(pooling="avg")
pictures = [nt.style_transfer(net, c, s, nt.Settings(steps=80), alpha=a, init="noise").image  # the paper's start
            for c, s, a in runs]
fig = nt.show_images(pictures, [f"{c.shape[-1]} px, alpha {a:.2g}" for c, _, a in runs])
"""),
    md(r"""
### BEGIN SOLUTION
The content loss (Eq. 1) sums squared differences over all $N_l M_l$ entries of $F^l$, so it
grows with the number of positions: at half the side it is about a quarter as large. Each
$E_l$ (Eq. 4) divides by $M_l^2$, which cancels the growth of the Gram matrices with $M_l$, so
the style loss does not depend on the size. With the same α the smaller image's content term
weighs four times less against the style, and the photograph fades; scaling α with
$1/(HW)$ (`nt.alpha_for_size`) restores the balance.
### END SOLUTION
""", id="answer_alpha_and_size"),
    md(r"""
## 6 · Your own picture

Put a photograph of your own next to this notebook and set `MY_PHOTO` to its file name (until
then, the cell uses Chelsea the cat, which scikit-image ships). Choose a painting from the
catalogue (`nst_teach.data.CATALOGUE`) or a file, and a ratio. Then answer below: what did you
choose, what did you change after the first try, and why?
"""),
    code(r"""
MY_PHOTO = None  # e.g. "my_photo.jpg"
MY_STYLE = "the_scream"  # a catalogue name or a file
RATIO = nt.DEFAULT_RATIO  # alpha/beta as at 512 x 512

photo = nt.load_image(MY_PHOTO, 160) if MY_PHOTO else paper_image("chelsea", 160).image
painting = paper_image(MY_STYLE, 160).image if MY_STYLE in nt.data.CATALOGUE else nt.load_image(MY_STYLE, 160)
mine = nt.style_transfer(net, photo, painting, nt.Settings(steps=80), alpha=nt.alpha_for_size(RATIO, photo.shape[-2:]))
fig = nt.show_images([photo, painting, mine.image], ["photo", "style", "yours"])
"""),
    md(r"""
### BEGIN SOLUTION
(A model answer names the photograph and the painting, what the first result showed (for
example: the houses were lost, so the ratio went up tenfold; or the style's strokes were too
small, so the style image was used at a larger scale with `keep_style_scale`), and why the
change follows from Eq. 7 or from the layers the style is matched on.)
### END SOLUTION
""", id="answer_own_picture"),
    md("## Summary"),
    code("summary();"),
]
nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
for i, cell in enumerate(nb.cells):
    cell["id"] = f"cell-{i:02d}"
TARGET = Path(__file__).resolve().parent.parent / "assignments" / "source" / "from_losses_to_pictures"
nbformat.write(nb, Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET / "from_losses_to_pictures.ipynb")
