//! A small Thrift client: the binary protocol (strict) over a buffered socket, with values as a tree
//! (`Value`) rather than generated code. Enough for the Hive metastore calls the jobs make, and checked
//! against the real metastore by the integration tests.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const VERSION_1: u32 = 0x8001_0000;
const CALL: u32 = 1;
const REPLY: u32 = 2;
const EXCEPTION: u32 = 3;

const T_STOP: u8 = 0;
const T_BOOL: u8 = 2;
const T_BYTE: u8 = 3;
const T_DOUBLE: u8 = 4;
const T_I16: u8 = 6;
const T_I32: u8 = 8;
const T_I64: u8 = 10;
const T_STRING: u8 = 11;
const T_STRUCT: u8 = 12;
const T_MAP: u8 = 13;
const T_SET: u8 = 14;
const T_LIST: u8 = 15;

/// Limits against a corrupt or hostile reply.
const MAX_LENGTH: i32 = 64 << 20;
const MAX_DEPTH: u32 = 64;

/// A Thrift value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Byte(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    Double(f64),
    /// `string` and `binary`.
    Binary(Vec<u8>),
    /// Fields by id, in the order they are written.
    Struct(Vec<(i16, Value)>),
    /// Element type, elements.
    List(u8, Vec<Value>),
    Set(u8, Vec<Value>),
    /// Key type, value type, entries.
    Map(u8, u8, Vec<(Value, Value)>),
}

impl Value {
    pub fn string(s: &str) -> Value {
        Value::Binary(s.as_bytes().to_vec())
    }

