//! The Confluent wire format of a record value written through a schema registry, the same for Avro and
//! JSON Schema: byte 0 is the magic byte 0x00, bytes 1-4 the writer schema's id in the registry
//! (big-endian u32), then the payload: an Avro binary datum (no container file, no sync markers), or the
//! JSON text of the event (JSON Schema). Subjects follow the TopicNameStrategy: `<topic>-value`.

/// The first byte of a value in the Confluent wire format.
pub const MAGIC: u8 = 0;
/// The magic byte and the schema id.
const HEADER_LEN: usize = 5;

/// Why a value is not in the wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error(
        "failed to read the Confluent framing: the value has {len} bytes, fewer than the header's 5"
    )]
    Truncated { len: usize },
    #[error(
        "failed to read the Confluent framing: the first byte is {0:#04x}, not the magic byte 0x00"
    )]
    NoMagic(u8),
}

/// The value `id` + `payload` in the Confluent wire format.
pub fn frame(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER_LEN + payload.len());
    value.push(MAGIC);
    value.extend_from_slice(&id.to_be_bytes());
    value.extend_from_slice(payload);
    value
}

/// Whether a value is in the Confluent wire format (starts with the magic byte; a JSON event starts
/// with `{` or whitespace).
pub fn is_framed(value: &[u8]) -> bool {
    value.first() == Some(&MAGIC)
}

/// The schema id and the payload of a value in the Confluent wire format.
pub fn unframe(value: &[u8]) -> Result<(u32, &[u8]), FramingError> {
    match value {
        [MAGIC, a, b, c, d, payload @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), payload)),
        [first, ..] if *first != MAGIC => Err(FramingError::NoMagic(*first)),
        _ => Err(FramingError::Truncated { len: value.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_puts_the_id_big_endian_after_the_magic_byte() {
        let value = frame(0x0102_0304, b"datum");
        assert_eq!(&value[..5], &[0, 1, 2, 3, 4]);
        assert!(is_framed(&value));
        assert_eq!(unframe(&value).unwrap(), (0x0102_0304, &b"datum"[..]));
        assert_eq!(unframe(&frame(7, b"")).unwrap(), (7, &b""[..]));
        assert_eq!(unframe(&[0, 0, 1]), Err(FramingError::Truncated { len: 3 }));
        assert_eq!(unframe(b"{\"a\":1}"), Err(FramingError::NoMagic(b'{')));
        assert!(!is_framed(b"{\"number\":1}"));
        assert!(!is_framed(b""));
    }
}
