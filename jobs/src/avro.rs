//! The demo events in Avro: their schemas and the conversions between an Avro datum and the event (and
//! so its JSON). In Kafka, a datum is framed in the Confluent wire format (`wire.rs`) with its writer
//! schema's id in the registry.
//!
//! The schemas keep the JSON field names. Unsigned fields are Avro `long` (an `int` cannot hold every
//! u32); a writer schema with `int` there still reads (Avro promotes int to long). Reading resolves the
//! writer schema (from the registry) to ours, so added fields with defaults and promotions are accepted.
//! A writer schema that is ours (the same Parsing Canonical Form: what `generate` registers) is read in
//! place instead, field by field, without apache-avro's generic values (`Cursor`).

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;

use crate::events::{DemoEvent, EventKind, Price, StationStatus, StockTick};

/// A bike station's status (`StationStatus` in events.rs).
pub const STATION_STATUS_SCHEMA: &str = r#"{
  "type": "record",
  "name": "StationStatus",
  "namespace": "bigdata",
  "doc": "A bike station's status, in the JCDecaux API's field names.",
  "fields": [
    {"name": "number", "type": "long", "doc": "The station number (the record key)."},
    {"name": "contract_name", "type": "string"},
    {"name": "name", "type": "string"},
    {"name": "bike_stands", "type": "long"},
    {"name": "available_bike_stands", "type": "long"},
    {"name": "available_bikes", "type": "long"},
    {"name": "status", "type": "string"},
    {"name": "last_update", "type": "long", "doc": "Event time, milliseconds since the Unix epoch."}
  ]
}"#;

/// A stock tick (`StockTick` and `Price` in events.rs).
pub const STOCK_TICK_SCHEMA: &str = r#"{
  "type": "record",
  "name": "StockTick",
  "namespace": "bigdata",
  "doc": "A stock tick, in the stock fetcher's field names (one quote per record).",
  "fields": [
    {"name": "symbol", "type": "string", "doc": "The stock symbol (the record key)."},
    {"name": "name", "type": "string"},
    {"name": "price", "type": {
      "type": "record",
      "name": "Price",
      "fields": [
        {"name": "currency", "type": "string"},
        {"name": "amount", "type": "double"}
      ]
    }},
    {"name": "percent_change", "type": "double"},
    {"name": "volume", "type": "long"},
    {"name": "as_of", "type": "long", "doc": "Event time, milliseconds since the Unix epoch."}
  ]
}"#;

static STATION_STATUS: LazyLock<Schema> = LazyLock::new(|| parse_ours(STATION_STATUS_SCHEMA));
static STOCK_TICK: LazyLock<Schema> = LazyLock::new(|| parse_ours(STOCK_TICK_SCHEMA));

fn parse_ours(json: &str) -> Schema {
    Schema::parse_str(json).expect("the demo events' schemas are valid (unit-tested)")
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("failed to parse the writer schema: {0}")]
    BadSchema(String),
    #[error("failed to use the writer schema for {reader}: {detail}")]
    Incompatible { reader: String, detail: String },
    #[error("failed to decode the Avro datum: {0}")]
    Decode(String),
    #[error("failed to decode the Avro datum: {0} bytes left after it")]
    TrailingBytes(usize),
    #[error("failed to read the {reader} record: {detail}")]
    Convert { reader: String, detail: String },
    #[error("failed to encode the event as Avro: {0}")]
    Encode(String),
}

/// The Avro schema (JSON) of `kind`'s events, as registered.
pub fn schema_json(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Bikes => STATION_STATUS_SCHEMA,
        EventKind::Stocks => STOCK_TICK_SCHEMA,
    }
}

/// The parsed schema of `kind`'s events (the reader schema of `stream`).
pub fn schema(kind: EventKind) -> &'static Schema {
    match kind {
        EventKind::Bikes => &STATION_STATUS,
        EventKind::Stocks => &STOCK_TICK,
    }
}

/// The full name of `kind`'s record, e.g. `bigdata.StationStatus`.
pub fn record_name(kind: EventKind) -> String {
    schema(kind)
        .name()
        .map(|n| n.fullname(None))
        .unwrap_or_default()
}

