//! When snapshots go out: `snapshot_rate` of every `tick_rate` ticks, as evenly as whole ticks
//! allow. Server and clients compute the same schedule, so a client knows how many ticks the
//! inputs it sends after a snapshot must cover before the next one.

/// Whether tick `tick` (from 1) publishes a snapshot: `snapshot_rate` of every `tick_rate`
/// ticks, as evenly as whole ticks allow. A rate that divides the tick rate gives a fixed gap
/// (every 3rd tick for 10 Hz at 30 Hz); one that does not alternates gaps (20 Hz at 30 Hz: one
/// tick, then two), since 20 Hz snapshots are what most peers ship whatever their tick.
pub fn snapshot_due(tick: u64, tick_rate: u16, snapshot_rate: u16) -> bool {
    let (tick_rate, snapshot_rate) = (u64::from(tick_rate.max(1)), u64::from(snapshot_rate));
    if snapshot_rate >= tick_rate {
        return true;
    }
    // The snapshot count crosses a whole number between tick - 1 and tick.
    tick * snapshot_rate / tick_rate > tick.saturating_sub(1) * snapshot_rate / tick_rate
}

/// How many ticks after `tick` the next snapshot comes: the inputs a client sends on receiving
/// the snapshot of `tick` should cover that many ticks (one input per tick).
pub fn ticks_to_next_snapshot(tick: u64, tick_rate: u16, snapshot_rate: u16) -> u64 {
    (1..=u64::from(tick_rate.max(1)))
        .find(|&k| snapshot_due(tick + k, tick_rate, snapshot_rate))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_gap_is_the_distance_to_the_next_due_tick() {
        for tick in 1..=90 {
            let k = ticks_to_next_snapshot(tick, 30, 20);
            assert!(snapshot_due(tick + k, 30, 20));
            assert!((1..k).all(|j| !snapshot_due(tick + j, 30, 20)));
        }
        assert_eq!(ticks_to_next_snapshot(7, 30, 10), 2);
    }

    fn gaps(tick_rate: u16, snapshot_rate: u16, ticks: u64) -> Vec<u64> {
        let due: Vec<u64> = (1..=ticks)
            .filter(|&t| snapshot_due(t, tick_rate, snapshot_rate))
            .collect();
        due.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn a_divisor_rate_keeps_a_fixed_gap() {
        assert!(gaps(30, 10, 300).iter().all(|&g| g == 3));
        assert!(gaps(30, 30, 300).iter().all(|&g| g == 1));
    }

    #[test]
    fn twenty_hertz_at_a_thirty_hertz_tick_alternates_one_and_two_tick_gaps() {
        let g = gaps(30, 20, 300);
        assert!(g.iter().all(|&g| g == 1 || g == 2), "{g:?}");
        assert!(g.windows(2).all(|w| w[0] != w[1]), "alternating: {g:?}");
        // Exactly 20 a second.
        let per_second = (1..=30).filter(|&t| snapshot_due(t, 30, 20)).count();
        assert_eq!(per_second, 20);
    }

    #[test]
    fn any_rate_publishes_exactly_its_count_per_second() {
        for tick_rate in [1u16, 7, 30, 60, 64, 240] {
            for snapshot_rate in 1..=tick_rate {
                let count = (1..=u64::from(tick_rate))
                    .filter(|&t| snapshot_due(t, tick_rate, snapshot_rate))
                    .count();
                assert_eq!(
                    count,
                    usize::from(snapshot_rate),
                    "{snapshot_rate} at {tick_rate}"
                );
            }
        }
    }
}
