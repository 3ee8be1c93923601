//! Chat's structured messages, one per frame, in one of two [`Encoding`]s.
//!
//! Wire format: [`ClientMsg`] (client to server) or [`ServerMsg`] (server to
//! client), as postcard (compact binary, for the len16/len32/cobs framings) or as
//! JSON text (for `line` framing, where the binary form could hold the delimiter:
//! JSON escapes every control character, so a message is always one line, e.g.
//! `{"Join":{"name":"ann"}}`, `{"Say":{"text":"hi"}}`, `"Leave"`). A frame must
//! hold exactly one message and nothing after it. Strings are UTF-8 (both
//! decoders check it).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::json::{self, FromJson, Node};

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

impl FromJson for ClientMsg {
    fn from_json(node: &Node) -> Result<Self, json::Error> {
        let (name, content) = node.tagged(&["Join", "Say", "Leave"], "enum ClientMsg")?;
        Ok(match name {
            "Join" => ClientMsg::Join {
                name: json::variant_field(node, content, "name")?,
            },
            "Say" => ClientMsg::Say {
                text: json::variant_field(node, content, "text")?,
            },
            _ => {
                json::unit_variant(content)?;
                ClientMsg::Leave
            }
        })
    }
}

impl FromJson for ServerMsg {
    fn from_json(node: &Node) -> Result<Self, json::Error> {
        let variants = &["Welcome", "Joined", "Said", "Left"];
        let (name, content) = node.tagged(variants, "enum ServerMsg")?;
        let field = |f| json::variant_field::<String>(node, content, f);
        Ok(match name {
            "Welcome" => ServerMsg::Welcome {
                name: field("name")?,
                online: json::variant_field(node, content, "online")?,
            },
            "Joined" => ServerMsg::Joined {
                name: field("name")?,
            },
            "Said" => ServerMsg::Said {
                from: field("from")?,
                text: field("text")?,
            },
            _ => ServerMsg::Left {
                name: field("name")?,
            },
        })
    }
}

/// How messages become frame payloads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Encoding {
    /// postcard: compact binary.
    Postcard,
    /// JSON text, one message per line.
    Json,
}

/// A frame that is not exactly one message of the expected kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MsgError {
    /// Not a valid message (bad tag, truncated, invalid UTF-8, ...).
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

impl Encoding {
    /// Encode one message.
    pub fn encode<T: Serialize>(self, msg: &T) -> Result<Vec<u8>, MsgError> {
        match self {
            Encoding::Postcard => postcard::to_allocvec(msg).map_err(|_| MsgError::Encode),
            Encoding::Json => serde_json::to_vec(msg).map_err(|_| MsgError::Encode),
        }
    }

    /// Decode exactly one message from a frame.
    pub fn decode<'a, T: Deserialize<'a> + FromJson>(self, frame: &'a [u8]) -> Result<T, MsgError> {
        match self {
            Encoding::Postcard => {
                let (msg, rest) =
                    postcard::take_from_bytes(frame).map_err(|_| MsgError::Malformed)?;
                if rest.is_empty() {
                    Ok(msg)
                } else {
                    Err(MsgError::Trailing(rest.len()))
                }
            }
            // The reader refuses anything but whitespace after the value.
            Encoding::Json => core::str::from_utf8(frame)
                .ok()
                .and_then(|text| crate::json::from_str(text).ok())
                .ok_or(MsgError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    use Encoding::{Json, Postcard};

    #[test]
    fn round_trips_against_fixed_bytes() {
        let say = ClientMsg::Say {
            text: "hi\nthere".to_string(),
        };
        let bytes = Postcard.encode(&say).unwrap();
        // variant 1, length 8, the text
        assert_eq!(bytes, b"\x01\x08hi\nthere");
        assert_eq!(Postcard.decode::<ClientMsg>(&bytes), Ok(say.clone()));
        let json = Json.encode(&say).unwrap();
        assert_eq!(json, br#"{"Say":{"text":"hi\nthere"}}"#);
        assert_eq!(Json.decode::<ClientMsg>(&json), Ok(say));
        assert_eq!(Json.encode(&ClientMsg::Leave).unwrap(), br#""Leave""#);
        let welcome = ServerMsg::Welcome {
            name: "ann".to_string(),
            online: vec!["bob".to_string()],
        };
        for enc in [Postcard, Json] {
            let bytes = enc.encode(&welcome).unwrap();
            assert_eq!(enc.decode::<ServerMsg>(&bytes), Ok(welcome.clone()));
        }
    }

    #[test]
    fn rejects_bad_frames() {
        assert_eq!(Postcard.decode::<ClientMsg>(&[9]), Err(MsgError::Malformed));
        assert_eq!(
            Postcard.decode::<ClientMsg>(&[1, 5, b'h']),
            Err(MsgError::Malformed)
        );
        assert_eq!(
            Postcard.decode::<ClientMsg>(&[1, 1, 0xff]),
            Err(MsgError::Malformed)
        );
        assert_eq!(
            Postcard.decode::<ClientMsg>(&[2, 7, 7]),
            Err(MsgError::Trailing(2))
        );
        assert_eq!(Postcard.decode::<ClientMsg>(&[]), Err(MsgError::Malformed));
        for bad in [&br#""Leave" x"#[..], br#"{"Shout":{}}"#, b"\xff", b""] {
            assert_eq!(Json.decode::<ClientMsg>(bad), Err(MsgError::Malformed));
        }
    }
}
