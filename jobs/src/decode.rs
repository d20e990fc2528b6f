//! `stream`'s input values as they come from the consumer: a JSON event is used as it is; a value in the
//! Confluent wire format (magic byte 0x00, schema id, Avro datum; see `avro.rs`) is decoded with its writer
//! schema, fetched by id from the schema registry (`--schema-registry`, once per id), into the event's JSON
//! — the same bytes as the JSON event — so that windows, landing, replay and dead letters work unchanged.
//!
//! An Avro value that cannot be read is a dead letter: `unknown_schema` (no registry configured, or the id
//! is not in the registry) or `bad_avro` (shorter than the header, the schema is not an Avro schema of the
//! expected event, or the datum does not decode with it). A registry that does not answer, or answers
//! with another error, is the caller's error: nothing about the record is known.

use std::collections::HashMap;

use crate::avro::{self, WriterSchema};
use crate::events::EventKind;
use crate::registry::{RegistryError, SchemaRegistry};
use crate::window::Malformed;

/// One input value, ready for `window::parse`.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// Not in the Confluent wire format: the value as it is (JSON, or anything `window::parse` judges).
    Plain(Option<&'a [u8]>),
    /// An Avro value, decoded into the event's JSON.
    Decoded(Vec<u8>),
    /// An Avro value that cannot be read: a dead letter.
    Undecodable(Malformed),
}

impl Input<'_> {
    /// The JSON to parse (`None` for an undecodable value, or a record without a value).
    pub fn json(&self) -> Option<&[u8]> {
        match self {
            Input::Plain(value) => *value,
            Input::Decoded(json) => Some(json),
            Input::Undecodable(_) => None,
        }
    }
}

/// A writer schema, or why its datums cannot be read as the expected events.
type Writer = Result<WriterSchema, String>;

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

    /// The value, decoded when it is in the Confluent wire format. Errs only when the registry could
    /// not be asked (no answer, or an error other than "schema not found").
    pub fn decode<'a>(&mut self, value: Option<&'a [u8]>) -> Result<Input<'a>, RegistryError> {
        let Some(bytes) = value.filter(|v| avro::is_framed(v)) else {
            return Ok(Input::Plain(value));
        };
        let (id, datum) = match avro::unframe(bytes) {
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
        let writer = &self.writers[&id];
        Ok(match writer {
            Ok(writer) => match writer.decode_to_json(datum) {
                Ok(json) => Input::Decoded(json),
                Err(e) => undecodable("bad_avro", format!("schema {id}: {e}")),
            },
            Err(detail) => undecodable("bad_avro", format!("schema {id}: {detail}")),
        })
    }

    /// The writer schema `id` (or why it does not fit), or `None` when there is no registry or it does
    /// not know the id.
    fn fetch(&mut self, id: u32) -> Result<Option<Writer>, RegistryError> {
        let Some(registry) = self.registry.as_mut() else {
            return Ok(None);
        };
        match registry.schema(id) {
            Ok(json) => Ok(Some(
                WriterSchema::new(self.kind, &json).map_err(|e| e.to_string()),
            )),
            Err(RegistryError::SchemaNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn unknown(&self, id: u32) -> String {
        match &self.registry {
            None => format!(
                "the value is Avro in the Confluent wire format (schema id {id}), but no --schema-registry is set"
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
    use crate::avro::Encoder;
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
        let datum = Encoder::new(EventKind::Bikes)
            .unwrap()
            .datum(&event)
            .unwrap();
        let Input::Undecodable(m) = decoder.decode(Some(&avro::frame(7, &datum))).unwrap() else {
            panic!("decoded without a registry");
        };
        assert_eq!(m.reason, "unknown_schema");
        assert!(m.detail.contains("schema id 7") && m.detail.contains("--schema-registry"));
        // Too short for the header: bad Avro (the header is not even there).
        let Input::Undecodable(m) = decoder.decode(Some(&[0, 0, 1])).unwrap() else {
            panic!("a 3-byte framed value decoded");
        };
        assert_eq!(m.reason, "bad_avro");
        assert_eq!(Input::Undecodable(m).json(), None);
    }

    #[test]
    fn cached_writer_schemas_decode_or_give_bad_avro() {
        let mut decoder = Decoder::new(EventKind::Stocks, None);
        decoder.writers.insert(
            3,
            WriterSchema::new(EventKind::Stocks, avro::STOCK_TICK_SCHEMA)
                .map_err(|e| e.to_string()),
        );
        decoder.writers.insert(
            4,
            WriterSchema::new(EventKind::Stocks, avro::STATION_STATUS_SCHEMA)
                .map_err(|e| e.to_string()),
        );
        let event = Generator::new(EventKind::Stocks, 1, 10, 0, 100).next_event();
        let datum = Encoder::new(EventKind::Stocks)
            .unwrap()
            .datum(&event)
            .unwrap();
        let value = avro::frame(3, &datum);
        let decoded = decoder.decode(Some(&value)).unwrap();
        assert_eq!(decoded.json(), Some(event.to_json().as_bytes()));
        for (id, bytes) in [(3, &datum[..datum.len() - 1]), (4, &datum[..])] {
            let Input::Undecodable(m) = decoder.decode(Some(&avro::frame(id, bytes))).unwrap()
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
}