/// Encodes events of one kind as Avro datums of their schema, written in place: Avro's binary encoding of
/// each field in the schema's order (the bytes apache-avro's writer gives, unit-tested).
pub struct Encoder {
    kind: EventKind,
}

impl Encoder {
    pub fn new(kind: EventKind) -> Encoder {
        Encoder { kind }
    }

    /// The Avro binary datum of `event` (an event of another kind, or a volume beyond a long, fails).
    pub fn datum(&self, event: &DemoEvent) -> Result<Vec<u8>, AvroError> {
        let mut out = Vec::with_capacity(96);
        match (self.kind, event) {
            (EventKind::Bikes, DemoEvent::Station(s)) => {
                put_long(&mut out, s.number.into());
                put_string(&mut out, &s.contract_name);
                put_string(&mut out, &s.name);
                put_long(&mut out, s.bike_stands.into());
                put_long(&mut out, s.available_bike_stands.into());
                put_long(&mut out, s.available_bikes.into());
                put_string(&mut out, &s.status);
                put_long(&mut out, s.last_update);
            }
            (EventKind::Stocks, DemoEvent::Tick(t)) => {
                let volume = i64::try_from(t.volume).map_err(|_| {
                    AvroError::Encode(format!("volume {} does not fit a long", t.volume))
                })?;
                put_string(&mut out, &t.symbol);
                put_string(&mut out, &t.name);
                put_string(&mut out, &t.price.currency);
                out.extend_from_slice(&t.price.amount.to_le_bytes());
                out.extend_from_slice(&t.percent_change.to_le_bytes());
                put_long(&mut out, volume);
                put_long(&mut out, t.as_of);
            }
            (kind, _) => {
                return Err(AvroError::Encode(format!(
                    "the event is not a {} record",
                    record_name(kind)
                )));
            }
        }
        Ok(out)
    }
}

