"""tapeflow.numpy: the numpy namespace whose functions can be differentiated.

Outside a transform every function takes and returns plain numpy arrays.
Inside one, traced arrays flow through the same functions and each call is
recorded. The rules live beside the primitives, grouped by family:

- ``elementwise``: arithmetic, exponentials, trigonometry, comparisons
- ``reductions``: sum, mean, max, ...
- ``shape``: reshape, transpose, concatenate, ...
- ``sorting``: sort, partition, interp, searchsorted, ...
- ``statistics``: var, std, average, nan-aware reductions, median, quantile, ...
- ``indexing``: ``x[index]`` and scatter-add
- ``products``: matmul, dot, einsum, ...
- ``linalg``: the ``tnp.linalg`` namespace (inv, solve, eigh, svd, norm, ...)
- ``creation``: constants and array construction (no gradients)
"""

# isort: off
# The order below is load-bearing (see the comment on `shape`), so isort must not sort it.
from tapeflow.numpy.creation import *  # noqa: F403
from tapeflow.numpy.elementwise import *  # noqa: F403
from tapeflow.numpy.indexing import *  # noqa: F403
from tapeflow.numpy.products import *  # noqa: F403
from tapeflow.numpy.reductions import *  # noqa: F403
from tapeflow.numpy.shape import *  # noqa: F403
from tapeflow.numpy import linalg  # noqa: F401,E402  (tnp.linalg; registers np.linalg dispatch)
from tapeflow.numpy.sorting import *  # noqa: F403
from tapeflow.numpy.statistics import *  # noqa: F403
from tapeflow.numpy.at import at  # noqa: F401  (functional updates: x.at[idx].set(v))
from tapeflow.numpy import dispatch as _dispatch  # noqa: F401,E402  (ufunc methods)
from tapeflow.scipy.special import logsumexp  # noqa: E402,F401  (same primitive as tapeflow.scipy.special's)

# Importing the submodule tapeflow.numpy.shape rebinds the package attribute `shape`
# to that module; numpy's name `shape` must be the function.
from tapeflow.numpy.creation import shape  # noqa: E402,F401,F811
# isort: on
