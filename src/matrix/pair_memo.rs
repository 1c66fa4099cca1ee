//! A memo of values computed once per pair of small ids.

use foldhash::HashMap;

/// Not computed yet.
const UNSET: u32 = u32::MAX - 1;

/// Pairs up to this many are memoised in a dense table, larger ones in a hash map.
const DENSE_LIMIT: usize = 1 << 22;

/// A value per `(a, b)` pair of ids, computed on first use.
pub(super) struct PairMemo {
    cols: usize,
    dense: Vec<u32>,
    sparse: HashMap<(u32, u32), u32>,
}

impl PairMemo {
    /// A memo for `a < rows`, `b < cols`.
    pub fn new(rows: usize, cols: usize) -> Self {
        let cells = rows.saturating_mul(cols);
        PairMemo {
            cols,
            dense: if cells <= DENSE_LIMIT {
                vec![UNSET; cells]
            } else {
                Vec::new()
            },
            sparse: HashMap::default(),
        }
    }

    /// The value of `(a, b)`, computed by `f` the first time (`f` must not return `u32::MAX - 1`).
    pub fn get_or_insert(&mut self, a: u32, b: u32, f: impl FnOnce() -> u32) -> u32 {
        if self.dense.is_empty() {
            return *self.sparse.entry((a, b)).or_insert_with(f);
        }
        let i = a as usize * self.cols + b as usize;
        match self.dense.get(i).copied() {
            Some(UNSET) => {
                let v = f();
                self.dense[i] = v;
                v
            }
            Some(v) => v,
            None => *self.sparse.entry((a, b)).or_insert_with(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_dense_and_sparse() {
        for (rows, cols) in [(3, 4), (1 << 12, 1 << 12)] {
            let mut m = PairMemo::new(rows, cols);
            let mut calls = 0;
            for _ in 0..2 {
                let v = m.get_or_insert(2, 3, || {
                    calls += 1;
                    7
                });
                assert_eq!(v, 7);
            }
            assert_eq!(calls, 1);
            assert_eq!(m.get_or_insert(1, 3, || u32::MAX), u32::MAX);
            assert_eq!(m.get_or_insert(1, 3, || 5), u32::MAX);
        }
    }
}