/// A long as Avro writes it: zigzag, then a varint (7 bits a byte, low bits first).
fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut zigzag = ((v << 1) ^ (v >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push(zigzag as u8 | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

/// A string as Avro writes it: its length in bytes (a long), then its UTF-8 bytes.
fn put_string(out: &mut Vec<u8>, s: &str) {
    put_long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

/// A writer schema (from the registry) checked against `kind`'s schema: its datums decode as `kind`'s
/// events.
pub struct WriterSchema {
    kind: EventKind,
    reading: Reading,
}

/// How the datums of a writer schema are read.
enum Reading {
    /// The writer schema is ours: each field read in place, in our schema's order.
    InPlace,
    /// Another writer schema (other types, order or fields): resolved to ours by apache-avro's reader,
    /// built once (resolving it per datum halved stream's throughput).
    Resolved(GenericDatumReader<'static>),
}

impl std::fmt::Debug for WriterSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterSchema")
            .field("kind", &self.kind)
            .field("in_place", &matches!(self.reading, Reading::InPlace))
            .finish()
    }
}

impl WriterSchema {
    /// Parses `json` and checks that it can be read as `kind`'s record (same record name, every field
    /// of ours present or defaulted, types equal or promotable).
    pub fn new(kind: EventKind, json: &str) -> Result<WriterSchema, AvroError> {
        let schema = Schema::parse_str(json).map_err(|e| AvroError::BadSchema(e.to_string()))?;
        SchemaCompatibility::can_read(&schema, self::schema(kind)).map_err(|e| {
            AvroError::Incompatible {
                reader: record_name(kind),
                detail: e.to_string(),
            }
        })?;
        let reading = if schema.canonical_form() == self::schema(kind).canonical_form() {
            Reading::InPlace
        } else {
            Reading::Resolved(resolved_reader(kind, schema)?)
        };
        Ok(WriterSchema { kind, reading })
    }

    /// Decodes one datum (all of it) into the event.
    pub fn decode(&self, datum: &[u8]) -> Result<DemoEvent, AvroError> {
        let mut rest = datum;
        let event = match &self.reading {
            Reading::InPlace => {
                let mut cursor = Cursor(datum);
                let event = cursor.event(self.kind)?;
                rest = cursor.0;
                event
            }
            Reading::Resolved(reader) => {
                let value = reader
                    .read_value(&mut rest)
                    .map_err(|e| AvroError::Decode(e.to_string()))?;
                from_value(self.kind, value).map_err(|detail| AvroError::Convert {
                    reader: record_name(self.kind),
                    detail,
                })?
            }
        };
        if !rest.is_empty() {
            return Err(AvroError::TrailingBytes(rest.len()));
        }
        Ok(event)
    }
}

/// apache-avro's reader of `writer`'s datums as `kind`'s records.
fn resolved_reader(
    kind: EventKind,
    writer: Schema,
) -> Result<GenericDatumReader<'static>, AvroError> {
    // The reader borrows the writer schema for as long as it lives: a stream keeps each schema id's
    // reader to its end, so the schema is kept too (one per id the input uses).
    let writer: &'static Schema = Box::leak(Box::new(writer));
    GenericDatumReader::builder(writer)
        .reader_schema(self::schema(kind))
        .build()
        .map_err(|e| AvroError::Incompatible {
            reader: record_name(kind),
            detail: e.to_string(),
        })
}

/// A datum of our own schema, read in place: Avro's binary encoding (longs as zigzag varints, strings
/// as their length and UTF-8 bytes, doubles as 8 bytes little-endian), the fields in the schema's order.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// The event, its fields read in our schema's order (struct fields are evaluated as written).
    fn event(&mut self, kind: EventKind) -> Result<DemoEvent, AvroError> {
        Ok(match kind {
            EventKind::Bikes => DemoEvent::Station(StationStatus {
                number: self.unsigned(kind, "number")?,
                contract_name: self.string()?,
                name: self.string()?,
                bike_stands: self.unsigned(kind, "bike_stands")?,
                available_bike_stands: self.unsigned(kind, "available_bike_stands")?,
                available_bikes: self.unsigned(kind, "available_bikes")?,
                status: self.string()?,
                last_update: self.long()?,
            }),
            EventKind::Stocks => DemoEvent::Tick(StockTick {
                symbol: self.string()?,
                name: self.string()?,
                price: Price {
                    currency: self.string()?,
                    amount: self.double()?,
                },
                percent_change: self.double()?,
                volume: self.unsigned(kind, "volume")?,
                as_of: self.long()?,
            }),
        })
    }

    fn unsigned<T: TryFrom<i64>>(&mut self, kind: EventKind, name: &str) -> Result<T, AvroError> {
        in_range(name, self.long()?).map_err(|detail| AvroError::Convert {
            reader: record_name(kind),
            detail,
        })
    }

    fn long(&mut self) -> Result<i64, AvroError> {
        let mut zigzag = 0u64;
        for (i, &byte) in self.0.iter().enumerate().take(10) {
            // the 10th byte holds the 64th bit only
            if i == 9 && byte > 1 {
                break;
            }
            zigzag |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64));
            }
        }
        Err(AvroError::Decode(if self.0.len() < 10 {
            "the datum ends inside a long".into()
        } else {
            "a long overflows 64 bits".into()
        }))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], AvroError> {
        if self.0.len() < n {
            return Err(AvroError::Decode(format!(
                "{n} bytes expected, {} left in the datum",
                self.0.len()
            )));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn string(&mut self) -> Result<String, AvroError> {
        let len = self.long()?;
        let len = usize::try_from(len)
            .map_err(|_| AvroError::Decode(format!("a string of negative length {len}")))?;
        String::from_utf8(self.bytes(len)?.to_vec())
            .map_err(|e| AvroError::Decode(format!("a string is not UTF-8: {e}")))
    }

    fn double(&mut self) -> Result<f64, AvroError> {
        let bytes: [u8; 8] = self.bytes(8)?.try_into().expect("8 bytes taken");
        Ok(f64::from_le_bytes(bytes))
    }
}

/// A long field as the event's unsigned field, or why it does not fit.
fn in_range<T: TryFrom<i64>>(name: &str, v: i64) -> Result<T, String> {
    T::try_from(v).map_err(|_| {
        format!(
            "{name} is {v}, out of the range of {}",
            std::any::type_name::<T>()
        )
    })
}

/// The fields of a resolved record (in the reader schema's order), by name.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn of(value: Value) -> Result<Fields, String> {
        match value {
            Value::Record(fields) => Ok(Fields(fields)),
            other => Err(format!("not a record: {other:?}")),
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, String> {
        let i = self
            .0
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| format!("no field {name}"))?;
        Ok(self.0.swap_remove(i).1)
    }

    fn long(&mut self, name: &str) -> Result<i64, String> {
        match self.take(name)? {
            Value::Long(v) => Ok(v),
            Value::Int(v) => Ok(v.into()),
            other => Err(format!("{name} is not a long: {other:?}")),
        }
    }

    fn unsigned<T: TryFrom<i64>>(&mut self, name: &str) -> Result<T, String> {
        in_range(name, self.long(name)?)
    }

    fn double(&mut self, name: &str) -> Result<f64, String> {
        match self.take(name)? {
            Value::Double(v) => Ok(v),
            Value::Float(v) => Ok(v.into()),
            other => Err(format!("{name} is not a double: {other:?}")),
        }
    }

    fn string(&mut self, name: &str) -> Result<String, String> {
        match self.take(name)? {
            Value::String(v) => Ok(v),
            other => Err(format!("{name} is not a string: {other:?}")),
        }
    }

    fn record(&mut self, name: &str) -> Result<Fields, String> {
        Fields::of(self.take(name)?).map_err(|e| format!("{name}: {e}"))
    }
}

