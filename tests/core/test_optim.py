"""Optimizers: hand-derived updates, every option, dtypes, state round trips, torch parity."""

import json
import math

import numpy as np
import pytest

from cnnviz.core.optim import (
    OPTIMIZER_NAMES,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    RMSprop,
    make_optimizer,
    optimizer_from_state,
)

G1, G2, G3 = 0.5, 0.25, -1.0  # the gradient of the first weight at steps 1, 2, 3


def run(opt, grads, w0=1.0):
    """Step `opt` on a one-weight parameter through `grads`; the weight after each step."""
    params = {"0.weight": np.array([w0])}
    out = []
    for g in grads:
        opt.step(params, {"0.weight": np.array([g])})
        out.append(float(params["0.weight"][0]))
    return out


def close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


# -- defaults -------------------------------------------------------------------------


def test_defaults_are_torch_defaults():
    assert SGD().hyperparams == {
        "lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False
    }
    assert RMSprop().hyperparams == {
        "lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
        "centered": False,
    }
    assert Adagrad().hyperparams == {
        "lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    }
    assert Adadelta().hyperparams == {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}
    assert Adam().hyperparams == {
        "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False
    }


# -- SGD ------------------------------------------------------------------------------


def test_sgd_plain():
    close(run(SGD(lr=0.1), [G1, G2]), [1 - 0.1 * 0.5, 0.95 - 0.1 * 0.25])


def test_sgd_momentum_first_step_is_the_gradient_without_dampening():
    # b1 = g1 = 0.5 (dampening ignored); b2 = 0.9·0.5 + 0.5·0.25 = 0.575; b3 = 0.9·0.575 − 0.5
    opt = SGD(lr=0.1, momentum=0.9, dampening=0.5)
    close(run(opt, [G1, G2, G3]), [0.95, 0.95 - 0.0575, 0.8925 - 0.1 * 0.0175])


def test_sgd_nesterov():
    # b1 = 0.5, step 0.5 + 0.9·0.5 = 0.95; b2 = 0.7, step 0.25 + 0.9·0.7 = 0.88
    close(run(SGD(lr=0.1, momentum=0.9, nesterov=True), [G1, G2]), [0.905, 0.905 - 0.088])


def test_sgd_weight_decay():
    # g1' = 0.5 + 0.1·1 = 0.6 → 0.94; g2' = 0.25 + 0.1·0.94 = 0.344 → 0.9056
    close(run(SGD(lr=0.1, weight_decay=0.1), [G1, G2]), [0.94, 0.9056])


@pytest.mark.parametrize("kw", [{"momentum": 0}, {"momentum": 0.9, "dampening": 0.1}])
def test_nesterov_needs_momentum_and_no_dampening(kw):
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(nesterov=True, **kw)


# -- RMSprop --------------------------------------------------------------------------


def test_rmsprop_plain():
    v1 = 0.01 * 0.25
    v2 = 0.99 * v1 + 0.01 * 0.0625
    w1 = 1 - 0.01 * 0.5 / (math.sqrt(v1) + 1e-8)
    w2 = w1 - 0.01 * 0.25 / (math.sqrt(v2) + 1e-8)
    close(run(RMSprop(lr=0.01), [G1, G2]), [w1, w2])


def test_rmsprop_centered_with_momentum_and_weight_decay():
    lr, a, mu, wd, eps = 0.01, 0.9, 0.5, 0.1, 1e-8
    g1 = 0.5 + wd * 1.0
    v1, gbar1 = (1 - a) * g1**2, (1 - a) * g1
    b1 = g1 / (math.sqrt(v1 - gbar1**2) + eps)
    w1 = 1 - lr * b1
    g2 = 0.25 + wd * w1
    v2, gbar2 = a * v1 + (1 - a) * g2**2, a * gbar1 + (1 - a) * g2
    b2 = mu * b1 + g2 / (math.sqrt(v2 - gbar2**2) + eps)
    opt = RMSprop(lr=lr, alpha=a, momentum=mu, centered=True, weight_decay=wd)
    close(run(opt, [G1, G2]), [w1, w1 - lr * b2])
    assert set(opt.update_terms("0.weight")) == {
        "step", "square_avg", "grad_avg", "momentum_buffer"
    }


# -- Adagrad --------------------------------------------------------------------------


def test_adagrad_lr_decay_and_initial_accumulator():
    # G1 = 0.1 + 0.25; clr1 = 0.1; G2 = 0.35 + 0.0625; clr2 = 0.1 / (1 + 1·0.5)
    opt = Adagrad(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.1)
    w1 = 1 - 0.1 * 0.5 / (math.sqrt(0.35) + 1e-10)
    w2 = w1 - (0.1 / 1.5) * 0.25 / (math.sqrt(0.4125) + 1e-10)
    close(run(opt, [G1, G2]), [w1, w2])


def test_adagrad_weight_decay():
    g1 = 0.5 + 0.2 * 1.0
    close(run(Adagrad(lr=0.1, weight_decay=0.2), [G1]), [1 - 0.1 * g1 / (abs(g1) + 1e-10)])


# -- Adadelta -------------------------------------------------------------------------


def test_adadelta():
    rho, eps = 0.9, 1e-6
    v1 = 0.1 * 0.25
    d1 = math.sqrt(0 + eps) / math.sqrt(v1 + eps) * 0.5
    u1 = 0.1 * d1**2
    v2 = rho * v1 + 0.1 * 0.0625
    d2 = math.sqrt(u1 + eps) / math.sqrt(v2 + eps) * 0.25
    close(run(Adadelta(), [G1, G2]), [1 - d1, 1 - d1 - d2])


def test_adadelta_lr_and_weight_decay():
    g1 = 0.5 + 0.5 * 1.0
    d1 = math.sqrt(1e-6) / math.sqrt(0.1 * g1**2 + 1e-6) * g1
    close(run(Adadelta(lr=0.5, weight_decay=0.5), [G1]), [1 - 0.5 * d1])


# -- Adam -----------------------------------------------------------------------------


def test_adam_bias_correction_and_eps_outside_the_root():
    m1, v1 = 0.1 * 0.5, 0.001 * 0.25
    m2, v2 = 0.9 * m1 + 0.1 * 0.25, 0.999 * v1 + 0.001 * 0.0625
    w1 = 1 - 0.1 * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + 1e-8)
    w2 = w1 - 0.1 * (m2 / (1 - 0.9**2)) / (math.sqrt(v2 / (1 - 0.999**2)) + 1e-8)
    close(run(Adam(lr=0.1), [G1, G2]), [w1, w2])


