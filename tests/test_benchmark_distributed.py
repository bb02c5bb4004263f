"""benchmarks/distributed.py: the cost model's fits and predictions are what they claim."""

import pytest

from benchmarks import distributed as bench


def test_alpha_beta_fit_recovers_a_known_network() -> None:
    alpha, beta = 3e-6, 2.5e-10
    by_bytes = {str(2**k): 2 * alpha + 2**k * beta for k in range(0, 24, 2)}
    fitted = bench.fit_alpha_beta(by_bytes)
    assert fitted["alpha_s"] == pytest.approx(alpha, rel=1e-3)
    assert fitted["beta_s_per_byte"] == pytest.approx(beta, rel=1e-3)


def test_ring_allreduce_model_at_two_nodes_is_the_fitted_line() -> None:
    net = {"alpha_s": 3e-6, "beta_s_per_byte": 2.5e-10}
    m, copy_s = 1e6, 1e-4
    # ring (2 alpha + m beta) + the check's one round (alpha) + the copies
    want = 2 * 3e-6 + m * 2.5e-10 + 3e-6 + copy_s
    assert bench.allreduce_model(2, m, net, copy_s) == pytest.approx(want)
    assert bench.allreduce_model(1, m, net, copy_s) == copy_s


def _model(batch: int, c0: float = 2e-4, c1: float = 1e-5) -> dict:
    return {
        "global_batch": batch,
        "message_bytes": 8e5,
        "fastest_fused_allreduce_s": 5e-5,
        "compute_by_batch": {str(b): c0 + c1 * b for b in (1, 4, 16, 64, 256)},
    }


@pytest.mark.parametrize("p", bench.NODES)
def test_break_even_batches_match_the_linear_formulas(p: int) -> None:
    # With compute c0 + c1 b, p nodes beat one when c1 B (1 - 1/p) > T_ar, and reach 50%
    # efficiency when c1 B / 2 >= (p/2 - 1) c0 + (p/2) T_ar.
    c0, c1 = 2e-4, 1e-5
    net = {"alpha_s": 25e-6, "beta_s_per_byte": 1 / 1.25e9}
    rows = bench.predict(_model(128, c0, c1), net)["nodes"][str(p)]
    t_ar = bench.allreduce_model(p, 8e5, net, 5e-5)
    pays = max(t_ar / (c1 * (1 - 1 / p)), p)
    half = max(((p - 2) * c0 + p * t_ar) / c1, p)
    assert rows["global_batch_to_pay"] == pytest.approx(pays, rel=0.011)
    assert rows["global_batch_for_half_efficiency"] == pytest.approx(half, rel=0.011)
    assert rows["efficiency"] == pytest.approx(rows["speedup"] / p)
    step_1 = c0 + c1 * 128
    assert rows["speedup"] == pytest.approx(step_1 / (c0 + c1 * 128 / p + t_ar))


def test_compute_time_interpolates_and_never_decreases() -> None:
    by_batch = {"1": 1.0, "2": 0.9, "4": 2.0, "8": 4.0}  # the dip at 2 is noise
    assert bench.compute_time(by_batch, 2) == 1.0
    assert bench.compute_time(by_batch, 6) == pytest.approx(3.0)
    assert bench.compute_time(by_batch, 16) == pytest.approx(8.0)  # the last slope
    assert bench.compute_time(by_batch, 0.5) == 1.0
