"""The core and the transforms work on their own, without tapeflow's array layer.

A fresh interpreter loads ``tapeflow.core`` and the transforms (``grad``, ``jvp``,
``vmap``) without ``tapeflow/__init__.py`` (which loads the whole library), declares
four primitives on Python floats, gives the core the one array operation it needs
(adding cotangents that are traced), and differentiates: nothing of ``tapeflow.numpy``
is ever imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tapeflow

PACKAGE = Path(tapeflow.__file__).resolve().parent

SCRIPT = """
import math, sys, types
import numpy as np

package = types.ModuleType("tapeflow")  # the package without its __init__
package.__path__ = [PACKAGE]
sys.modules["tapeflow"] = package

from tapeflow.core import arrays
from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive
from tapeflow.forward import jvp
from tapeflow.reverse import grad
from tapeflow.vmap import vmap

add = primitive(lambda x, y: x + y, name="float_add", elementwise=True)
mul = primitive(lambda x, y: x * y, name="float_mul", elementwise=True)
sin = primitive(np.sin, name="float_sin", elementwise=True)
cos = primitive(np.cos, name="float_cos", elementwise=True)
neg = lambda x: mul(x, -1.0)

defvjp(add, lambda ans, x, y: lambda g: g, lambda ans, x, y: lambda g: g)
defjvp(add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
defvjp(mul, lambda ans, x, y: lambda g: mul(g, y), lambda ans, x, y: lambda g: mul(g, x))
defjvp(mul, lambda t, ans, x, y: mul(t, y), lambda t, ans, x, y: mul(x, t))
defvjp(sin, lambda ans, x: lambda g: mul(g, cos(x)))
defjvp(sin, lambda t, ans, x: mul(t, cos(x)))
defvjp(cos, lambda ans, x: lambda g: mul(g, neg(sin(x))))
defjvp(cos, lambda t, ans, x: mul(t, neg(sin(x))))
# The one array operation the replay needs here: adding cotangents that are traced.
arrays.install(add=add)

f = lambda x: mul(sin(x), x)  # f'(x) = cos(x) x + sin(x); f'' = -sin(x) x + 2 cos(x)
x = 0.7
assert abs(grad(f)(x) - (math.cos(x) * x + math.sin(x))) < 1e-12
assert abs(grad(grad(f))(x) - (-math.sin(x) * x + 2 * math.cos(x))) < 1e-12
value, tangent = jvp(f, (x,), (2.0,))
assert abs(value - math.sin(x) * x) < 1e-12
assert abs(tangent - 2.0 * (math.cos(x) * x + math.sin(x))) < 1e-12
xs = np.array([0.1, 0.5, 0.9])
assert np.allclose(vmap(grad(f))(xs), np.cos(xs) * xs + np.sin(xs))
assert np.allclose(vmap(f)(xs), np.sin(xs) * xs)

# A batching rule of one's own is used (the elementwise ones above need none).
calls = []
def twice_rule(args, dims):
    calls.append(dims)
    return twice(args[0]), dims[0]
twice = primitive(lambda x: x * 2.0, name="float_twice")
defbatch(twice, twice_rule)
assert np.allclose(vmap(twice)(xs), 2 * xs) and calls == [[0]]

loaded = sorted(m for m in sys.modules if m.startswith("tapeflow."))
outside = [m for m in loaded if not m.startswith(("tapeflow.core", "tapeflow.arguments",
    "tapeflow.reverse", "tapeflow.forward", "tapeflow.custom", "tapeflow.vmap",
    "tapeflow.batching"))]
assert not outside, outside
print("core alone:", ", ".join(loaded))
"""


def test_core_and_transforms_differentiate_float_primitives_without_the_array_layer() -> None:
    code = SCRIPT.replace("PACKAGE", repr(str(PACKAGE)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "tapeflow.numpy" not in done.stdout
    assert "tapeflow.core.tape" in done.stdout