def test_adam_amsgrad_keeps_the_largest_second_moment():
    # betas (0.9, 0.9): v1 = 0.4 after g = 2, v2 = 0.361 after g = 0.1, max stays 0.4
    w1 = 1 - 0.1 * (0.2 / 0.1) / (math.sqrt(0.4) / math.sqrt(0.1) + 1e-8)
    w2 = w1 - 0.1 * (0.19 / 0.19) / (math.sqrt(0.4) / math.sqrt(0.19) + 1e-8)
    close(run(Adam(lr=0.1, betas=(0.9, 0.9), amsgrad=True), [2.0, 0.1]), [w1, w2])
    plain = run(Adam(lr=0.1, betas=(0.9, 0.9)), [2.0, 0.1])
    close(plain[1], w1 - 0.1 / (math.sqrt(0.361) / math.sqrt(0.19) + 1e-8))


def test_adam_weight_decay_and_small_beta1():
    # betas[0] = 0.3: 1 − β₁ ≥ 0.5 takes torch.lerp's other branch; same value
    g1 = 0.5 + 0.1 * 1.0
    w1 = 1 - 0.1 * ((0.7 * g1) / 0.7) / (math.sqrt(0.001 * g1**2 / 0.001) + 1e-8)
    close(run(Adam(lr=0.1, betas=(0.3, 0.999), weight_decay=0.1), [G1]), [w1])


# -- the interface --------------------------------------------------------------------

