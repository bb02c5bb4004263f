"""tapeflow.numpy: the numpy namespace whose functions can be differentiated.

Outside a transform every function takes and returns plain numpy arrays.
Inside one, traced arrays flow through the same functions and each call is
recorded. Each family file declares its primitives with their rules, their
batching rules, the numpy functions that reach them and the ndarray methods of
traced arrays that forward to them:

- ``elementwise``: arithmetic, exponentials, trigonometry, comparisons, operators
- ``shape``: reshape, transpose, broadcasting, flips, ...
- ``indexing``: ``x[index]`` and scatter-add
- ``joining``: concatenate, stack, append, split, ...
- ``index_tricks``: ``r_`` and ``c_`` for traced pieces
- ``creation``: constants and array construction (no gradients)
- ``reductions``: sum, mean, max, cumulative sums, logsumexp, ...
- ``diagonals``: diagonal, trace, tril, triu
- ``products``: matmul, dot, einsum, ...
- ``sorting``: sort, partition, interp, searchsorted, ...
- ``statistics``: var, std, average, nan-aware reductions, median, quantile, ...
- ``padding``: pad, in every numpy mode
- ``selection``: select, nan_to_num, real_if_close, iscomplex, isreal
- ``polynomials``: polyval
- ``differences`` and ``convolution``: diff, gradient; convolve, correlate
- ``linalg``: the ``tnp.linalg`` namespace (inv, solve, eigh, svd, norm, ...)
- ``fft``: the ``tnp.fft`` namespace (fft, ifft, rfftn, irfftn, hfft, fftshift, ...)
- ``at``: functional updates, ``tnp.at(x)[idx].set(v)`` (``x.at[idx]`` on traced arrays)

``meta`` and ``declare`` hold what the families share; ``fitting`` and ``protocol``
give the core its array operations; ``dispatch`` connects numpy's own functions.
"""

# isort: off
# Each family imports the families it uses, so any order would load them all; the
# function `shape` is re-imported last because importing the submodule
# tapeflow.numpy.shape binds the package attribute `shape` to the module.
from tapeflow.numpy.elementwise import *  # noqa: F403
from tapeflow.numpy.shape import *  # noqa: F403
from tapeflow.numpy.indexing import *  # noqa: F403
from tapeflow.numpy.joining import *  # noqa: F403
from tapeflow.numpy.creation import *  # noqa: F403
from tapeflow.numpy.reductions import *  # noqa: F403
from tapeflow.numpy.diagonals import *  # noqa: F403
from tapeflow.numpy.products import *  # noqa: F403
from tapeflow.numpy.sorting import *  # noqa: F403
from tapeflow.numpy.statistics import *  # noqa: F403
from tapeflow.numpy.padding import *  # noqa: F403
from tapeflow.numpy.differences import *  # noqa: F403
from tapeflow.numpy.convolution import *  # noqa: F403
from tapeflow.numpy.selection import *  # noqa: F403
from tapeflow.numpy.polynomials import *  # noqa: F403
from tapeflow.numpy.index_tricks import *  # noqa: F403
from tapeflow.numpy import linalg  # noqa: F401  (tnp.linalg, and np.linalg dispatch)
from tapeflow.numpy import fft  # noqa: F401  (tnp.fft, and np.fft dispatch)
from tapeflow.numpy.at import at  # noqa: F401  (functional updates: tnp.at(x)[idx].set(v))
from tapeflow.numpy.pytrees import ravel_pytree  # noqa: F401
from tapeflow.numpy.creation import shape  # noqa: F401,F811
from tapeflow.numpy import declare as _declare
from tapeflow.numpy import protocol as _protocol
# isort: on

_protocol.install()
_declare.refuse_other_ndarray_attributes()