    /// A `list<string>`.
    pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::List(
            T_STRING,
            items
                .into_iter()
                .map(|s| Value::string(s.as_ref()))
                .collect(),
        )
    }

    /// A `list<T>` of structs.
    pub fn structs(items: Vec<Value>) -> Value {
        Value::List(T_STRUCT, items)
    }

    /// A `map<string, string>`.
    pub fn string_map<K: AsRef<str>, V: AsRef<str>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Value {
        Value::Map(
            T_STRING,
            T_STRING,
            entries
                .into_iter()
                .map(|(k, v)| (Value::string(k.as_ref()), Value::string(v.as_ref())))
                .collect(),
        )
    }

    fn type_id(&self) -> u8 {
        match self {
            Value::Bool(_) => T_BOOL,
            Value::Byte(_) => T_BYTE,
            Value::I16(_) => T_I16,
            Value::I32(_) => T_I32,
            Value::I64(_) => T_I64,
            Value::Double(_) => T_DOUBLE,
            Value::Binary(_) => T_STRING,
            Value::Struct(_) => T_STRUCT,
            Value::List(..) => T_LIST,
            Value::Set(..) => T_SET,
            Value::Map(..) => T_MAP,
        }
    }

    /// A struct's field.
    pub fn field(&self, id: i16) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(i, _)| *i == id).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Binary(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(_, items) | Value::Set(_, items) => Some(items),
            _ => None,
        }
    }

    /// A `map<string, string>` as pairs (other entries skipped).
    pub fn as_string_map(&self) -> Vec<(String, String)> {
        match self {
            Value::Map(_, _, entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Bool(b) => out.push(u8::from(*b)),
            Value::Byte(b) => out.push(*b as u8),
            Value::I16(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::I32(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::I64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Double(v) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
            Value::Binary(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
            Value::Struct(fields) => {
                for (id, v) in fields {
                    out.push(v.type_id());
                    out.extend_from_slice(&id.to_be_bytes());
                    v.encode(out);
                }
                out.push(T_STOP);
            }
            Value::List(elem, items) | Value::Set(elem, items) => {
                out.push(*elem);
                out.extend_from_slice(&(items.len() as i32).to_be_bytes());
                for v in items {
                    v.encode(out);
                }
            }
            Value::Map(k, v, entries) => {
                out.extend_from_slice(&[*k, *v]);
                out.extend_from_slice(&(entries.len() as i32).to_be_bytes());
                for (key, value) in entries {
                    key.encode(out);
                    value.encode(out);
                }
            }
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ThriftError {
    #[error("failed to connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("failed to talk to {address}: {source}")]
    Io {
        address: String,
        source: std::io::Error,
    },
    #[error(
        "the server closed the connection without a (complete) Thrift reply: not a Hive metastore, or one that expects SASL or framed transport?"
    )]
    Closed,
    #[error("not a Thrift reply: {0}")]
    Protocol(String),
    /// The server could not run the call (unknown method, bad arguments, internal error).
    #[error("{method} failed on the server: {message}")]
    Application { method: String, message: String },
    /// The call threw one of its declared exceptions: `field` is its id in the method's `throws`.
    #[error("{method} refused: {message}")]
    Declared {
        method: String,
        field: i16,
        message: String,
    },
}

/// A connection to a Thrift server (binary protocol, unframed).
pub struct Client {
    address: String,
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    seqid: i32,
}

impl Client {
    /// Connects to `host:port`; `timeout` bounds the connect and each read and write.
    pub fn connect(address: &str, timeout: Duration) -> Result<Client, ThriftError> {
        use std::net::ToSocketAddrs;
        let connect_error = |source| ThriftError::Connect {
            address: address.to_string(),
            source,
        };
        let addr = address
            .to_socket_addrs()
            .map_err(connect_error)?
            .next()
            .ok_or_else(|| {
                connect_error(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the name resolves to no address",
                ))
            })?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(connect_error)?;
        let io_error = |source| ThriftError::Io {
            address: address.to_string(),
            source,
        };
        stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
        stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
        let _ = stream.set_nodelay(true);
        let reader = BufReader::new(stream.try_clone().map_err(io_error)?);
        Ok(Client {
            address: address.to_string(),
            reader,
            writer: BufWriter::new(stream),
            seqid: 0,
        })
    }

    /// Calls `method` with its arguments (fields of the args struct) and returns the result's field 0
    /// (`None` for a `void` method).
    pub fn call(
        &mut self,
        method: &str,
        args: Vec<(i16, Value)>,
    ) -> Result<Option<Value>, ThriftError> {
        self.seqid = self.seqid.wrapping_add(1);
        let message = encode_call(method, self.seqid, &Value::Struct(args));
        let io_error = |source| ThriftError::Io {
            address: self.address.clone(),
            source,
        };
        self.writer.write_all(&message).map_err(io_error)?;
        self.writer.flush().map_err(io_error)?;
        read_reply(&mut self.reader, method, self.seqid)
    }
}

/// A call message: header, then the arguments struct.
pub fn encode_call(method: &str, seqid: i32, args: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&(VERSION_1 | CALL).to_be_bytes());
    Value::string(method).encode(&mut out);
    out.extend_from_slice(&seqid.to_be_bytes());
    args.encode(&mut out);
    out
}

/// Reads the reply to call `seqid` of `method`: its result's field 0, or the declared exception it threw.
pub fn read_reply(
    r: &mut impl Read,
    method: &str,
    seqid: i32,
) -> Result<Option<Value>, ThriftError> {
    let mut d = Decoder { r };
    let header = d.i32()? as u32;
    if header & 0xffff_0000 != VERSION_1 {
        return Err(ThriftError::Protocol(format!(
            "header {header:#010x}: is this a Hive metastore (binary protocol, no SASL, no framing)?"
        )));
    }
    let name = d.string()?;
    let got_seqid = d.i32()?;
    let result = d.value(T_STRUCT, 0)?;
    match header & 0xff {
        EXCEPTION => Err(ThriftError::Application {
            method: method.to_string(),
            message: message_of(&result),
        }),
        REPLY if name == method && got_seqid == seqid => {
            let Value::Struct(fields) = result else {
                unreachable!("decoded as a struct")
            };
            let mut success = None;
            for (id, v) in fields {
                if id == 0 {
                    success = Some(v);
                } else {
                    return Err(ThriftError::Declared {
                        method: method.to_string(),
                        field: id,
                        message: message_of(&v),
                    });
                }
            }
            Ok(success)
        }
        kind => Err(ThriftError::Protocol(format!(
            "unexpected message: type {kind}, name {name:?}, seqid {got_seqid} (expected a reply to {method}, seqid {seqid})"
        ))),
    }
}

/// An exception's message: its field 1 when a string (all metastore exceptions and TApplicationException).
fn message_of(exception: &Value) -> String {
    exception
        .field(1)
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string()
}

struct Decoder<'a, R> {
    r: &'a mut R,
}

impl<R: Read> Decoder<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ThriftError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn fill(&mut self, b: &mut [u8]) -> Result<(), ThriftError> {
        self.r.read_exact(b).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ThriftError::Closed,
            _ => ThriftError::Io {
                address: "the server".into(),
                source: e,
            },
        })
    }

    fn i32(&mut self) -> Result<i32, ThriftError> {
        Ok(i32::from_be_bytes(self.bytes()?))
    }

    fn length(&mut self) -> Result<usize, ThriftError> {
        let n = self.i32()?;
        if !(0..=MAX_LENGTH).contains(&n) {
            return Err(ThriftError::Protocol(format!("bad length {n}")));
        }
        Ok(n as usize)
    }

    fn binary(&mut self) -> Result<Vec<u8>, ThriftError> {
        let mut b = vec![0u8; self.length()?];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, ThriftError> {
        Ok(String::from_utf8_lossy(&self.binary()?).into_owned())
    }

    fn value(&mut self, ty: u8, depth: u32) -> Result<Value, ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::Protocol("values nested too deep".into()));
        }
        Ok(match ty {
            T_BOOL => Value::Bool(self.bytes::<1>()?[0] != 0),
            T_BYTE => Value::Byte(self.bytes::<1>()?[0] as i8),
            T_I16 => Value::I16(i16::from_be_bytes(self.bytes()?)),
            T_I32 => Value::I32(self.i32()?),
            T_I64 => Value::I64(i64::from_be_bytes(self.bytes()?)),
            T_DOUBLE => Value::Double(f64::from_bits(u64::from_be_bytes(self.bytes()?))),
            T_STRING => Value::Binary(self.binary()?),
            T_STRUCT => {
                let mut fields = Vec::new();
                loop {
                    let [fty] = self.bytes()?;
                    if fty == T_STOP {
                        break Value::Struct(fields);
                    }
                    let id = i16::from_be_bytes(self.bytes()?);
                    fields.push((id, self.value(fty, depth + 1)?));
                }
            }
            T_LIST | T_SET => {
                let [elem] = self.bytes()?;
                let n = self.length()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value(elem, depth + 1)?);
                }
                if ty == T_LIST {
                    Value::List(elem, items)
                } else {
                    Value::Set(elem, items)
                }
            }
            T_MAP => {
                let [k, v] = self.bytes()?;
                let n = self.length()?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    entries.push((self.value(k, depth + 1)?, self.value(v, depth + 1)?));
                }
                Value::Map(k, v, entries)
            }
            other => return Err(ThriftError::Protocol(format!("unknown type {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(kind: u32, name: &str, seqid: i32, result: Value) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(VERSION_1 | kind).to_be_bytes());
        Value::string(name).encode(&mut out);
        out.extend_from_slice(&seqid.to_be_bytes());
        result.encode(&mut out);
        out
    }

    #[test]
    fn a_call_is_header_name_seqid_and_args() {
        let call = encode_call(
            "get_table",
            7,
            &Value::Struct(vec![(1, Value::string("db")), (2, Value::string("t"))]),
        );
        let mut expected = vec![0x80, 0x01, 0x00, 0x01, 0, 0, 0, 9];
        expected.extend_from_slice(b"get_table");
        expected.extend_from_slice(&[0, 0, 0, 7]);
        expected.extend_from_slice(&[T_STRING, 0, 1, 0, 0, 0, 2, b'd', b'b']);
        expected.extend_from_slice(&[T_STRING, 0, 2, 0, 0, 0, 1, b't', T_STOP]);
        assert_eq!(call, expected);
    }

    #[test]
    fn every_type_round_trips() {
        let value = Value::Struct(vec![
            (1, Value::Bool(true)),
            (2, Value::Byte(-3)),
            (3, Value::I16(-300)),
            (4, Value::I32(1 << 20)),
            (5, Value::I64(-(1 << 40))),
            (6, Value::Double(2.5)),
            (7, Value::string("é")),
            (8, Value::strings(["a", "b"])),
            (9, Value::Set(T_I32, vec![Value::I32(1)])),
            (10, Value::string_map([("k", "v")])),
            (
                11,
                Value::structs(vec![Value::Struct(vec![(1, Value::I64(1))])]),
            ),
        ]);
        let bytes = reply(REPLY, "m", 1, Value::Struct(vec![(0, value.clone())]));
        assert_eq!(read_reply(&mut &bytes[..], "m", 1).unwrap(), Some(value));
    }

    #[test]
    fn declared_and_application_exceptions_and_void() {
        let thrown = Value::Struct(vec![(
            2,
            Value::Struct(vec![(1, Value::string("no such table"))]),
        )]);
        let bytes = reply(REPLY, "get_table", 1, thrown);
        match read_reply(&mut &bytes[..], "get_table", 1) {
            Err(ThriftError::Declared {
                field: 2, message, ..
            }) => assert_eq!(message, "no such table"),
            other => panic!("{other:?}"),
        }
        let app = reply(
            EXCEPTION,
            "nope",
            1,
            Value::Struct(vec![(1, Value::string("Invalid method name: 'nope'"))]),
        );
        let err = read_reply(&mut &app[..], "nope", 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nope failed on the server: Invalid method name: 'nope'"
        );
        let void = reply(REPLY, "create_table", 1, Value::Struct(vec![]));
        assert_eq!(read_reply(&mut &void[..], "create_table", 1).unwrap(), None);
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        assert!(matches!(
            read_reply(&mut &b"HTTP/1.1 400 Bad Request\r\n"[..], "m", 1),
            Err(ThriftError::Protocol(_))
        ));
        let bytes = reply(
            REPLY,
            "m",
            1,
            Value::Struct(vec![(0, Value::string("abc"))]),
        );
        for cut in 0..bytes.len() {
            assert!(
                read_reply(&mut &bytes[..cut], "m", 1).is_err(),
                "cut at {cut}"
            );
        }
        let mut huge = reply(REPLY, "m", 1, Value::Struct(vec![]));
        huge.truncate(huge.len() - 1);
        huge.extend_from_slice(&[T_STRING, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(
            read_reply(&mut &huge[..], "m", 1),
            Err(ThriftError::Protocol(m)) if m.contains("bad length")
        ));
    }
}
