//! Everything that touches files: text in, checkpoints, NumPy tensors and
//! JSON in and out.
//!
//! | file | holds |
//! |---|---|
//! | [`fs`] | atomic writes; UTF-8 text reading with the offset of a bad byte |
//! | [`checkpoint`] | the versioned, checksummed model and training-state file |
//! | [`npy`] | NumPy `.npy` (format 1.0) for f32 tensors |
//! | [`json`] | the JSON value, its parser and the crate's one JSON writer |
//! | [`export`] | `rnnlm export` / `import`: `.npy` tensors, `vocab.json`, `config.json` |

pub mod checkpoint;
pub mod export;
pub mod fs;
pub mod json;
pub mod npy;