CONFIGS = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.01}),
    ("momentum", {"dampening": 0.2, "weight_decay": 0.01}),
    ("nesterov", {"weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.01}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.01, "betas": (0.8, 0.99)}),
    ("adam", {"betas": (0.3, 0.4), "eps": 1e-6}),
]
IDS = [f"{n}-{'-'.join(kw) or 'defaults'}" for n, kw in CONFIGS]


def random_problem(dtype, steps, seed=0):
    """Parameters of two layers and `steps` rounds of gradients."""
    rng = np.random.default_rng(seed)
    shapes = {"0.weight": (3, 2, 3, 3), "0.bias": (3,), "3.weight": (4, 5)}
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    grads = [{k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
             for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_float32_stays_float32_in_place(name, kw):
    params, grads = random_problem(np.float32, 3)
    arrays = dict(params)
    before = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name, lr=0.01, **kw) if "lr" not in kw else make_optimizer(name, **kw)
    for g in grads:
        opt.step(params, {k: v.astype(np.float64) for k, v in g.items()})  # grads in float64
    for k, w in params.items():
        assert w is arrays[k] and w.dtype == np.float32
        assert not np.array_equal(w, before[k])
        for value in opt.update_terms(k).values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_float32_arithmetic_is_done_in_float32():
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal(1000).astype(np.float32)
    g = rng.standard_normal(1000).astype(np.float32)
    f32 = np.float32
    params = {"w": w0.copy()}
    SGD(lr=0.1).step(params, {"w": g.astype(np.float64)})
    np.testing.assert_array_equal(params["w"], w0 + f32(-0.1) * g)
    params = {"w": w0.copy()}
    Adam(lr=0.1).step(params, {"w": g})
    m = f32(1 - 0.9) * g
    v = f32(1 - 0.999) * g * g
    denom = np.sqrt(v) / f32((1 - 0.999) ** 0.5) + f32(1e-8)
    np.testing.assert_array_equal(params["w"], w0 + f32(-0.1 / (1 - 0.9)) * m / denom)


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_is_bit_for_bit(name, kw):
    params, grads = random_problem(np.float64, 5, seed=1)
    opt = make_optimizer(name, **kw)
    opt.lr = 0.05
    for g in grads[:3]:
        opt.step(params, g)
    saved, saved_params = opt.state_dict(), {k: v.copy() for k, v in params.items()}
    json.dumps(saved["hyperparams"])
    for g in grads[3:]:
        opt.step(params, g)
    again = optimizer_from_state(saved)
    assert again.lr == 0.05
    for g in grads[3:]:
        again.step(saved_params, g)
    for k in params:
        assert np.array_equal(params[k], saved_params[k]), k
    other = make_optimizer(name, **kw)
    other.load_state_dict(opt.state_dict(), params=params)
    assert other.state_dict()["hyperparams"] == opt.state_dict()["hyperparams"]


def test_state_dict_holds_copies():
    params, grads = random_problem(np.float64, 2)
    opt = Adam()
    opt.step(params, grads[0])
    saved = opt.state_dict()
    kept = saved["state"]["0.bias"]["exp_avg"].copy()
    opt.step(params, grads[1])
    assert np.array_equal(saved["state"]["0.bias"]["exp_avg"], kept)
    assert saved["state"]["0.bias"]["step"] == 1
    opt.load_state_dict(saved)
    saved["state"]["0.bias"]["exp_avg"][:] = 99.0
    assert np.array_equal(opt.update_terms("0.bias")["exp_avg"], kept)


def test_load_rejects_other_type_and_wrong_shapes():
    params, grads = random_problem(np.float64, 1)
    adam = Adam()
    adam.step(params, grads[0])
    with pytest.raises(ValueError, match="Adam.*into SGD"):
        SGD().load_state_dict(adam.state_dict())
    bad = adam.state_dict()
    bad["state"]["0.bias"]["exp_avg"] = np.zeros(7)
    with pytest.raises(ValueError, match="0.bias"):
        Adam().load_state_dict(bad)
    wrong = {"0.bias": np.zeros(7), "0.weight": params["0.weight"], "3.weight": params["3.weight"]}
    with pytest.raises(ValueError, match="0.bias"):
        Adam().load_state_dict(adam.state_dict(), params=wrong)
    loaded = Adam()
    loaded.load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match=r"state 'exp_avg' of '0.bias' has shape \(3,\)"):
        loaded.step(wrong, {"0.bias": np.zeros(7)})
    missing = adam.state_dict()
    del missing["state"]["0.bias"]["exp_avg_sq"]
    with pytest.raises(ValueError, match="exp_avg_sq"):
        Adam().load_state_dict(missing)


def test_parameters_without_gradients_are_skipped():
    params, grads = random_problem(np.float64, 1)
    untouched = params["3.weight"].copy()
    opt = make_optimizer("momentum")
    opt.step(params, {k: v for k, v in grads[0].items() if k != "3.weight"})
    assert np.array_equal(params["3.weight"], untouched)
    assert set(opt.state_dict()["state"]) == {"0.weight", "0.bias"}


def test_gradient_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'0.bias'.*\(2,\).*\(3,\)"):
        SGD().step({"0.bias": np.zeros(3)}, {"0.bias": np.zeros(2)})


def test_step_leaves_the_gradients_alone():
    params, grads = random_problem(np.float64, 1)
    kept = {k: v.copy() for k, v in grads[0].items()}
    make_optimizer("nesterov", weight_decay=0.1).step(params, grads[0])
    for k in kept:
        assert np.array_equal(grads[0][k], kept[k])


def test_learning_rate_is_settable():
    opt = SGD(lr=0.1)
    opt.lr = 0.5
    assert run(opt, [G1]) == [0.75]
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1


@pytest.mark.parametrize(
    ("cls", "kw", "field"),
    [
        (SGD, {"lr": -0.1}, "lr"),
        (SGD, {"momentum": -0.5}, "momentum"),
        (SGD, {"weight_decay": -1}, "weight_decay"),
        (RMSprop, {"alpha": -0.1}, "alpha"),
        (RMSprop, {"eps": -1e-8}, "eps"),
        (Adagrad, {"lr_decay": -1}, "lr_decay"),
        (Adagrad, {"initial_accumulator_value": -1}, "initial_accumulator_value"),
        (Adadelta, {"rho": 1.5}, "rho"),
        (Adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
        (Adam, {"betas": (0.9, -0.1)}, r"betas\[1\]"),
        (Adam, {"betas": 0.9}, "betas"),
        (Adam, {"lr": float("nan")}, "lr"),
        (Adam, {"lr": "fast"}, "lr"),
        (Adam, {"amsgrad": "yes"}, "amsgrad"),
    ],
)
def test_invalid_hyperparameters_name_the_field(cls, kw, field):
    with pytest.raises(ValueError, match=f"{cls.__name__}.*{field}"):
        cls(**kw)


def test_make_optimizer_names():
    assert OPTIMIZER_NAMES == (
        "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adadelta", "adam"
    )
    assert make_optimizer("ADAM").name == "Adam"
    assert make_optimizer(" Momentum ").hyperparams["momentum"] == 0.9
    nesterov = make_optimizer("nesterov", lr=0.01)
    assert (nesterov.name, nesterov.lr, nesterov.hyperparams["nesterov"]) == ("SGD", 0.01, True)
    assert make_optimizer("momentum", momentum=0.5).hyperparams["momentum"] == 0.5
    with pytest.raises(ValueError, match="sgd, momentum, nesterov, rmsprop"):
        make_optimizer("lion")
    with pytest.raises(ValueError, match="Adam has no hyper-parameter 'momentum'"):
        make_optimizer("adam", momentum=0.9)
    with pytest.raises(ValueError, match="unknown optimizer type"):
        optimizer_from_state({"type": "Lion", "hyperparams": {}, "state": {}})


def test_describe_rule_and_update_terms():
    assert SGD().describe_rule() == "w ← w − η·∂E/∂w"
    assert "b ← μ·b" in make_optimizer("momentum").describe_rule()
    assert "g + μ·b" in make_optimizer("nesterov").describe_rule()
    assert "λ·w" in SGD(weight_decay=0.1).describe_rule()
    assert "√(v − ḡ²)" in RMSprop(centered=True).describe_rule()
    assert "max(v̂, v)" in Adam(amsgrad=True).describe_rule()
    for name in OPTIMIZER_NAMES:
        assert "w ← w − η" in make_optimizer(name).describe_rule()
    opt = make_optimizer("momentum", lr=0.1)
    assert opt.update_terms("0.weight") == {}
    run(opt, [G1])
    terms = opt.update_terms("0.weight")
    assert list(terms) == ["momentum_buffer"] and terms["momentum_buffer"][0] == 0.5
    terms["momentum_buffer"][0] = 7.0
    assert opt.update_terms("0.weight")["momentum_buffer"][0] == 0.5


# -- against torch.optim ---------------------------------------------------------------

def torch_run(opt, params, grads):
    """The same updates done by torch.optim (single-tensor code path)."""
    torch = pytest.importorskip("torch")
    tensors = {k: torch.tensor(v.copy()) for k, v in params.items()}
    hp = dict(opt.hyperparams)
    if "betas" in hp:
        hp["betas"] = tuple(hp["betas"])
    topt = getattr(torch.optim, opt.name)(
        list(tensors.values()), foreach=False, **hp
    )
    for g in grads:
        for k, t in tensors.items():
            t.grad = torch.tensor(g[k])
        topt.step()
    return {k: t.numpy() for k, t in tensors.items()}


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_matches_torch_float64(name, kw):
    pytest.importorskip("torch")
    params, grads = random_problem(np.float64, 5, seed=2)
    opt = make_optimizer(name, **{"lr": 0.01, **kw})
    expected = torch_run(opt, params, grads)
    for g in grads:
        opt.step(params, g)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=0, err_msg=k)


@pytest.mark.parametrize(("name", "kw"), CONFIGS[::3], ids=IDS[::3])
def test_matches_torch_float32(name, kw):
    pytest.importorskip("torch")
    params, grads = random_problem(np.float32, 5, seed=3)
    opt = make_optimizer(name, **{"lr": 0.01, **kw})
    expected = torch_run(opt, params, grads)
    for g in grads:
        opt.step(params, g)
    for k in params:
        scale = np.max(np.abs(expected[k]))
        np.testing.assert_allclose(params[k], expected[k], rtol=0, atol=4e-6 * scale)


def test_plain_sgd_step_equals_the_numpy_rule_bit_for_bit():
    """The update kernel's loop gives `w += -lr * g` for every array, in float32 and
    float64, contiguous or not, and keeps an (empty) state per parameter as before."""
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        params = {
            "0.weight": rng.standard_normal((4, 3, 3, 3)).astype(dtype),
            "0.bias": rng.standard_normal(4).astype(dtype),
            "2.weight": rng.standard_normal((10, 12)).astype(dtype)[:, ::2],  # strided
        }
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
        want = {k: v.copy() for k, v in params.items()}
        opt = SGD(lr=0.03)
        for _ in range(3):
            opt.step(params, grads)
            for k in want:
                want[k] += -0.03 * grads[k]
        for k in want:
            assert params[k].tobytes() == want[k].tobytes(), (dtype, k)
        assert opt.state_dict()["state"] == {k: {} for k in params}


def test_plain_sgd_names_a_parameter_made_read_only_after_its_first_step():
    """The kernel path remembers arrays it took; one frozen since gets NumPy's clear error
    (not Numba's typing error), and the step works again once it is writeable."""
    w, g = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    opt = SGD(lr=0.1)
    opt.step({"0.weight": w}, {"0.weight": g})
    w.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        opt.step({"0.weight": w}, {"0.weight": g})
    w.flags.writeable = True
    opt.step({"0.weight": w}, {"0.weight": g})
    want = np.ones(4, np.float32)
    for _ in range(2):
        want += -0.1 * g
    assert w.tobytes() == want.tobytes()
