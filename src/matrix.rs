//! `Matrix<T>`: an owned, row-major buffer, and the borrowed views the matmul
//! and the model pass around.
//!
//! - [`Matrix`] owns `rows × cols` elements, row `i` at `data[i·cols ..]`.
//! - [`MatRef`] is a read-only view with arbitrary row and column strides, so a
//!   transpose ([`MatRef::t`]) or a block is free: no data moves.
//! - [`MatMut`] is a writable view with unit column stride (rows may be spaced
//!   by a leading dimension `ld ≥ cols`). Every output in the crate is
//!   row-major, and unit stride is what lets the SIMD kernels store whole rows.
//!
//! Shape mismatches are programming errors and panic with both shapes.

use crate::rng::Rng;
use crate::scalar::Float;

/// An owned row-major `rows × cols` matrix.
#[derive(Clone, PartialEq)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Matrix<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matrix[{} × {}]", self.rows, self.cols)?;
        if self.data.len() <= 64 && self.cols > 0 {
            for row in self.data.chunks(self.cols) {
                write!(f, "\n  {row:?}")?;
            }
        }
        Ok(())
    }
}

/// `rows · cols`, the entries of a matrix.
///
/// # Panics
/// If the product overflows `usize`: a size no machine can hold, which
/// the commands refuse before building a model ([`crate::memory`]).
pub fn entries(rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols)
        .unwrap_or_else(|| panic!("a {rows} × {cols} matrix has more entries than usize can count"))
}

impl<T: Float> Matrix<T> {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![T::zero(); entries(rows, cols)],
        }
    }

    /// A `rows × cols` matrix with every entry `value`.
    pub fn filled(rows: usize, cols: usize, value: T) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![value; entries(rows, cols)],
        }
    }

    /// Wrap a row-major vector.
    ///
    /// # Panics
    /// If `data.len() != rows · cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Self {
        assert_eq!(
            data.len(),
            entries(rows, cols),
            "Matrix::from_vec: {} elements do not fill a {rows} × {cols} matrix",
            data.len()
        );
        Matrix { rows, cols, data }
    }

    /// Entries drawn uniformly from `[lo, hi)`.
    pub fn uniform(rows: usize, cols: usize, lo: f64, hi: f64, rng: &mut Rng) -> Self {
        let data = (0..entries(rows, cols))
            .map(|_| T::from_f64(rng.uniform_range(lo, hi)))
            .collect();
        Matrix { rows, cols, data }
    }

    /// Entries drawn from a normal distribution `N(0, std²)`.
    pub fn normal(rows: usize, cols: usize, std: f64, rng: &mut Rng) -> Self {
        let data = (0..entries(rows, cols))
            .map(|_| T::from_f64(std * rng.normal()))
            .collect();
        Matrix { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Row `i` as a slice.
    ///
    /// # Panics
    /// If `i >= rows`.
    pub fn row(&self, i: usize) -> &[T] {
        assert!(i < self.rows, "row {i} of a {} × {} matrix", self.rows, self.cols);
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i` as a mutable slice.
    ///
    /// # Panics
    /// If `i >= rows`.
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        assert!(i < self.rows, "row {i} of a {} × {} matrix", self.rows, self.cols);
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> T {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {} × {}",
            self.rows,
            self.cols
        );
        self.data[i * self.cols + j]
    }

    /// Set entry `(i, j)`.
    pub fn set(&mut self, i: usize, j: usize, v: T) {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {} × {}",
            self.rows,
            self.cols
        );
        self.data[i * self.cols + j] = v;
    }

    /// Set every entry to zero (keeps the allocation).
    pub fn fill_zero(&mut self) {
        self.data.fill(T::zero());
    }

    /// Reshape in place, reusing the allocation; contents become zero.
    pub fn resize_zeroed(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.clear();
        self.data.resize(entries(rows, cols), T::zero());
    }

    /// Make the shape `rows × cols`, zeroed, unless it already is (then
    /// nothing changes and nothing is allocated): for a cache sized once
    /// per shape and reused.
    pub fn ensure_shape(&mut self, rows: usize, cols: usize) {
        if self.shape() != (rows, cols) {
            self.resize_zeroed(rows, cols);
        }
    }

    /// Set the shape to `rows × cols` keeping the allocation and whatever
    /// the entries hold (entries beyond the old length are zero): for a
    /// buffer that the next product overwrites (β = 0), where
    /// [`Matrix::resize_zeroed`] would clear it for nothing.
    pub fn reshape_for_overwrite(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.resize(entries(rows, cols), T::zero());
    }

    /// A read-only view of the whole matrix.
    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::new(&self.data, self.rows, self.cols, self.cols, 1)
    }

    /// A writable view of the whole matrix.
    pub fn view_mut(&mut self) -> MatMut<'_, T> {
        let (r, c) = (self.rows, self.cols);
        MatMut::new(&mut self.data, r, c, c)
    }

    /// Rows `start .. start + count` as a read-only view.
    pub fn rows_view(&self, start: usize, count: usize) -> MatRef<'_, T> {
        assert!(
            start + count <= self.rows,
            "rows {start}..{} of {} rows",
            start + count,
            self.rows
        );
        MatRef::new(&self.data[start * self.cols..], count, self.cols, self.cols, 1)
    }

    /// Rows `start .. start + count` as a writable view.
    pub fn rows_view_mut(&mut self, start: usize, count: usize) -> MatMut<'_, T> {
        assert!(
            start + count <= self.rows,
            "rows {start}..{} of {} rows",
            start + count,
            self.rows
        );
        let c = self.cols;
        MatMut::new(&mut self.data[start * c..(start + count) * c], count, c, c)
    }

    /// The transpose as a new matrix.
    pub fn transposed(&self) -> Matrix<T> {
        let mut out = Matrix::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        out
    }

    /// Largest absolute difference to `other` (same shape required).
    pub fn max_abs_diff(&self, other: &Matrix<T>) -> f64 {
        assert_eq!(self.shape(), other.shape(), "max_abs_diff: shapes differ");
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a.to_f64() - b.to_f64()).abs())
            .fold(0.0, f64::max)
    }
}

/// A read-only `rows × cols` view: entry `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<T> std::fmt::Debug for MatRef<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MatRef[{} × {}, strides ({}, {})]",
            self.rows, self.cols, self.rs, self.cs
        )
    }
}

