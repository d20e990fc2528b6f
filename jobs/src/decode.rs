//! `stream`'s input values as they come from the consumer: a JSON event is used as it is; a value in the
//! Confluent wire format (magic byte 0x00, schema id, payload; see `wire.rs`) is read with its writer
//! schema, fetched by id from the schema registry (`--schema-registry`, once per id):
//! - Avro (`avro.rs`): the datum is decoded into the event, which the windows use as it is (with the
//!   checks a JSON event gets), and which is landed as its JSON (the same bytes as the JSON event);
//! - JSON Schema (`json_schema.rs`): the payload is the event's JSON, used as it is (no copy), once the
//!   writer schema was checked to describe the expected event;
//!
//! so that windows, landing, replay and dead letters work unchanged.
//!
//! A framed value that cannot be read is a dead letter: `unknown_schema` (no registry configured, the id
//! is not in the registry, or the schema is of a type stream does not read, e.g. Protobuf), `bad_avro`
//! (shorter than the header, the schema is not an Avro schema of the expected event, or the datum does
//! not decode with it) or `bad_json_schema` (the JSON Schema does not describe the expected event). A
//! JSON Schema payload is then judged like a JSON event (`bad_json`, `missing_field`, ...). A registry that
//! does not answer, or answers with another error, is the caller's error: nothing about the record is
//! known.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::avro::WriterSchema;
use crate::events::{DemoEvent, EventKind};
use crate::json_schema;
use crate::registry::{RegisteredSchema, RegistryError, SchemaRegistry, SchemaType};
use crate::window::{self, Event, Malformed};
use crate::wire;

/// One input value, ready for the windows.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// Not in the Confluent wire format: the value as it is (JSON, or anything `window::parse` judges).
    Plain(Option<&'a [u8]>),
    /// An Avro value, decoded into the event.
    Decoded(DemoEvent),
    /// A JSON Schema value: its JSON, after the header.
    Unframed(&'a [u8]),
    /// A framed value that cannot be read: a dead letter.
    Undecodable(Malformed),
}

impl Input<'_> {
    /// The event the windows use, or why the value is malformed (a JSON value is parsed here).
    pub fn event(&self, kind: EventKind) -> Result<Event, Malformed> {
        match self {
            Input::Plain(value) => window::parse(kind, *value),
            Input::Unframed(json) => window::parse(kind, Some(json)),
            Input::Decoded(event) => Event::of(event),
            Input::Undecodable(m) => Err(m.clone()),
        }
    }

    /// The JSON that is landed for a well-formed value (`None` for an undecodable value, or a record
    /// without a value): the value itself, or a decoded event's JSON.
    pub fn json(&self) -> Option<Cow<'_, [u8]>> {
        match self {
            Input::Plain(value) => value.map(Cow::Borrowed),
            Input::Decoded(event) => Some(Cow::Owned(event.to_json().into_bytes())),
            Input::Unframed(json) => Some(Cow::Borrowed(json)),
            Input::Undecodable(_) => None,
        }
    }
}

/// How the values written with one schema id are read.
#[derive(Debug)]
enum Writer {
    Avro(WriterSchema),
    /// A JSON Schema that describes the expected event.
    JsonSchema,
    /// Why the values cannot be read as the expected events: a dead letter's reason and detail.
    Unreadable {
        reason: &'static str,
        detail: String,
    },
}

impl Writer {
    fn new(kind: EventKind, registered: &RegisteredSchema) -> Writer {
        let unreadable = |reason, detail: String| Writer::Unreadable { reason, detail };
        match &registered.schema_type {
            SchemaType::Avro => match WriterSchema::new(kind, &registered.schema) {
                Ok(writer) => Writer::Avro(writer),
                Err(e) => unreadable("bad_avro", e.to_string()),
            },
            SchemaType::Json => match json_schema::check_writer(kind, &registered.schema) {
                Ok(()) => Writer::JsonSchema,
                Err(e) => unreadable("bad_json_schema", e.to_string()),
            },
            SchemaType::Other(name) => unreadable(
                "unknown_schema",
                format!("a {name} schema: stream reads Avro and JSON Schema values"),
            ),
        }
    }
}

