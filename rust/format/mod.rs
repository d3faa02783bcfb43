//! The history file format (see docs/file-format.md): a header, then append-only blocks,
//! each independently decodable, zstd-compressed, with its length and a CRC-32.

pub mod block;
pub mod codec;
pub mod column;
pub mod decode;
pub mod decode_into;
pub mod encode;
pub mod stats;

pub use block::{
    check_stream, read_blocks, scan_stream, BlockWalker, Damage, FileHeader, ReadReport, Source, WalkError,
};
pub use column::ColData;
pub use decode::{decode_block, decode_block_projected, decode_column, decode_steps, DecodedBlock, DecodedColumn};
pub use encode::BlockEncoder;

/// Magic bytes at the start of a history file.
pub const FILE_MAGIC: &[u8; 4] = b"TTRK";
/// Magic bytes at the start of each block.
pub const BLOCK_MAGIC: &[u8; 4] = b"TTBK";
/// The format version this build writes. Version 2 added nulls (a null bitmap per column, the
/// null column type); a version-1 file is read the same way (it has neither). Version 3 added
/// per-block column statistics and a payload cut into frames (`stats.rs`); its payload decodes
/// as version 2's, so every reader path but the statistics one is unchanged.
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this build reads.
pub const MIN_FORMAT_VERSION: u16 = 1;
/// zstd level for blocks: fast, and most of the gain comes from the column transforms.
pub const ZSTD_LEVEL: i32 = 3;
