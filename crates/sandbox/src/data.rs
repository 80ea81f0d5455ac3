//! Seeded data: SKUs, locations and quantities, from a handful to millions of positions.

use syncd_core::model::StockPosition;

/// `n` distinct stock positions over `locations` locations, the same for the same seed.
pub fn stock_positions(seed: u64, n: usize, locations: usize) -> Vec<StockPosition> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let locations = locations.max(1);
    (0..n)
        .map(|i| {
            let sku = format!("SKU-{:07}", i / locations);
            let location = format!("LOC_{:03}", i % locations);
            StockPosition::new(sku, location, rng.i64(0..500))
        })
        .collect()
}

/// The same positions with `changed` of them given a new quantity, spread over the list.
pub fn with_changes(
    mut positions: Vec<StockPosition>,
    seed: u64,
    changed: usize,
) -> Vec<StockPosition> {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let step = (positions.len() / changed.max(1)).max(1);
    for p in positions.iter_mut().step_by(step).take(changed) {
        p.on_hand += 1 + rng.i64(0..50);
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_positions_are_distinct_and_repeatable() {
        let a = stock_positions(1, 1000, 7);
        let keys: std::collections::HashSet<_> = a.iter().map(StockPosition::key).collect();
        assert_eq!(keys.len(), 1000);
        assert_eq!(a, stock_positions(1, 1000, 7));
        let changed = with_changes(a.clone(), 1, 7);
        assert_eq!(a.iter().zip(&changed).filter(|(x, y)| x != y).count(), 7);
    }
}