/// Decodes the input values of one event kind, with the writer schemas seen so far.
#[derive(Debug)]
pub struct Decoder {
    kind: EventKind,
    registry: Option<SchemaRegistry>,
    /// Per schema id: the writer schema, or why its datums cannot be read as this kind's events.
    writers: HashMap<u32, Writer>,
}

impl Decoder {
    pub fn new(kind: EventKind, registry: Option<SchemaRegistry>) -> Decoder {
        Decoder {
            kind,
            registry,
            writers: HashMap::new(),
        }
    }

    /// The value, read with its writer schema when it is in the Confluent wire format. Errs only when
    /// the registry could not be asked (no answer, or an error other than "schema not found").
    pub fn decode<'a>(&mut self, value: Option<&'a [u8]>) -> Result<Input<'a>, RegistryError> {
        let Some(bytes) = value.filter(|v| wire::is_framed(v)) else {
            return Ok(Input::Plain(value));
        };
        let (id, payload) = match wire::unframe(bytes) {
            Ok(framed) => framed,
            Err(e) => return Ok(undecodable("bad_avro", e.to_string())),
        };
        if !self.writers.contains_key(&id) {
            match self.fetch(id)? {
                Some(writer) => {
                    self.writers.insert(id, writer);
                }
                None => return Ok(undecodable("unknown_schema", self.unknown(id))),
            }
        }
        Ok(match &self.writers[&id] {
            Writer::Avro(writer) => match writer.decode(payload) {
                Ok(event) => Input::Decoded(event),
                Err(e) => undecodable("bad_avro", format!("schema {id}: {e}")),
            },
            Writer::JsonSchema => Input::Unframed(payload),
            Writer::Unreadable { reason, detail } => {
                undecodable(reason, format!("schema {id}: {detail}"))
            }
        })
    }

    /// How values of schema `id` are read, or `None` when there is no registry or it does not know the
    /// id.
    fn fetch(&mut self, id: u32) -> Result<Option<Writer>, RegistryError> {
        let Some(registry) = self.registry.as_mut() else {
            return Ok(None);
        };
        match registry.schema(id) {
            Ok(registered) => Ok(Some(Writer::new(self.kind, &registered))),
            Err(RegistryError::SchemaNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn unknown(&self, id: u32) -> String {
        match &self.registry {
            None => format!(
                "the value is in the Confluent wire format (schema id {id}), but no --schema-registry is set"
            ),
            Some(registry) => format!(
                "the schema id {id} is not in the registry at {}",
                registry.url()
            ),
        }
    }
}

fn undecodable(reason: &'static str, detail: String) -> Input<'static> {
    Input::Undecodable(Malformed { reason, detail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::{self, Encoder};
    use crate::events::Generator;

    #[test]
    fn json_passes_and_avro_without_a_registry_is_an_unknown_schema() {
        let mut decoder = Decoder::new(EventKind::Bikes, None);
        let json = br#"{"number":1}"#;
        assert_eq!(
            decoder.decode(Some(json)).unwrap(),
            Input::Plain(Some(json))
        );
        assert_eq!(decoder.decode(None).unwrap(), Input::Plain(None));
        assert_eq!(decoder.decode(Some(b"")).unwrap(), Input::Plain(Some(b"")));

        let event = Generator::new(EventKind::Bikes, 1, 10, 0, 100).next_event();
        let datum = Encoder::new(EventKind::Bikes).datum(&event).unwrap();
        let Input::Undecodable(m) = decoder.decode(Some(&wire::frame(7, &datum))).unwrap() else {
            panic!("decoded without a registry");
        };
        assert_eq!(m.reason, "unknown_schema");
        assert!(m.detail.contains("schema id 7") && m.detail.contains("--schema-registry"));
        // Too short for the header: bad Avro (the header is not even there).
        let Input::Undecodable(m) = decoder.decode(Some(&[0, 0, 1])).unwrap() else {
            panic!("a 3-byte framed value decoded");
        };
        assert_eq!(m.reason, "bad_avro");
        let undecodable = Input::Undecodable(m.clone());
        assert_eq!(undecodable.json(), None);
        assert_eq!(undecodable.event(EventKind::Bikes), Err(m));
    }

    #[test]
    fn cached_writer_schemas_decode_or_give_bad_avro() {
        let mut decoder = Decoder::new(EventKind::Stocks, None);
        let avro_schema = |schema: &str| RegisteredSchema {
            schema_type: SchemaType::Avro,
            schema: schema.into(),
        };
        decoder.writers.insert(
            3,
            Writer::new(EventKind::Stocks, &avro_schema(avro::STOCK_TICK_SCHEMA)),
        );
        decoder.writers.insert(
            4,
            Writer::new(EventKind::Stocks, &avro_schema(avro::STATION_STATUS_SCHEMA)),
        );
        let event = Generator::new(EventKind::Stocks, 1, 10, 0, 100).next_event();
        let datum = Encoder::new(EventKind::Stocks).datum(&event).unwrap();
        let value = wire::frame(3, &datum);
        let decoded = decoder.decode(Some(&value)).unwrap();
        assert_eq!(decoded, Input::Decoded(event.clone()));
        assert_eq!(decoded.json().as_deref(), Some(event.to_json().as_bytes()));
        // the event the windows get is the one its JSON gives
        assert_eq!(
            decoded.event(EventKind::Stocks),
            window::parse(EventKind::Stocks, Some(event.to_json().as_bytes()))
        );
        // a price Avro can hold and JSON cannot (NaN, written as null): malformed either way, for the same
        // reason
        let DemoEvent::Tick(mut tick) = event.clone() else {
            unreachable!("a stocks generator")
        };
        tick.price.amount = f64::NAN;
        let nan = DemoEvent::Tick(tick);
        let datum = Encoder::new(EventKind::Stocks).datum(&nan).unwrap();
        let value = wire::frame(3, &datum);
        let decoded = decoder.decode(Some(&value)).unwrap();
        let from_avro = decoded.event(EventKind::Stocks).unwrap_err();
        let from_json =
            window::parse(EventKind::Stocks, Some(nan.to_json().as_bytes())).unwrap_err();
        assert_eq!(from_avro.reason, "invalid_field", "{}", from_avro.detail);
        assert_eq!(from_json.reason, "invalid_field", "{}", from_json.detail);
        for (id, bytes) in [(3, &datum[..datum.len() - 1]), (4, &datum[..])] {
            let Input::Undecodable(m) = decoder.decode(Some(&wire::frame(id, bytes))).unwrap()
            else {
                panic!("schema {id} decoded");
            };
            assert_eq!(m.reason, "bad_avro", "{}", m.detail);
            assert!(
                m.detail.starts_with(&format!("schema {id}: ")),
                "{}",
                m.detail
            );
        }
    }

    #[test]
    fn json_schema_values_are_their_json_once_the_schema_fits() {
        let mut decoder = Decoder::new(EventKind::Bikes, None);
        let json_schema = |schema: &str| RegisteredSchema {
            schema_type: SchemaType::Json,
            schema: schema.into(),
        };
        let writers = [
            (5, json_schema(json_schema::STATION_STATUS_SCHEMA)),
            (6, json_schema(json_schema::STOCK_TICK_SCHEMA)),
            (
                7,
                RegisteredSchema {
                    schema_type: SchemaType::Other("PROTOBUF".into()),
                    schema: "syntax = \"proto3\";".into(),
                },
            ),
        ];
        for (id, registered) in writers {
            decoder
                .writers
                .insert(id, Writer::new(EventKind::Bikes, &registered));
        }
        let event = Generator::new(EventKind::Bikes, 1, 10, 0, 100).next_event();
        let json = event.to_json();
        let value = wire::frame(5, json.as_bytes());
        let input = decoder.decode(Some(&value)).unwrap();
        assert_eq!(input, Input::Unframed(json.as_bytes()));
        assert_eq!(input.json().as_deref(), Some(json.as_bytes()));
        for (id, reason, detail) in [
            (
                6,
                "bad_json_schema",
                "schema 6: failed to use the writer schema for StationStatus: it declares no property number",
            ),
            (
                7,
                "unknown_schema",
                "schema 7: a PROTOBUF schema: stream reads Avro and JSON Schema values",
            ),
        ] {
            let Input::Undecodable(m) = decoder
                .decode(Some(&wire::frame(id, json.as_bytes())))
                .unwrap()
            else {
                panic!("schema {id} was read");
            };
            assert_eq!((m.reason, m.detail.as_str()), (reason, detail));
        }
    }
}
