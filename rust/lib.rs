//! turbotrack's native core. The engine modules below know nothing of Python; `py` is the
//! binding, and the only module that uses pyo3.

pub mod batching;
pub mod direct_read;
pub mod downsample;
pub mod error;
pub mod exit_status;
pub mod format;
pub mod fsutil;
pub mod health;
pub mod names;
pub mod reader;
pub mod record;
pub mod sink;
pub mod step;
pub mod summary;
pub mod tee;
pub mod tensor_stats;
pub mod value;
pub mod wandb_log;
pub mod writer;
pub mod zoom;

mod py;
