//! The matrix's cells, stored once per pair of equivalence classes (and per class and
//! external range) and expanded to endpoint pairs only when they are read.

use super::MatrixCell;

/// No cell: nothing is allowed.
pub(super) const NONE: u32 = u32::MAX;

/// What an endpoint is as one end of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Not this end of any cell.
    None,
    /// A pod or workload of this class.
    Class(u32),
    /// An external range, by its index among the ranges of its side.
    Range(u32),
    /// The ingress controller (source only).
    Ingress,
}

/// The cells of a matrix, by class pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct CellGrid {
    /// Number of classes.
    pub classes: usize,
    /// Set id per (source class, destination class), row-major; [`NONE`] when empty.
    pub pairs: Vec<u32>,
    /// Number of egress-side (destination) ranges.
    pub dst_ranges: usize,
    /// Set id per (source class, destination range), row-major.
    pub to_ranges: Vec<u32>,
    /// Set id per (source range, destination class), row-major.
    pub from_ranges: Vec<u32>,
    /// Set id per destination endpoint of the ingress controller's cells (empty without one).
    pub from_ingress: Vec<u32>,
    /// Per endpoint, its role as a source.
    pub src_role: Vec<Role>,
    /// Per endpoint, its role as a destination.
    pub dst_role: Vec<Role>,
    /// Number of cells.
    pub count: usize,
}

impl CellGrid {
    /// The set id of the cell from endpoint `s` to endpoint `d`, if any.
    pub fn set(&self, s: usize, d: usize) -> Option<u32> {
        let id = match (self.src_role[s], self.dst_role[d]) {
            (Role::Class(a), Role::Class(b)) if s != d => {
                self.pairs[a as usize * self.classes + b as usize]
            }
            (Role::Class(a), Role::Range(k)) => {
                self.to_ranges[a as usize * self.dst_ranges + k as usize]
            }
            (Role::Range(k), Role::Class(b)) => {
                self.from_ranges[k as usize * self.classes + b as usize]
            }
            (Role::Ingress, _) => self.from_ingress.get(d).copied().unwrap_or(NONE),
            _ => NONE,
        };
        (id != NONE).then_some(id)
    }

    /// Counts the cells: every allowed class pair stands for the pairs of its members.
    pub fn count_cells(&self, members: &[usize]) -> usize {
        let c = self.classes;
        let mut n = 0usize;
        for a in 0..c {
            for b in 0..c {
                if self.pairs[a * c + b] != NONE {
                    n += members[a] * members[b];
                    if a == b {
                        n -= members[a];
                    }
                }
            }
            n += members[a]
                * self.to_ranges[a * self.dst_ranges..(a + 1) * self.dst_ranges]
                    .iter()
                    .filter(|s| **s != NONE)
                    .count();
        }
        for (i, s) in self.from_ranges.iter().enumerate() {
            if *s != NONE {
                n += members[i % c.max(1)];
            }
        }
        n + self.from_ingress.iter().filter(|s| **s != NONE).count()
    }
}

/// The cells in (source, destination) order, expanded from their classes as they are read.
pub struct Cells<'m> {
    grid: &'m CellGrid,
    src: usize,
    dst: usize,
}

impl<'m> Cells<'m> {
    pub(super) fn new(grid: &'m CellGrid) -> Self {
        Cells {
            grid,
            src: 0,
            dst: 0,
        }
    }
}

impl Iterator for Cells<'_> {
    type Item = MatrixCell;

    fn next(&mut self) -> Option<MatrixCell> {
        let g = self.grid;
        let n = g.src_role.len();
        while self.src < n {
            if g.src_role[self.src] != Role::None {
                while self.dst < n {
                    let d = self.dst;
                    self.dst += 1;
                    if let Some(set) = g.set(self.src, d) {
                        return Some(MatrixCell {
                            src: self.src as u32,
                            dst: d as u32,
                            set,
                        });
                    }
                }
            }
            self.src += 1;
            self.dst = 0;
        }
        None
    }
}
