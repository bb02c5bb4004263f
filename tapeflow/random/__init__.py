"""tapeflow.random: functional, splittable random keys in JAX's style.

A key is a uint32 array of shape ``(2,)`` made by :func:`key` from a seed. Samplers take
a key and return the same numbers for the same key on every run, on every machine,
eagerly or under ``tp.jit``; :func:`split` and :func:`fold_in` derive new, independent
keys. The generator is Threefry-2x32 (:mod:`tapeflow.random.threefry`), counter-based:
each value depends only on the key and its position. Under ``tp.vmap`` over a batch of
keys (shape ``(n, 2)``) every example gets its own stream, computed in one vectorised
call. Floats default to float64, tapeflow's default float.

- :mod:`~tapeflow.random.keys`: ``key``, ``PRNGKey``, ``split``, ``fold_in``
- :mod:`~tapeflow.random.continuous`: ``uniform``, ``normal``, ``truncated_normal``,
  ``gumbel``
- :mod:`~tapeflow.random.discrete`: ``bits``, ``bernoulli``, ``categorical``, ``randint``,
  ``permutation``, ``choice``

Example:
    >>> import tapeflow as tp
    >>> key = tp.random.key(0)
    >>> init_key, noise_key = tp.random.split(key)
    >>> tp.random.normal(noise_key, (2, 3)).shape
    (2, 3)
"""

from tapeflow.random.checks import is_key
from tapeflow.random.continuous import gumbel, normal, truncated_normal, uniform
from tapeflow.random.discrete import bernoulli, bits, categorical, choice, permutation, randint
from tapeflow.random.keys import PRNGKey, fold_in, key, split

__all__ = [
    "key",
    "PRNGKey",
    "split",
    "fold_in",
    "is_key",
    "uniform",
    "normal",
    "truncated_normal",
    "gumbel",
    "bits",
    "bernoulli",
    "categorical",
    "randint",
    "permutation",
    "choice",
]
