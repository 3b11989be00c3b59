//! The exact binomial upper tail and the Benjamini–Hochberg adjustment.

use std::sync::OnceLock;

/// Below this, ln n! comes from a table summed exactly; above, from Stirling's series.
const TABLE_SIZE: usize = 256;

/// Summation stops once a term adds less than this, relative to the sum.
const RELATIVE_EPSILON: f64 = 1e-17;

fn ln_factorial(n: u64) -> f64 {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = vec![0.0; TABLE_SIZE];
        for i in 1..TABLE_SIZE {
            table[i] = table[i - 1] + (i as f64).ln();
        }
        table
    });

    if let Some(&value) = table.get(n as usize) {
        return value;
    }
    // Stirling's series to the n⁻⁵ term: error below 1e-16 relative for n ≥ 256.
    let n = n as f64;
    let inverse = 1.0 / n;
    let inverse_sq = inverse * inverse;
    let correction =
        inverse / 12.0 - inverse * inverse_sq / 360.0 + inverse * inverse_sq * inverse_sq / 1260.0;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + correction
}

/// ln of P(X = k) for X ~ Binomial(n, p), 0 < p < 1.
fn ln_pmf(n: u64, k: u64, p: f64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (-p).ln_1p()
}

/// ln P(X ≥ k) for X ~ Binomial(n, p), exact up to floating-point rounding.
///
/// In log space so that very small p-values keep their size (they rank hotspots).
/// The sum runs over the tail away from the mode, where terms shrink geometrically,
/// so it stops after a few dozen terms even for n in the tens of thousands.
pub(super) fn ln_upper_tail(n: u64, k: u64, p: f64) -> f64 {
    if k == 0 || p >= 1.0 {
        return 0.0;
    }
    if k > n || p <= 0.0 {
        return f64::NEG_INFINITY;
    }

    let odds = p / (1.0 - p);
    if k as f64 > n as f64 * p {
        // Upward from k: each term is the previous times (n - i) / (i + 1) · odds.
        let mut term = 1.0;
        let mut sum = 1.0;
        for i in k..n {
            term *= (n - i) as f64 / (i + 1) as f64 * odds;
            sum += term;
            if term < sum * RELATIVE_EPSILON {
                break;
            }
        }
        return ln_pmf(n, k, p) + sum.ln();
    }

    // Near or below the mean the tail is large: 1 − P(X ≤ k − 1), summed downwards.
    let top = k - 1;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in (1..=top).rev() {
        term *= i as f64 / (n - i + 1) as f64 / odds;
        sum += term;
        if term < sum * RELATIVE_EPSILON {
            break;
        }
    }
    let lower = (ln_pmf(n, top, p) + sum.ln()).exp();
    (1.0 - lower).max(0.0).ln()
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order given.
///
/// A cell with q ≤ α is flagged while keeping the expected share of false
/// discoveries among the flagged cells at most α.
pub(super) fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let tests = p_values.len() as f64;
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));

    let mut q_values = vec![1.0; p_values.len()];
    let mut running_min: f64 = 1.0;
    for (rank, &at) in order.iter().enumerate().rev() {
        let adjusted = p_values[at] * tests / (rank + 1) as f64;
        running_min = running_min.min(adjusted);
        q_values[at] = running_min;
    }
    q_values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        ((actual - expected) / expected).abs() < 1e-9
    }

    /// Expected values computed offline with exact decimal arithmetic (60 digits).
    #[test]
    fn upper_tail_matches_exact_sums() {
        let cases = [
            (10, 5, 0.5, 0.623046875),
            (1000, 25, 0.01, 4.202920844836743e-05),
            (1000, 5, 0.01, 0.9713136000009953),
            (3000, 100, 0.02, 1.1247165928301497e-06),
            (20000, 260, 0.01, 2.514_960_145_493_683e-5),
            (50, 50, 0.3, 7.178_979_876_918_526e-27),
        ];
        for (n, k, p, expected) in cases {
            let actual = ln_upper_tail(n, k, p).exp();
            assert!(
                close(actual, expected),
                "n {n} k {k} p {p}: {actual} vs {expected}"
            );
        }
    }

    #[test]
    fn upper_tail_edges() {
        assert_eq!(ln_upper_tail(10, 0, 0.3), 0.0);
        assert_eq!(ln_upper_tail(10, 11, 0.3), f64::NEG_INFINITY);
        assert!(close(ln_upper_tail(3, 3, 0.5).exp(), 0.125));
        assert!(
            ln_upper_tail(100_000, 90_000, 0.01) < -1e5,
            "tiny tails stay finite in log space"
        );
    }

    #[test]
    fn benjamini_hochberg_matches_a_hand_computed_case() {
        // Sorted: 0.01, 0.03, 0.04, 0.20; times 4/rank: 0.04, 0.06, 0.0533, 0.20;
        // then the running minimum from the largest rank down.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.20]);
        let expected = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.20];
        for (actual, wanted) in q.iter().zip(expected) {
            assert!((actual - wanted).abs() < 1e-12, "{q:?}");
        }
    }
}