fn from_value(kind: EventKind, value: Value) -> Result<DemoEvent, String> {
    let mut f = Fields::of(value)?;
    Ok(match kind {
        EventKind::Bikes => DemoEvent::Station(StationStatus {
            number: f.unsigned("number")?,
            contract_name: f.string("contract_name")?,
            name: f.string("name")?,
            bike_stands: f.unsigned("bike_stands")?,
            available_bike_stands: f.unsigned("available_bike_stands")?,
            available_bikes: f.unsigned("available_bikes")?,
            status: f.string("status")?,
            last_update: f.long("last_update")?,
        }),
        EventKind::Stocks => {
            let mut price = f.record("price")?;
            DemoEvent::Tick(StockTick {
                symbol: f.string("symbol")?,
                name: f.string("name")?,
                price: Price {
                    currency: price.string("currency")?,
                    amount: price.double("amount")?,
                },
                percent_change: f.double("percent_change")?,
                volume: f.unsigned("volume")?,
                as_of: f.long("as_of")?,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Generator;
    use crate::wire::{frame, unframe};

    /// The reference: apache-avro's writer of our schema, over the event as its generic `Value`.
    fn reference_datum(kind: EventKind, event: &DemoEvent) -> Result<Vec<u8>, AvroError> {
        apache_avro::writer::datum::GenericDatumWriter::builder(schema(kind))
            .build()
            .map_err(|e| AvroError::Encode(e.to_string()))?
            .write_value_to_vec(to_value(event)?)
            .map_err(|e| AvroError::Encode(e.to_string()))
    }

    fn to_value(event: &DemoEvent) -> Result<Value, AvroError> {
        let record = |fields: Vec<(&str, Value)>| {
            Value::Record(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        };
        Ok(match event {
            DemoEvent::Station(s) => record(vec![
                ("number", Value::Long(s.number.into())),
                ("contract_name", Value::String(s.contract_name.clone())),
                ("name", Value::String(s.name.clone())),
                ("bike_stands", Value::Long(s.bike_stands.into())),
                (
                    "available_bike_stands",
                    Value::Long(s.available_bike_stands.into()),
                ),
                ("available_bikes", Value::Long(s.available_bikes.into())),
                ("status", Value::String(s.status.clone())),
                ("last_update", Value::Long(s.last_update)),
            ]),
            DemoEvent::Tick(t) => {
                let volume = i64::try_from(t.volume).map_err(|_| {
                    AvroError::Encode(format!("volume {} does not fit a long", t.volume))
                })?;
                record(vec![
                    ("symbol", Value::String(t.symbol.clone())),
                    ("name", Value::String(t.name.clone())),
                    (
                        "price",
                        record(vec![
                            ("currency", Value::String(t.price.currency.clone())),
                            ("amount", Value::Double(t.price.amount)),
                        ]),
                    ),
                    ("percent_change", Value::Double(t.percent_change)),
                    ("volume", Value::Long(volume)),
                    ("as_of", Value::Long(t.as_of)),
                ])
            }
        })
    }

    fn generated(kind: EventKind, n: usize) -> Vec<DemoEvent> {
        let mut g = Generator::new(kind, 9, 30, 1_700_000_000_000, 100);
        (0..n).map(|_| g.next_event()).collect()
    }

    #[test]
    fn the_schemas_parse_with_the_json_field_names() {
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            let schema = schema(kind);
            let Schema::Record(record) = schema else {
                panic!("{kind:?}: not a record");
            };
            let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
            // The JSON of a generated event has exactly these fields, in this order.
            let json: serde_json::Value =
                serde_json::from_str(&generated(kind, 1)[0].to_json()).unwrap();
            let keys: Vec<&str> = json
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(keys, sorted, "{kind:?}");
        }
        assert_eq!(record_name(EventKind::Bikes), "bigdata.StationStatus");
        assert_eq!(record_name(EventKind::Stocks), "bigdata.StockTick");
    }

    /// Every generated event of both kinds: encoded, framed, unframed, decoded with its schema as the
    /// writer schema: the same JSON bytes as the generator's.
    #[test]
    fn generated_events_roundtrip_through_avro_to_the_same_json() {
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            let encoder = Encoder::new(kind);
            let writer = WriterSchema::new(kind, schema_json(kind)).unwrap();
            for event in generated(kind, 2000) {
                let value = frame(42, &encoder.datum(&event).unwrap());
                let (id, datum) = unframe(&value).unwrap();
                assert_eq!(id, 42);
                assert_eq!(writer.decode(datum).unwrap(), event);
                assert_eq!(
                    writer.decode(datum).unwrap().to_json().into_bytes(),
                    event.to_json().into_bytes()
                );
            }
        }
    }

    /// The in-place encoding gives apache-avro's writer's bytes: every generated event of both kinds, and
    /// edge values (empty and non-ASCII strings, the longs' extremes, a volume at i64::MAX).
    #[test]
    fn in_place_datums_are_the_bytes_of_apache_avros_writer() {
        let mut events: Vec<(EventKind, DemoEvent)> = [EventKind::Bikes, EventKind::Stocks]
            .into_iter()
            .flat_map(|kind| generated(kind, 1000).into_iter().map(move |e| (kind, e)))
            .collect();
        for last_update in [0, -1, 63, 64, -65, i64::MIN, i64::MAX] {
            events.push((
                EventKind::Bikes,
                DemoEvent::Station(StationStatus {
                    number: u32::MAX,
                    contract_name: String::new(),
                    name: "Genève – gare Cornavin ⛲".into(),
                    bike_stands: 0,
                    available_bike_stands: 1 << 20,
                    available_bikes: 127,
                    status: "CLOSED".into(),
                    last_update,
                }),
            ));
        }
        events.push((
            EventKind::Stocks,
            DemoEvent::Tick(StockTick {
                symbol: "É".into(),
                name: String::new(),
                price: Price {
                    currency: "€".into(),
                    amount: -0.0,
                },
                percent_change: f64::MAX,
                volume: i64::MAX as u64,
                as_of: i64::MIN,
            }),
        ));
        for (kind, event) in &events {
            assert_eq!(
                Encoder::new(*kind).datum(event).unwrap(),
                reference_datum(*kind, event).unwrap(),
                "{event:?}"
            );
        }
        let beyond = DemoEvent::Tick(StockTick {
            volume: u64::MAX,
            ..match generated(EventKind::Stocks, 1).remove(0) {
                DemoEvent::Tick(t) => t,
                DemoEvent::Station(_) => unreachable!(),
            }
        });
        assert!(Encoder::new(EventKind::Stocks).datum(&beyond).is_err());
    }

    #[test]
    fn a_datum_is_the_avro_binary_encoding() {
        // A tick, encoded by hand: strings are a zigzag length and the bytes, longs zigzag varints,
        // doubles 8 bytes little-endian.
        let tick = DemoEvent::Tick(StockTick {
            symbol: "SM".into(),
            name: "S".into(),
            price: Price {
                currency: "P".into(),
                amount: 1.5,
            },
            percent_change: -0.25,
            volume: 3,
            as_of: -1,
        });
        let mut want = vec![4, b'S', b'M', 2, b'S', 2, b'P'];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&(-0.25f64).to_le_bytes());
        want.extend_from_slice(&[6, 1]);
        assert_eq!(Encoder::new(EventKind::Stocks).datum(&tick).unwrap(), want);
        // An event of the other kind does not validate.
        assert!(Encoder::new(EventKind::Bikes).datum(&tick).is_err());
    }

    #[test]
    fn a_writer_schema_with_ints_and_an_extra_field_still_reads() {
        // Another producer's schema: ints for the counts, fields in another order, one more field.
        let writer_json = r#"{"type":"record","name":"StationStatus","namespace":"other","fields":[
            {"name":"last_update","type":"long"},
            {"name":"number","type":"int"},
            {"name":"contract_name","type":"string"},
            {"name":"name","type":"string"},
            {"name":"bike_stands","type":"int"},
            {"name":"available_bike_stands","type":"int"},
            {"name":"available_bikes","type":"int"},
            {"name":"status","type":"string"},
            {"name":"banking","type":"boolean"}]}"#;
        let writer = WriterSchema::new(EventKind::Bikes, writer_json).unwrap();
        let mut datum = vec![];
        datum.extend_from_slice(&[0xd0, 0x0f]); // last_update 1000
        datum.push(34); // number 17
        datum.extend_from_slice(&[8, b'l', b'y', b'o', b'n']);
        datum.extend_from_slice(&[2, b'X']);
        datum.extend_from_slice(&[40, 10, 30]); // 20 stands, 5 free, 15 bikes
        datum.extend_from_slice(&[8, b'O', b'P', b'E', b'N']);
        datum.push(1); // banking: true
        assert_eq!(
            writer.decode(&datum).unwrap().to_json(),
            r#"{"number":17,"contract_name":"lyon","name":"X","bike_stands":20,"available_bike_stands":5,"available_bikes":15,"status":"OPEN","last_update":1000}"#
        );
    }

    #[test]
    fn another_events_schema_is_refused() {
        let e = WriterSchema::new(EventKind::Bikes, STOCK_TICK_SCHEMA).unwrap_err();
        assert!(matches!(e, AvroError::Incompatible { .. }), "{e}");
        assert!(e.to_string().contains("bigdata.StationStatus"), "{e}");
        // Same name, a field of ours missing (no default).
        let e = WriterSchema::new(
            EventKind::Bikes,
            r#"{"type":"record","name":"StationStatus","fields":[{"name":"number","type":"long"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(e, AvroError::Incompatible { .. }), "{e}");
        assert!(matches!(
            WriterSchema::new(EventKind::Bikes, "{not json"),
            Err(AvroError::BadSchema(_))
        ));
        assert!(matches!(
            WriterSchema::new(EventKind::Bikes, r#""string""#),
            Err(AvroError::Incompatible { .. })
        ));
    }

    /// Our schema's datums read both ways: in place (what `new` picks for our schema) and resolved by
    /// apache-avro's reader (what it picks for any other).
    fn both_readings(kind: EventKind) -> [WriterSchema; 2] {
        let in_place = WriterSchema::new(kind, schema_json(kind)).unwrap();
        assert!(matches!(in_place.reading, Reading::InPlace), "{kind:?}");
        let ours = Schema::parse_str(schema_json(kind)).unwrap();
        let resolved = WriterSchema {
            kind,
            reading: Reading::Resolved(resolved_reader(kind, ours).unwrap()),
        };
        [in_place, resolved]
    }

    #[test]
    fn our_schema_is_read_in_place_and_any_other_resolved() {
        let in_place = |kind, json| {
            matches!(
                WriterSchema::new(kind, json).unwrap().reading,
                Reading::InPlace
            )
        };
        // Ours as a registry may give it back: without its docs, on one line (the same canonical form).
        fn without_docs(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    m.remove("doc");
                    m.values_mut().for_each(without_docs);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(without_docs),
                _ => {}
            }
        }
        let mut compact: serde_json::Value = serde_json::from_str(STATION_STATUS_SCHEMA).unwrap();
        without_docs(&mut compact);
        let compact = compact.to_string();
        assert!(
            !compact.contains("doc") && !compact.contains('\n'),
            "{compact}"
        );
        assert!(in_place(EventKind::Bikes, &compact), "{compact}");
        assert!(in_place(EventKind::Stocks, STOCK_TICK_SCHEMA));
        // An int where we have a long: resolved.
        let ints = STATION_STATUS_SCHEMA.replace(
            r#""name": "bike_stands", "type": "long""#,
            r#""name": "bike_stands", "type": "int""#,
        );
        assert_ne!(ints, STATION_STATUS_SCHEMA);
        assert!(!in_place(EventKind::Bikes, &ints));
    }

    /// The in-place reading decodes exactly what apache-avro's resolving reader decodes: every
    /// generated event, and the same datums cut, lengthened or with one byte changed (decoded to the
    /// same event, or refused by both).
    #[test]
    fn in_place_and_resolved_readings_agree() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut decoded, mut refused) = (0, 0);
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            let encoder = Encoder::new(kind);
            let [in_place, resolved] = both_readings(kind);
            for event in generated(kind, 1000) {
                let datum = encoder.datum(&event).unwrap();
                assert_eq!(in_place.decode(&datum).unwrap(), event);
                let mut variants = vec![datum[..next() as usize % datum.len()].to_vec()];
                let mut longer = datum.clone();
                longer.push(next() as u8);
                variants.push(longer);
                for _ in 0..4 {
                    let mut changed = datum.clone();
                    let at = next() as usize % changed.len();
                    changed[at] = next() as u8;
                    variants.push(changed);
                }
                for variant in variants {
                    let (a, b) = (in_place.decode(&variant), resolved.decode(&variant));
                    assert_eq!(
                        a.as_ref().ok(),
                        b.as_ref().ok(),
                        "{kind:?} {variant:?}: {a:?} {b:?}"
                    );
                    if a.is_ok() {
                        decoded += 1
                    } else {
                        refused += 1
                    }
                }
            }
        }
        // both outcomes were exercised
        assert!(
            decoded > 1000 && refused > 1000,
            "{decoded} decoded, {refused} refused"
        );
    }

    #[test]
    fn corrupt_datums_fail_to_decode() {
        let encoder = Encoder::new(EventKind::Bikes);
        let datum = encoder.datum(&generated(EventKind::Bikes, 1)[0]).unwrap();
        for writer in both_readings(EventKind::Bikes) {
            for cut in 0..datum.len() {
                assert!(
                    writer.decode(&datum[..cut]).is_err(),
                    "{writer:?}: a datum cut at {cut} decoded"
                );
            }
            let mut longer = datum.clone();
            longer.extend_from_slice(b"xyz");
            assert!(matches!(
                writer.decode(&longer),
                Err(AvroError::TrailingBytes(3))
            ));
            // A negative string length.
            assert!(matches!(
                writer.decode(&[2, 3, b'a']),
                Err(AvroError::Decode(_))
            ));
            // A long over 10 bytes.
            assert!(matches!(
                writer.decode(&[0xff; 11]),
                Err(AvroError::Decode(_))
            ));
            // A station number beyond u32.
            let mut big = vec![0x80, 0x80, 0x80, 0x80, 0x20]; // zigzag(4294967296)
            big.extend_from_slice(&datum[1..]);
            let e = writer.decode(&big).unwrap_err();
            assert!(matches!(e, AvroError::Convert { .. }), "{writer:?}: {e}");
        }
    }
}
