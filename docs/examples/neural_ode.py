"""A neural ODE: a network that is the right-hand side of a differential equation.

A trajectory of a damped spiral, dy/dt = (y^3) A, is observed at 40 times. The model
is dy/dt = f(y; theta) with f a small network (2 -> 32 -> 2 on the cubed state, tanh),
integrated from the same start by ``tapeflow.scipy.integrate.odeint``; the loss is the
mean squared distance between the two trajectories. ``tp.value_and_grad`` differentiates
through the solver by the adjoint method (a second ODE integrated backwards in time), so
the memory used does not grow with the number of solver steps. It prints the loss
before and after training, and draws both trajectories when matplotlib is installed.
Needs SciPy (``pip install -e ".[scipy]"``), whose solver odeint uses.

    python docs/examples/neural_ode.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.scipy.integrate import odeint

FIGURES = Path(__file__).resolve().parent / "figures"
A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
Y0 = np.array([2.0, 0.0])


def true_dynamics(y: Any, t: Any) -> Any:
    return (y**3) @ A


def model(y: Any, t: Any, params: Any) -> Any:
    return tnp.tanh((y**3) @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for the tests")
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the figure")
    args = parser.parse_args(argv)

    ts = np.linspace(0.0, 1.5, 40)
    target = odeint(true_dynamics, Y0, ts)
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.normal(0.0, 0.3, (2, 32)),
        "b1": np.zeros(32),
        "w2": rng.normal(0.0, 0.3, (32, 2)),
        "b2": np.zeros(2),
    }

    def loss(params: Any) -> Any:
        return tnp.mean((odeint(model, Y0, ts, args=(params,)) - target) ** 2)

    opt = tp.optim.adam(0.01)
    state = opt.init(params)
    first = float(loss(params))
    for _ in range(5 if args.quick else 500):
        _, grads = tp.value_and_grad(loss)(params)
        params, state = opt.update(grads, state, params)
    final = float(loss(params))
    print(f"{5 if args.quick else 500} Adam steps: trajectory MSE {first:.4f} -> {final:.5f}")
    plot(args.out, target, np.asarray(odeint(model, Y0, ts, args=(params,))))
    return {"initial_mse": first, "final_mse": final}


def plot(out: Path, target: np.ndarray, fitted: np.ndarray) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(target[:, 0], target[:, 1], "k.", label="observed")
    ax.plot(fitted[:, 0], fitted[:, 1], "-", label="neural ODE")
    ax.set(xlabel="$y_1$", ylabel="$y_2$", title="Neural ODE fitted to a spiral")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "neural_ode.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
