"""The one symbol table of cnnviz: every letter the explanations, the computation view,
the CLI and the docs use, with its single meaning.

Index letters never double as tensor names, and seed 001's kernel offsets `m, n` keep
their meaning, so the example index of a mini-batch is `e` (softmax is written with
`exp`, never `e^`). `⋆` is cross-correlation (seed 001 eq. 1) and `*` true convolution
(eq. 2–3); a formula may only write `*` where the operation really is a convolution.
"""

from __future__ import annotations

from typing import Any

CROSS_CORRELATION = "⋆"
CONVOLUTION = "*"

# index letters and their one role (tests check each formula against these roles)
INDEX_ROLES: dict[str, str] = {
    "e": "example of the mini-batch (0 … N−1)",
    "c": "input channel of a layer; input unit of a dense layer",
    "k": "output channel (filter) of a conv layer; output unit of a dense or flatten "
         "layer; class of the loss",
    "k′": "another class, summed over in the softmax's normaliser",
    "i": "row of an output map",
    "j": "column of an output map",
    "i′": "row of an input map (what a backward step explains)",
    "j′": "column of an input map",
    "m": "row offset inside a kernel or pooling window (seed 001)",
    "n": "column offset inside a kernel or pooling window (seed 001)",
}

# tensors and scalars; the forward's `o` and `x` are seed 001's o^{l−1} and x^l
TENSORS: dict[str, str] = {
    "o": "activation: a layer's input, the previous layer's output (o = f(x))",
    "x": "what a layer computes from o: the pre-activation of a conv or dense layer",
    "w": "weights: conv [k, c, m, n], dense [k, c]; in an update rule, the parameter",
    "b": "bias [k] (never an optimizer buffer)",
    "δ": "∂E/∂(output of the step's layer): the delta coming back",
    "δ_in": "∂E/∂(input of the step's layer): the delta the step passes on",
    "δ↑S": "δ with S − 1 zeros inserted between its cells (stride S > 1)",
    "rot180(w)": "the kernel turned by 180°: rot180(w)[m, n] = w[k₁−1−m, k₂−1−n]",
    "z": "logits: the last layer's output under cross-entropy",
    "ŷ": "the last layer's output under mse",
    "p": "softmax probability, p[e,k] = exp(z[e,k]) / Σ_k′ exp(z[e,k′])",
    "t": "one-hot target, t[e,k] = 1 if k = y[e] else 0",
    "y": "class label of an example",
    "E": "the loss of the mini-batch (mean over its examples)",
    "ℓ": "the loss of one example",
    "f, f′": "an activation function and its derivative",
    "N": "examples in the mini-batch",
    "S, P": "stride and zero padding (the formulas show their numbers)",
    "k₁, k₂": "kernel or pooling window height and width",
    "H, W": "height and width of an input map",
}

# residual blocks, batch norm and dropout: their explanations and computation figures
BLOCK_SYMBOLS: dict[str, str] = {
    "o_in": "a residual block's input (an identity shortcut adds it unchanged)",
    "body, shortcut": "the outputs of a block's two branches: o = body + shortcut",
    "δ_body, δ_shortcut": "the δ the addition hands each branch (both equal δ)",
    "δ_in,body, δ_in,shortcut": "the input deltas the two branches send back; the block's "
                                "δ_in is their sum",
    "μ_B, σ²_B": "batch norm, training mode: mean and biased variance of a channel over the "
                 "batch",
    "running_mean, running_var": "batch norm: the running statistics (what eval mode "
                                 "normalises with)",
    "σ": "batch norm: √(σ²_B + ε) (eval mode: √(running_var + ε)), what the centred input "
         "is divided by; ε is the layer's eps",
    "x̂": "batch norm: the normalised input, (x − μ_B)/σ (eval mode: (x − running_mean)/σ)",
    "γ, β": "batch norm: scale and shift (its weight and bias)",
    "M": "batch norm: how many values of one channel the batch holds, N·H·W (N for "
         "batchnorm1d)",
    "mask": "dropout: 1 kept, 0 dropped, drawn from the network's seeded generator",
    "p_drop": "dropout: the probability of dropping a unit (the layer's field p)",
}

# update rules: every optimizer state variable by its symbol
OPTIMIZER_SYMBOLS: dict[str, str] = {
    "g": "the gradient an update uses, ∂E/∂w (+ λ·w with weight decay)",
    "η": "learning rate",
    "λ": "weight decay",
    "μ": "momentum factor",
    "τ": "dampening",
    "v": "SGD, RMSprop: momentum buffer (velocity); Adam: running mean of g²",
    "m": "Adam: running mean of g",
    "m̂, v̂": "Adam: m and v with their bias corrected, m/(1 − β₁ᵗ) and v/(1 − β₂ᵗ)",
    "v_max": "Adam with amsgrad: the largest v so far",
    "s": "RMSprop, Adadelta: running mean of g²",
    "ḡ": "centred RMSprop: running mean of g",
    "d": "RMSprop: the divisor √s + ε (√(s − ḡ²) + ε centred)",
    "G": "Adagrad: sum of g²",
    "u": "Adadelta: running mean of Δ²",
    "Δ": "Adadelta: the step before the rate",
    "t": "the parameter's update count (in a rule; elsewhere the target)",
    "α, ρ, β₁, β₂, ε": "the optimizer's decay rates and its small constant",
}

