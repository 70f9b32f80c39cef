//! Timings as Bento's Prometheus summaries (quantiles 0.5, 0.9 and 0.99 over the last ten
//! minutes, with a cumulative sum and count), kept by engine rather than by the exporter.
//!
//! The exporter keeps a summary in a DDSketch of 0.01 % relative accuracy: each sample cost
//! about 500 instructions (a logarithm, a search among thousands of bins, now and then a shift
//! of them all) on top of its bucket's own record, and an `http_server → drop` request has two
//! samples: ≈1,300 of its ≈15,900 instructions (callgrind, BENCHMARKS.md, thirteenth pass),
//! and a bin store that grew with the spread of the latencies. Here a sample is counted in a
//! log-linear bucket, found from its float's exponent and top mantissa bits: 32 buckets an
//! octave, so a quantile is reported within 1/64 (≈1.6 %) of a sample of its rank, the same
//! order as the rank error Bento's summaries allow (5 %, 1 %, 0.1 %).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bento's summary objectives.
pub const QUANTILES: [(f64, &str); 3] = [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99")];

/// Mantissa bits that pick a bucket within an octave.
const SUB_BITS: u32 = 5;
/// Octaves counted from 1: up to 2^44 ns (≈4.9 h); longer timings count in the last bucket.
const OCTAVES: usize = 44;
/// Bucket 0 holds what is below 1 (a zero duration).
const BUCKETS: usize = (OCTAVES << SUB_BITS) + 1;
/// Go's client keeps a summary's observations for `MaxAge` (10 minutes) in `AgeBuckets` (5)
/// streams; here the window is the current age and the four before it, so quantiles cover the
/// last eight to ten minutes.
const AGES: usize = 5;
const AGE: Duration = Duration::from_secs(120);

/// The bucket a sample counts in.
fn bucket(v: f64) -> usize {
    if v.is_nan() || v < 1.0 {
        return 0;
    }
    let octave_and_sub = (v.to_bits() >> (52 - SUB_BITS)) - (1023 << SUB_BITS);
    (octave_and_sub as usize + 1).min(BUCKETS - 1)
}

/// The value a bucket reports: the middle of its range.
fn value_of(bucket: usize) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let lower = ((bucket as u64 - 1) + (1023 << SUB_BITS)) << (52 - SUB_BITS);
    f64::from_bits(lower + (1 << (52 - SUB_BITS - 1)))
}

/// One metric's summary.
#[derive(Default)]
pub struct Summary {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    count: u64,
    sum: f64,
    /// Per age (its number since the process started, from [`age_now`]): counts per bucket,
    /// allocated when the age has its first sample.
    ages: [(u64, Option<Box<[u32]>>); AGES],
}

/// What a render shows of a summary.
#[derive(Debug)]
pub struct Snapshot {
    pub quantiles: [f64; QUANTILES.len()],
    pub sum: f64,
    pub count: u64,
}

/// The age (a number of [`AGE`] periods since the first call) of now.
pub fn age_now() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    start.elapsed().as_secs() / AGE.as_secs()
}

impl Summary {
    /// Count samples taken in `age`.
    pub fn add(&self, samples: &[f64], age: u64) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (held_age, counts) = &mut state.ages[(age % AGES as u64) as usize];
        if *held_age != age {
            *held_age = age;
            if let Some(c) = counts {
                c.fill(0);
            }
        }
        let counts = counts.get_or_insert_with(|| vec![0; BUCKETS].into_boxed_slice());
        let mut sum = 0.0;
        let mut count = 0;
        for &v in samples {
            // As the exporter's summaries: an infinite sample is not counted.
            if v.is_infinite() {
                continue;
            }
            let c = &mut counts[bucket(v)];
            *c = c.saturating_add(1);
            sum += v;
            count += 1;
        }
        state.sum += sum;
        state.count += count;
    }

    /// The quantiles over the ages of the window ending at `age` (0 without samples there),
    /// and the sum and count of every sample.
    pub fn snapshot(&self, age: u64) -> Snapshot {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let live = state
            .ages
            .iter()
            .filter(|(a, _)| *a + AGES as u64 > age && *a <= age)
            .filter_map(|(_, c)| c.as_deref());
        let mut merged = vec![0u64; BUCKETS];
        for counts in live {
            for (m, c) in merged.iter_mut().zip(counts) {
                *m += u64::from(*c);
            }
        }
        let total: u64 = merged.iter().sum();
        let quantiles = QUANTILES.map(|(q, _)| {
            if total == 0 {
                return 0.0;
            }
            // The sample of rank ⌈q·n⌉ (at least the first).
            let rank = ((q * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (b, c) in merged.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return value_of(b);
                }
            }
            value_of(BUCKETS - 1)
        });
        Snapshot {
            quantiles,
            sum: state.sum,
            count: state.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_reported_within_a_sixty_fourth_of_its_value() {
        for v in [
            1.0,
            1.5,
            7.0,
            31.0,
            1_000.0,
            12_345.0,
            987_654_321.0,
            3.3e12,
        ] {
            let got = value_of(bucket(v));
            assert!((got - v).abs() / v <= 1.0 / 64.0, "{v} reported as {got}");
        }
        assert_eq!(value_of(bucket(0.0)), 0.0);
        assert_eq!(value_of(bucket(0.5)), 0.0);
        assert_eq!(bucket(f64::NAN), 0);
        // Beyond the last octave: the last bucket.
        assert_eq!(bucket(1e300), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_those_of_the_samples_ranks() {
        let s = Summary::default();
        let samples: Vec<f64> = (1..=1000).map(f64::from).collect();
        s.add(&samples, 7);
        let snap = s.snapshot(7);
        for ((q, _), got) in QUANTILES.iter().zip(snap.quantiles) {
            let want = q * 1000.0;
            assert!((got - want).abs() / want <= 1.0 / 64.0, "{q}: {got}");
        }
        assert_eq!(snap.count, 1000);
        assert_eq!(snap.sum, 500_500.0);
        // One sample: every quantile is it.
        let one = Summary::default();
        one.add(&[250.0, f64::INFINITY], 7);
        let snap = one.snapshot(7);
        assert!(
            snap.quantiles.iter().all(|q| (q - 250.0).abs() < 4.0),
            "{snap:?}"
        );
        assert_eq!(snap.count, 1);
    }

    #[test]
    fn quantiles_forget_samples_older_than_the_window_but_sum_and_count_do_not() {
        let s = Summary::default();
        s.add(&[1_000_000.0; 10], 10);
        s.add(&[100.0; 10], 12);
        let both = s.snapshot(14);
        assert!(both.quantiles[2] > 900_000.0, "{both:?}");
        // At age 15 the samples of age 10 are out of the window.
        let later = s.snapshot(15);
        assert!(later.quantiles[2] < 110.0, "{later:?}");
        assert_eq!((later.count, later.sum), (20, 10_001_000.0));
        // Age 15 reuses age 10's counts, emptied first.
        s.add(&[5.0], 15);
        let reused = s.snapshot(15);
        assert!(reused.quantiles[0] < 110.0, "{reused:?}");
        // Nothing in the window: zeros, as the exporter reports.
        assert_eq!(s.snapshot(40).quantiles, [0.0; 3]);
    }
}