/// Smallest buffer length that holds a `rows × cols` view with these strides.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// A view of `data` as `rows × cols` with row stride `rs`, column stride `cs`.
    ///
    /// # Panics
    /// If the view would reach past the end of `data`.
    pub fn new(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let need = span(rows, cols, rs, cs);
        assert!(
            data.len() >= need,
            "MatRef: a {rows} × {cols} view with strides ({rs}, {cs}) needs {need} elements, buffer has {}",
            data.len()
        );
        MatRef {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// A row-major view of a contiguous slice.
    pub fn from_slice(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef::new(data, rows, cols, cols, 1)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn row_stride(&self) -> usize {
        self.rs
    }
    pub fn col_stride(&self) -> usize {
        self.cs
    }
    /// The underlying buffer, starting at entry (0, 0).
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// The same view with f32 entries when `T` is `f32` (see
    /// [`Float::as_f32`]), else `None`.
    pub fn as_f32(self) -> Option<MatRef<'a, f32>>
    where
        T: Float,
    {
        Some(MatRef {
            data: T::as_f32(self.data)?,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        })
    }

    /// The transpose: swaps shape and strides, moves no data.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Entry `(i, j)` (bounds are those of the buffer, checked by indexing).
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.rs + j * self.cs]
    }

    /// The `rows × cols` block whose top-left entry is `(i, j)`.
    ///
    /// # Panics
    /// If the block does not fit.
    pub fn block(&self, i: usize, j: usize, rows: usize, cols: usize) -> Self {
        assert!(
            i + rows <= self.rows && j + cols <= self.cols,
            "block ({i}, {j}) of size {rows} × {cols} outside a {} × {} view",
            self.rows,
            self.cols
        );
        if rows == 0 || cols == 0 {
            return MatRef {
                data: &self.data[..0],
                rows,
                cols,
                rs: self.rs,
                cs: self.cs,
            };
        }
        MatRef {
            data: &self.data[i * self.rs + j * self.cs..],
            rows,
            cols,
            rs: self.rs,
            cs: self.cs,
        }
    }
}

/// A writable `rows × cols` view with unit column stride: entry `(i, j)` is
/// `data[i·ld + j]`, `ld ≥ cols`.
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    ld: usize,
}

impl<T> std::fmt::Debug for MatMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MatMut[{} × {}, ld {}]", self.rows, self.cols, self.ld)
    }
}

