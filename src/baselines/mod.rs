//! What the RNN is measured against: n-gram models on the same tokens, and
//! text whose true cross-entropy is known exactly.
//!
//! | file | holds |
//! |---|---|
//! | [`ngram`] | interpolated Kneser–Ney, orders 1 to 5 (`rnnlm ngram`) |
//! | [`sentences`] | Kneser–Ney over sentences (`<s> … </s>`), written as ARPA (`rnnlm ngram --arpa`) |
//! | [`arpa`] | back-off models in the ARPA format, read and scored (`rnnlm ngram --load`) |
//! | [`mixture`] | an RNN and an ARPA model mixed token by token, λ by EM (`eval --mix`, `score --mix`) |
//! | [`synth`] | a sticky HMM and a copy source with exact truths (`rnnlm synth`) |

pub mod arpa;
pub mod mixture;
pub mod ngram;
pub mod sentences;
pub mod synth;
