//! Files and formats that know nothing of training: text in, NumPy tensors
//! and JSON in and out. (The checkpoint format stores the training state as
//! well, so it lives beside it: `train::checkpoint`.)
//!
//! | file | holds |
//! |---|---|
//! | [`fs`] | atomic writes; UTF-8 text reading with the offset of a bad byte |
//! | [`npy`] | NumPy `.npy` (format 1.0) for f32 tensors |
//! | [`json`] | the JSON value, its parser and the crate's one JSON writer |
//! | [`export`] | `rnnlm export` / `import`: `.npy` tensors, `vocab.json`, `config.json` |

pub mod export;
pub mod fs;
pub mod json;
pub mod npy;