impl<'a, T: Copy> MatMut<'a, T> {
    /// A writable view of `data` as `rows × cols`, rows `ld` apart.
    ///
    /// # Panics
    /// If `ld < cols` or the view would reach past the end of `data`.
    pub fn new(data: &'a mut [T], rows: usize, cols: usize, ld: usize) -> Self {
        assert!(
            ld >= cols || rows <= 1,
            "MatMut: leading dimension {ld} < {cols} columns"
        );
        let need = span(rows, cols, ld, 1);
        assert!(
            data.len() >= need,
            "MatMut: a {rows} × {cols} view with leading dimension {ld} needs {need} elements, buffer has {}",
            data.len()
        );
        MatMut { data, rows, cols, ld }
    }

    /// A row-major view of a contiguous slice.
    pub fn from_slice(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        MatMut::new(data, rows, cols, cols)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Distance between rows.
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// The same view with f32 entries when `T` is `f32` (see
    /// [`Float::as_f32_mut`]), else `None`.
    pub fn into_f32(self) -> Option<MatMut<'a, f32>>
    where
        T: Float,
    {
        Some(MatMut {
            data: T::as_f32_mut(self.data)?,
            rows: self.rows,
            cols: self.cols,
            ld: self.ld,
        })
    }

    /// Reborrow as a shorter-lived writable view.
    pub fn rb(&mut self) -> MatMut<'_, T> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            ld: self.ld,
        }
    }

    /// Read-only view of the same entries.
    pub fn as_ref(&self) -> MatRef<'_, T> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            rs: self.ld,
            cs: 1,
        }
    }

    /// Entry `(i, j)`.
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.ld + j]
    }

    /// Mutable entry `(i, j)`.
    #[inline(always)]
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut T {
        &mut self.data[i * self.ld + j]
    }

    /// Row `i` (its `cols` entries).
    #[inline]
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        let start = i * self.ld;
        &mut self.data[start..start + self.cols]
    }

    /// The buffer from entry `(i, j)` to the end of the view, for a kernel that
    /// writes a tile at `(i, j)` with row stride [`MatMut::ld`].
    #[inline]
    pub fn tail_from(&mut self, i: usize, j: usize) -> &mut [T] {
        &mut self.data[i * self.ld + j..]
    }

    /// Split into rows `0..r` and `r..rows`.
    ///
    /// # Panics
    /// If `r > rows`.
    pub fn split_rows(self, r: usize) -> (MatMut<'a, T>, MatMut<'a, T>) {
        assert!(r <= self.rows, "split at row {r} of {}", self.rows);
        let at = (r * self.ld).min(self.data.len());
        let (top, bottom) = self.data.split_at_mut(at);
        (
            MatMut {
                data: top,
                rows: r,
                cols: self.cols,
                ld: self.ld,
            },
            MatMut {
                data: bottom,
                rows: self.rows - r,
                cols: self.cols,
                ld: self.ld,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_view_swaps_indices() {
        let m = Matrix::from_vec(2, 3, vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t = m.view().t();
        assert_eq!((t.rows(), t.cols()), (3, 2));
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(m.get(i, j), t.at(j, i));
            }
        }
        assert_eq!(m.transposed().view().at(2, 1), 6.0);
    }

    #[test]
    fn block_view_reads_the_block() {
        let m = Matrix::from_vec(3, 3, (0..9).map(|x| x as f64).collect());
        let b = m.view().block(1, 1, 2, 2);
        assert_eq!([b.at(0, 0), b.at(0, 1), b.at(1, 0), b.at(1, 1)], [4.0, 5.0, 7.0, 8.0]);
    }

    #[test]
    #[should_panic(expected = "do not fill a 2 × 2")]
    fn from_vec_checks_shape() {
        let _ = Matrix::from_vec(2, 2, vec![0.0f32; 3]);
    }

    #[test]
    #[should_panic(expected = "needs 7 elements")]
    fn view_checks_buffer() {
        let v = [0.0f32; 6];
        let _ = MatRef::new(&v, 2, 3, 4, 1);
    }

    #[test]
    fn split_rows_gives_disjoint_halves() {
        let mut m = Matrix::<f32>::zeros(4, 2);
        let (mut a, mut b) = m.view_mut().split_rows(1);
        *a.at_mut(0, 1) = 1.0;
        *b.at_mut(2, 0) = 2.0;
        assert_eq!(m.get(0, 1), 1.0);
        assert_eq!(m.get(3, 0), 2.0);
    }
}
