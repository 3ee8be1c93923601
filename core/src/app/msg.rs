//! Chat's structured messages, encoded with postcard (one message per frame).
//!
//! Wire format: postcard of [`ClientMsg`] (client to server) or [`ServerMsg`]
//! (server to client); a frame must hold exactly one message and nothing after it.
//! Strings are UTF-8 (postcard checks it on decoding).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// What a chat client sends.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ClientMsg {
    /// The first message: the nickname to chat under.
    Join { name: String },
    /// A line said to everyone else.
    Say { text: String },
    /// Goodbye; the client closes after it.
    Leave,
}

/// What the chat server sends.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ServerMsg {
    /// The answer to `Join`: your name and who else is here, in joining order.
    Welcome { name: String, online: Vec<String> },
    /// Someone else joined.
    Joined { name: String },
    /// Someone else said something.
    Said { from: String, text: String },
    /// Someone else left (or dropped).
    Left { name: String },
}

/// A frame that is not exactly one message of the expected kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MsgError {
    /// Not a valid postcard message (bad tag, truncated, invalid UTF-8, ...).
    Malformed,
    /// A valid message followed by this many extra bytes.
    Trailing(usize),
    /// The message could not be encoded.
    Encode,
}

impl fmt::Display for MsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgError::Malformed => f.write_str("malformed chat message"),
            MsgError::Trailing(n) => write!(f, "{n} stray bytes after a chat message"),
            MsgError::Encode => f.write_str("chat message could not be encoded"),
        }
    }
}

/// Encode one message.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, MsgError> {
    postcard::to_allocvec(msg).map_err(|_| MsgError::Encode)
}

/// Decode exactly one message from a frame.
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a [u8]) -> Result<T, MsgError> {
    let (msg, rest) = postcard::take_from_bytes(frame).map_err(|_| MsgError::Malformed)?;
    if rest.is_empty() {
        Ok(msg)
    } else {
        Err(MsgError::Trailing(rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn round_trips_against_fixed_bytes() {
        let say = ClientMsg::Say {
            text: "hi".to_string(),
        };
        let bytes = encode(&say).unwrap();
        // variant 1, length 2, "hi"
        assert_eq!(bytes, [1, 2, b'h', b'i']);
        assert_eq!(decode::<ClientMsg>(&bytes), Ok(say));
        let welcome = ServerMsg::Welcome {
            name: "ann".to_string(),
            online: vec!["bob".to_string()],
        };
        assert_eq!(decode::<ServerMsg>(&encode(&welcome).unwrap()), Ok(welcome));
    }

    #[test]
    fn rejects_bad_frames() {
        assert_eq!(decode::<ClientMsg>(&[9]), Err(MsgError::Malformed));
        assert_eq!(decode::<ClientMsg>(&[1, 5, b'h']), Err(MsgError::Malformed));
        assert_eq!(decode::<ClientMsg>(&[1, 1, 0xff]), Err(MsgError::Malformed));
        assert_eq!(decode::<ClientMsg>(&[2, 7, 7]), Err(MsgError::Trailing(2)));
        assert_eq!(decode::<ClientMsg>(&[]), Err(MsgError::Malformed));
    }
}