# optimizer state keys (torch names) → symbol, per optimizer
STATE_SYMBOLS: dict[str, dict[str, str]] = {
    "SGD": {"momentum_buffer": "v"},
    "RMSprop": {"step": "t", "square_avg": "s", "momentum_buffer": "v", "grad_avg": "ḡ"},
    "Adagrad": {"step": "t", "sum": "G"},
    "Adadelta": {"step": "t", "square_avg": "s", "acc_delta": "u"},
    "Adam": {"step": "t", "exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "v_max"},
}


def state_symbol(optimizer: str, key: str) -> str:
    """The symbol of an optimizer's state entry (its torch name if the table lacks it)."""
    return STATE_SYMBOLS.get(optimizer, {}).get(key, key)


def update_rule(opt: Any) -> list[str]:
    """The optimizer's update rule in this table's symbols, one assignment a line."""
    hp = opt.hyperparams
    g = "g = ∂E/∂w + λ·w" if hp.get("weight_decay", 0) else "g = ∂E/∂w"
    return [g, *_RULES[opt.name](hp)]


def _sgd(hp: dict) -> list[str]:
    """SGD, with (Nesterov) momentum."""
    if hp["momentum"] == 0:
        return ["w ← w − η·g"]
    damp = "" if hp["dampening"] == 0 else "(1 − τ)·"
    last = "w ← w − η·(g + μ·v)" if hp["nesterov"] else "w ← w − η·v"
    return [f"v ← μ·v + {damp}g   (first step: v ← g)", last]


def _rmsprop(hp: dict) -> list[str]:
    """RMSprop, centred or not, with or without momentum."""
    lines = ["s ← α·s + (1 − α)·g²"]
    if hp["centered"]:
        lines += ["ḡ ← α·ḡ + (1 − α)·g", "d = √(s − ḡ²) + ε"]
    else:
        lines += ["d = √s + ε"]
    return lines + (["v ← μ·v + g/d", "w ← w − η·v"] if hp["momentum"] > 0 else ["w ← w − η·g/d"])


def _adagrad(hp: dict) -> list[str]:
    """Adagrad."""
    return ["G ← G + g²", "w ← w − η/(1 + (t − 1)·lr_decay) · g/(√G + ε)"]


def _adadelta(hp: dict) -> list[str]:
    """Adadelta."""
    return ["s ← ρ·s + (1 − ρ)·g²", "Δ = √(u + ε)/√(s + ε) · g", "u ← ρ·u + (1 − ρ)·Δ²",
            "w ← w − η·Δ"]


def _adam(hp: dict) -> list[str]:
    """Adam (amsgrad: the largest v so far in the denominator)."""
    v = "v_max" if hp["amsgrad"] else "v"
    lines = ["m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²"]
    lines += ["v_max ← max(v_max, v)"] if hp["amsgrad"] else []
    return [*lines, f"m̂ = m/(1 − β₁ᵗ),  v̂ = {v}/(1 − β₂ᵗ)",
            f"w ← w − η/(1 − β₁ᵗ) · m/(√{v}/√(1 − β₂ᵗ) + ε)   (= w − η·m̂/(√v̂ + ε))"]


_RULES = {"SGD": _sgd, "RMSprop": _rmsprop, "Adagrad": _adagrad, "Adadelta": _adadelta,
          "Adam": _adam}

SEED_MAPPING = (
    "Seed 001 counts a layer l as a convolution and its activation together: "
    "x^l = Σ w^l·o^{l−1} + b^l (eq. 7), o^l = f(x^l) (eq. 8), δ^l = ∂E/∂x^l. "
    "cnnviz runs them as two steps: a conv step F_L computes x, the activation step "
    "F_{L+1} computes o = f(x). Backward, the seeds' eq. 16–22 go from δ^{l+1} to δ^l in "
    "one formula; cnnviz takes two steps: the conv step B_L gives δ_in = ∂E/∂o^l "
    "(eq. 20 without its last factor) and the activation step before it multiplies by "
    "f′(x^l). The seed form folds that f′ back in."
)


def table_rows() -> list[tuple[str, str]]:
    """(symbol, meaning) rows of the whole table, in the order the docs print them."""
    rows = [(s, m) for s, m in INDEX_ROLES.items()]
    rows += list(TENSORS.items()) + list(BLOCK_SYMBOLS.items())
    rows += list(OPTIMIZER_SYMBOLS.items())
    rows += [(CROSS_CORRELATION, "cross-correlation, (I ⋆ K)[i,j] = Σ_m Σ_n I[i+m, j+n]·K[m,n]"
              " (seed 001 eq. 1); what conv layers compute"),
             (CONVOLUTION, "true convolution, (I * K)[i,j] = Σ_m Σ_n I[i−m, j−n]·K[m,n]"
              " = I ⋆ rot180(K) with full padding (eq. 2–3)")]
    return rows


def markdown_table() -> str:
    """The symbol table as a Markdown table (docs/debugger.md prints it)."""
    lines = ["| symbol | meaning |", "|---|---|"]
    lines += [f"| `{s}` | {m} |" for s, m in table_rows()]
    return "\n".join(lines)
