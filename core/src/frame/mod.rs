//! Framing: how a byte stream becomes messages.
//!
//! PLACEHOLDER API (to be implemented by the framing work): signatures are the contract.
#![deny(clippy::indexing_slicing)]

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// Default largest frame: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingKind {
    #[default]
    Raw,
    Line,
    Len16,
    Len32,
    Cobs,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Framing {
    pub kind: FramingKind,
    pub max_frame: usize,
    pub delimiter: u8,
    pub accept_crlf: bool,
}

impl Framing {
    pub fn new(kind: FramingKind) -> Self {
        Framing {
            kind,
            max_frame: DEFAULT_MAX_FRAME,
            delimiter: b'\n',
            accept_crlf: false,
        }
    }
    pub fn with_max_frame(mut self, max: usize) -> Self {
        self.max_frame = max;
        self
    }
    pub fn decoder(&self) -> Decoder {
        todo!()
    }
    pub fn encode(&self, _payload: &[u8], _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        todo!()
    }
}

pub struct Decoder {}

impl Decoder {
    pub fn push(&mut self, _bytes: &[u8]) {
        todo!()
    }
    pub fn pop(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        todo!()
    }
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        todo!()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeError {}
impl fmt::Display for DecodeError {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {}
impl fmt::Display for EncodeError {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}
