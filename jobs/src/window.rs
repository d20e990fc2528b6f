//! The pure part of `bigdata-jobs stream`: parsing the events, per-key tumbling windows in event time, the
//! watermark, late and malformed records, and the checkpoint that lets a restarted instance rebuild its
//! open windows. No Kafka here: `stream.rs` feeds records in and sends what comes out.
//!
//! One [`PartitionState`] per input partition. Its watermark is the largest event time seen in that
//! partition minus the allowed lateness. A window `[start, start + size)` is emitted (and forgotten) once
//! the watermark reaches its end; a record whose window has already ended is late. Because everything
//! depends only on the records of one partition, in offset order, the output is the same however the
//! partitions are interleaved, split across instances or moved by rebalances.
//!
//! Checkpoint: the consumer offset committed for a partition is the first offset that an open window still
//! needs (its "replay-from" offset), and the commit's metadata says where processing had really got to
//! (`next`) and the partition's largest event time (`max_ts`). On a restart the records between the two are
//! read again only to rebuild the open windows (nothing is sent for them): a record of a window that had
//! ended by `max_ts - lateness` was already emitted or dead-lettered and is skipped, every other one was in
//! an open window. That rebuilds exactly the state the commit was made from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::{DemoEvent, EventKind};
use crate::wire;

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Bikes => "bikes",
            EventKind::Stocks => "stocks",
        }
    }
}

/// The windowing parameters (fixed for a consumer group: the checkpoint records them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub kind: EventKind,
    pub size_ms: i64,
    pub lateness_ms: i64,
}

impl WindowSpec {
    /// The start of the window that holds event time `ts`.
    pub fn window_start(&self, ts: i64) -> i64 {
        ts - ts.rem_euclid(self.size_ms)
    }
}

/// One valid input event, reduced to what the aggregates need.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Bike {
        station: u32,
        available_bikes: u32,
        ts: i64,
    },
    Stock {
        symbol: String,
        price: f64,
        volume: u64,
        ts: i64,
    },
}

impl Event {
    pub fn ts(&self) -> i64 {
        match self {
            Event::Bike { ts, .. } | Event::Stock { ts, .. } => *ts,
        }
    }

    pub fn key(&self) -> String {
        match self {
            Event::Bike { station, .. } => station.to_string(),
            Event::Stock { symbol, .. } => symbol.clone(),
        }
    }

    /// The event of a decoded demo event (an Avro value), with the check [`parse`] makes of its JSON
    /// (a price that is not a finite number is an `invalid_field`).
    pub fn of(event: &DemoEvent) -> Result<Event, Malformed> {
        match event {
            DemoEvent::Station(s) => Ok(Event::Bike {
                station: s.number,
                available_bikes: s.available_bikes,
                ts: s.last_update,
            }),
            DemoEvent::Tick(t) => Ok(Event::Stock {
                symbol: t.symbol.clone(),
                price: finite_price(t.price.amount)?,
                volume: t.volume,
                ts: t.as_of,
            }),
        }
    }
}

fn finite_price(amount: f64) -> Result<f64, Malformed> {
    if amount.is_finite() {
        Ok(amount)
    } else {
        Err(Malformed {
            reason: "invalid_field",
            detail: "price.amount is not a finite number".into(),
        })
    }
}

/// Why a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// `empty`, `bad_json`, `missing_field` or `invalid_field` (from [`parse`]); `unknown_schema`,
    /// `bad_avro` or `bad_json_schema` (a framed value that could not be read, see `decode.rs`).
    pub reason: &'static str,
    pub detail: String,
}

#[derive(Deserialize)]
struct BikeFields {
    number: u32,
    available_bikes: u32,
    last_update: i64,
}

#[derive(Deserialize)]
struct StockPrice {
    amount: f64,
}

#[derive(Deserialize)]
struct StockFields {
    symbol: String,
    price: StockPrice,
    volume: u64,
    as_of: i64,
}

/// Parses one record's value as an event of `kind`.
pub fn parse(kind: EventKind, payload: Option<&[u8]>) -> Result<Event, Malformed> {
    let payload = match payload {
        Some(p) if !p.iter().all(u8::is_ascii_whitespace) => p,
        _ => {
            return Err(Malformed {
                reason: "empty",
                detail: "the record has no value".into(),
            });
        }
    };
    // serde also reads a struct from a JSON array ([3, 5, 1700000000000]): only objects are events.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Malformed {
            reason: "bad_json",
            detail: "not a JSON object".into(),
        });
    }
    let classify = |e: serde_json::Error| {
        use serde_json::error::Category;
        let reason = match e.classify() {
            Category::Data if e.to_string().starts_with("missing field") => "missing_field",
            Category::Data => "invalid_field",
            Category::Syntax | Category::Eof | Category::Io => "bad_json",
        };
        Malformed {
            reason,
            detail: e.to_string(),
        }
    };
    match kind {
        EventKind::Bikes => {
            let f: BikeFields = serde_json::from_slice(payload).map_err(classify)?;
            Ok(Event::Bike {
                station: f.number,
                available_bikes: f.available_bikes,
                ts: f.last_update,
            })
        }
        EventKind::Stocks => {
            let f: StockFields = serde_json::from_slice(payload).map_err(classify)?;
            Ok(Event::Stock {
                symbol: f.symbol,
                price: finite_price(f.price.amount)?,
                volume: f.volume,
                ts: f.as_of,
            })
        }
    }
}

/// A window's running aggregate.
#[derive(Debug, Clone, PartialEq)]
enum Agg {
    Bikes {
        count: u64,
        min: u32,
        max: u32,
        sum: u64,
    },
    Stocks {
        count: u64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: u64,
    },
}

impl Agg {
    fn new(event: &Event) -> Agg {
        match *event {
            Event::Bike {
                available_bikes, ..
            } => Agg::Bikes {
                count: 1,
                min: available_bikes,
                max: available_bikes,
                sum: u64::from(available_bikes),
            },
            Event::Stock { price, volume, .. } => Agg::Stocks {
                count: 1,
                open: price,
                high: price,
                low: price,
                close: price,
                volume,
            },
        }
    }

    fn add(&mut self, event: &Event) {
        match (self, event) {
            (
                Agg::Bikes {
                    count,
                    min,
                    max,
                    sum,
                },
                Event::Bike {
                    available_bikes, ..
                },
            ) => {
                *count += 1;
                *min = (*min).min(*available_bikes);
                *max = (*max).max(*available_bikes);
                *sum += u64::from(*available_bikes);
            }
            (
                Agg::Stocks {
                    count,
                    high,
                    low,
                    close,
                    volume,
                    ..
                },
                Event::Stock {
                    price, volume: v, ..
                },
            ) => {
                *count += 1;
                *high = high.max(*price);
                *low = low.min(*price);
                *close = *price;
                *volume = volume.saturating_add(*v);
            }
            _ => unreachable!("one partition state holds one kind of event"),
        }
    }
}

/// A closed window's aggregate, as written to the output topic (key: the station number or symbol).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Aggregate {
    Bikes {
        station: u32,
        window_start: i64,
        window_end: i64,
        count: u64,
        min_available_bikes: u32,
        max_available_bikes: u32,
        avg_available_bikes: f64,
    },
    Stocks {
        symbol: String,
        window_start: i64,
        window_end: i64,
        count: u64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: u64,
    },
}

impl Aggregate {
    pub fn key(&self) -> String {
        match self {
            Aggregate::Bikes { station, .. } => station.to_string(),
            Aggregate::Stocks { symbol, .. } => symbol.clone(),
        }
    }

    pub fn window_start(&self) -> i64 {
        match self {
            Aggregate::Bikes { window_start, .. } | Aggregate::Stocks { window_start, .. } => {
                *window_start
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain structs always serialize")
    }

    fn from_window(key: &str, start: i64, size: i64, agg: &Agg) -> Aggregate {
        match *agg {
            Agg::Bikes {
                count,
                min,
                max,
                sum,
            } => Aggregate::Bikes {
                station: key.parse().expect("bike keys are station numbers"),
                window_start: start,
                window_end: start + size,
                count,
                min_available_bikes: min,
                max_available_bikes: max,
                avg_available_bikes: sum as f64 / count as f64,
            },
            Agg::Stocks {
                count,
                open,
                high,
                low,
                close,
                volume,
            } => Aggregate::Stocks {
                symbol: key.to_string(),
                window_start: start,
                window_end: start + size,
                count,
                open,
                high,
                low,
                close,
                volume,
            },
        }
    }
}

#[derive(Debug, Clone)]
struct OpenWindow {
    agg: Agg,
    /// The offset of the window's first record: a restart must read from there to rebuild it.
    first_offset: i64,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Added to its window.
    Accepted,
    /// Its window had already been emitted: dead-letter it.
    Late { window_start: i64, watermark: i64 },
    /// Not a valid event: dead-letter it.
    Malformed(Malformed),
    /// Read again after a restart to rebuild the open windows; it was handled before (sends nothing).
    Replayed,
    /// An offset already processed (a stale fetch): ignored.
    Duplicate,
}

/// The checkpoint of one partition: the offset to commit and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Where a restart must start reading (the first offset an open window needs).
    pub replay_from: i64,
    /// `bigdata-stream/v1 kind=… window=… lateness=… next=… max_ts=…`
    pub metadata: String,
}

const METADATA_PREFIX: &str = "bigdata-stream/v1";

/// The windows of one input partition.
#[derive(Debug, Clone)]
pub struct PartitionState {
    spec: WindowSpec,
    windows: BTreeMap<(i64, String), OpenWindow>,
    max_ts: Option<i64>,
    /// The next offset to process (`None` until the first record when nothing was committed).
    next_offset: Option<i64>,
    /// Offsets below this were processed before the restart: only rebuild state from them.
    replay_end: i64,
}

impl PartitionState {
    /// A partition's state from its committed offset and metadata (both absent on the group's first run).
    /// Fails when the metadata was written with other windowing parameters.
    pub fn restore(
        spec: WindowSpec,
        committed: Option<i64>,
        metadata: &str,
    ) -> Result<PartitionState, String> {
        let mut state = PartitionState {
            spec,
            windows: BTreeMap::new(),
            max_ts: None,
            next_offset: committed,
            replay_end: committed.unwrap_or(0),
        };
        let metadata = metadata.trim();
        if metadata.is_empty() {
            return Ok(state);
        }
        let Some(fields) = metadata.strip_prefix(METADATA_PREFIX) else {
            return Err(format!(
                "the committed offset's metadata {metadata:?} was not written by bigdata-jobs stream"
            ));
        };
        let mut next = None;
        for field in fields.split_whitespace() {
            let (k, v) = field
                .split_once('=')
                .ok_or_else(|| format!("bad checkpoint metadata {metadata:?}"))?;
            let expected = match k {
                "kind" => spec.kind.as_str().to_string(),
                "window" => spec.size_ms.to_string(),
                "lateness" => spec.lateness_ms.to_string(),
                "next" => {
                    next = Some(
                        v.parse::<i64>()
                            .map_err(|_| format!("bad checkpoint metadata {metadata:?}"))?,
                    );
                    continue;
                }
                "max_ts" => {
                    if v != "-" {
                        state.max_ts = Some(
                            v.parse()
                                .map_err(|_| format!("bad checkpoint metadata {metadata:?}"))?,
                        );
                    }
                    continue;
                }
                _ => continue,
            };
            if v != expected {
                return Err(format!(
                    "this consumer group's checkpoint was written with {k}={v}, but this run has {k}={expected}: \
                     its open windows cannot be rebuilt (use a new --group, or the old settings)"
                ));
            }
        }
        let next = next.ok_or_else(|| format!("bad checkpoint metadata {metadata:?}"))?;
        state.replay_end = next.max(state.replay_end);
        Ok(state)
    }

    /// The watermark: the largest event time seen minus the allowed lateness.
    pub fn watermark(&self) -> Option<i64> {
        self.max_ts.map(|t| t.saturating_sub(self.spec.lateness_ms))
    }

    /// The next offset to process.
    pub fn next_offset(&self) -> Option<i64> {
        self.next_offset
    }

    /// Whether records are being read again to rebuild the open windows.
    pub fn replaying(&self) -> bool {
        self.next_offset.is_some_and(|n| n < self.replay_end)
    }

    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }

    /// Handles the record at `offset`; returns what became of it and the windows it closed (in order of
    /// window start, then key).
    pub fn process(&mut self, offset: i64, payload: Option<&[u8]>) -> (Outcome, Vec<Aggregate>) {
        self.process_parsed(offset, parse(self.spec.kind, payload))
    }

    /// Like [`PartitionState::process`], for a record already parsed (or found malformed before parsing).
    pub fn process_parsed(
        &mut self,
        offset: i64,
        parsed: Result<Event, Malformed>,
    ) -> (Outcome, Vec<Aggregate>) {
        if self.next_offset.is_some_and(|n| offset < n) {
            return (Outcome::Duplicate, Vec::new());
        }
        let replay = offset < self.replay_end;
        self.next_offset = Some(offset + 1);
        let event = match parsed {
            Ok(e) => e,
            Err(_) if replay => return (Outcome::Replayed, Vec::new()),
            Err(m) => return (Outcome::Malformed(m), Vec::new()),
        };
        let ts = event.ts();
        let start = self.spec.window_start(ts);
        let end = start.saturating_add(self.spec.size_ms);
        if let Some(wm) = self.watermark()
            && end <= wm
        {
            return if replay {
                (Outcome::Replayed, Vec::new())
            } else {
                (
                    Outcome::Late {
                        window_start: start,
                        watermark: wm,
                    },
                    Vec::new(),
                )
            };
        }
        match self.windows.entry((start, event.key())) {
            std::collections::btree_map::Entry::Occupied(mut w) => w.get_mut().agg.add(&event),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(OpenWindow {
                    agg: Agg::new(&event),
                    first_offset: offset,
                });
            }
        }
        if replay {
            // max_ts already covers every record below replay_end.
            return (Outcome::Replayed, Vec::new());
        }
        self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
        (Outcome::Accepted, self.close_windows())
    }

    fn close_windows(&mut self) -> Vec<Aggregate> {
        let Some(wm) = self.watermark() else {
            return Vec::new();
        };
        let mut closed = Vec::new();
        while let Some(entry) = self.windows.first_entry() {
            let (start, _) = entry.key();
            if start.saturating_add(self.spec.size_ms) > wm {
                break;
            }
            let ((start, key), w) = entry.remove_entry();
            closed.push(Aggregate::from_window(
                &key,
                start,
                self.spec.size_ms,
                &w.agg,
            ));
        }
        closed
    }

    /// The offset and metadata to commit, or `None` when nothing was read from the partition yet.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let next = self.next_offset?;
        let replay_from = self
            .windows
            .values()
            .map(|w| w.first_offset)
            .min()
            .map_or(next, |o| o.min(next));
        let max_ts = self.max_ts.map_or("-".to_string(), |t| t.to_string());
        Some(Checkpoint {
            replay_from,
            metadata: format!(
                "{METADATA_PREFIX} kind={} window={} lateness={} next={} max_ts={max_ts}",
                self.spec.kind.as_str(),
                self.spec.size_ms,
                self.spec.lateness_ms,
                next.max(self.replay_end),
            ),
        })
    }
}

/// The dead-letter record for a record that could not be used.
pub fn dead_letter_json(
    reason: &str,
    detail: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    payload: Option<&[u8]>,
) -> String {
    let mut v = serde_json::json!({
        "reason": reason,
        "detail": detail,
        "topic": topic,
        "partition": partition,
        "offset": offset,
    });
    // A value in the Confluent wire format (Avro or JSON Schema) is binary even when it happens to be UTF-8.
    match payload.map(std::str::from_utf8) {
        None => v["payload"] = serde_json::Value::Null,
        Some(Ok(text)) if !wire::is_framed(text.as_bytes()) => v["payload"] = text.into(),
        Some(_) => {
            v["payload"] = serde_json::Value::Null;
            v["payload_base64"] = base64(payload.unwrap_or_default()).into();
        }
    }
    v.to_string()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Generator;

    const BIKES: WindowSpec = WindowSpec {
        kind: EventKind::Bikes,
        size_ms: 1000,
        lateness_ms: 200,
    };

    fn bike(station: u32, bikes: u32, ts: i64) -> Vec<u8> {
        format!(r#"{{"number":{station},"available_bikes":{bikes},"last_update":{ts}}}"#)
            .into_bytes()
    }

    fn run(
        state: &mut PartitionState,
        records: &[(i64, Vec<u8>)],
    ) -> (Vec<Outcome>, Vec<Aggregate>) {
        let mut outcomes = Vec::new();
        let mut out = Vec::new();
        for (offset, payload) in records {
            let (o, closed) = state.process(*offset, Some(payload));
            outcomes.push(o);
            out.extend(closed);
        }
        (outcomes, out)
    }

    #[test]
    fn windows_close_when_the_watermark_passes_their_end() {
        let mut s = PartitionState::restore(BIKES, None, "").unwrap();
        let (_, out) = run(
            &mut s,
            &[
                (0, bike(1, 5, 100)),
                (1, bike(1, 9, 900)),
                (2, bike(2, 3, 950)),
                (3, bike(1, 1, 1100)), // watermark 900: nothing closes
                (4, bike(1, 2, 1199)), // watermark 999: still open
            ],
        );
        assert!(out.is_empty());
        let (_, out) = run(&mut s, &[(5, bike(3, 7, 1200))]); // watermark 1000: [0,1000) closes
        assert_eq!(
            out,
            vec![
                Aggregate::Bikes {
                    station: 1,
                    window_start: 0,
                    window_end: 1000,
                    count: 2,
                    min_available_bikes: 5,
                    max_available_bikes: 9,
                    avg_available_bikes: 7.0,
                },
                Aggregate::Bikes {
                    station: 2,
                    window_start: 0,
                    window_end: 1000,
                    count: 1,
                    min_available_bikes: 3,
                    max_available_bikes: 3,
                    avg_available_bikes: 3.0,
                },
            ]
        );
        // An event of the closed window is late; an out-of-order one of an open window is not.
        let (outcomes, _) = run(&mut s, &[(6, bike(1, 1, 999)), (7, bike(1, 1, 1001))]);
        assert_eq!(
            outcomes,
            vec![
                Outcome::Late {
                    window_start: 0,
                    watermark: 1000
                },
                Outcome::Accepted
            ]
        );
    }

    #[test]
    fn malformed_records_are_classified() {
        let kinds = |kind, payload: &[u8]| parse(kind, Some(payload)).unwrap_err().reason;
        assert_eq!(kinds(EventKind::Bikes, b"{not json"), "bad_json");
        assert_eq!(kinds(EventKind::Bikes, b"{\"number\":1"), "bad_json");
        assert_eq!(
            kinds(EventKind::Bikes, br#"{"number":1,"last_update":5}"#),
            "missing_field"
        );
        assert_eq!(
            kinds(
                EventKind::Bikes,
                br#"{"number":"x","available_bikes":1,"last_update":5}"#
            ),
            "invalid_field"
        );
        assert_eq!(
            kinds(EventKind::Stocks, br#"{"symbol":"A","volume":1,"as_of":5}"#),
            "missing_field"
        );
        assert_eq!(parse(EventKind::Bikes, None).unwrap_err().reason, "empty");
        assert_eq!(kinds(EventKind::Bikes, b"  "), "empty");
        assert_eq!(
            kinds(EventKind::Bikes, b"[3, 5, 1700000000000]"),
            "bad_json"
        );
    }

    #[test]
    fn stock_windows_are_ohlc_in_offset_order() {
        let spec = WindowSpec {
            kind: EventKind::Stocks,
            size_ms: 1000,
            lateness_ms: 0,
        };
        let tick = |p: f64, v: u64, ts: i64| {
            format!(r#"{{"symbol":"SM","price":{{"currency":"PHP","amount":{p}}},"volume":{v},"as_of":{ts}}}"#)
                .into_bytes()
        };
        let mut s = PartitionState::restore(spec, None, "").unwrap();
        let (_, out) = run(
            &mut s,
            &[
                (0, tick(10.0, 1, 10)),
                (1, tick(12.5, 2, 20)),
                (2, tick(9.0, 3, 30)),
                (3, tick(11.0, 4, 40)),
                (4, tick(1.0, 5, 1000)),
            ],
        );
        assert_eq!(
            out,
            vec![Aggregate::Stocks {
                symbol: "SM".into(),
                window_start: 0,
                window_end: 1000,
                count: 4,
                open: 10.0,
                high: 12.5,
                low: 9.0,
                close: 11.0,
                volume: 10,
            }]
        );
    }

    /// Cutting a partition's processing at any offset, checkpointing, and restoring from the checkpoint
    /// (reading again from its offset) gives exactly the output of an uninterrupted run.
    #[test]
    fn restore_from_any_checkpoint_gives_the_same_output() {
        let mut generator = Generator::new(EventKind::Bikes, 5, 4, 0, 37);
        let mut records: Vec<(i64, Vec<u8>)> = (0..300)
            .map(|i| (i, generator.next_json().into_bytes()))
            .collect();
        // Some malformed and late records in between.
        records[50].1 = b"garbage".to_vec();
        records[120].1 = bike(1, 1, 0);
        records[200].1 = br#"{"number":2}"#.to_vec();

        let reference = {
            let mut s = PartitionState::restore(BIKES, None, "").unwrap();
            run(&mut s, &records)
        };
        assert!(reference.1.len() > 20);
        assert!(
            reference
                .0
                .iter()
                .any(|o| matches!(o, Outcome::Late { .. }))
        );

        for cut in 0..records.len() {
            let mut first = PartitionState::restore(BIKES, None, "").unwrap();
            let (mut outcomes, mut out) = run(&mut first, &records[..cut]);
            let (committed, metadata) = match first.checkpoint() {
                Some(c) => (Some(c.replay_from), c.metadata),
                None => (None, String::new()),
            };
            let mut second = PartitionState::restore(BIKES, committed, &metadata).unwrap();
            let from = committed.unwrap_or(0) as usize;
            let (more_outcomes, more_out) = run(&mut second, &records[from..]);
            outcomes.extend(
                more_outcomes
                    .into_iter()
                    .filter(|o| *o != Outcome::Replayed),
            );
            out.extend(more_out);
            assert_eq!(out, reference.1, "cut at {cut}");
            assert_eq!(outcomes, reference.0, "cut at {cut}");
        }
    }

    /// A record found malformed before parsing (an Avro value that could not be decoded) is dead-lettered
    /// once, skipped when read again to rebuild state, and moves the offsets like any record.
    #[test]
    fn records_malformed_before_parsing_count_like_malformed_ones() {
        let bad = || {
            Err(Malformed {
                reason: "bad_avro",
                detail: "x".into(),
            })
        };
        let mut s = PartitionState::restore(BIKES, None, "").unwrap();
        assert_eq!(s.process(0, Some(&bike(1, 1, 10))).0, Outcome::Accepted);
        let (outcome, closed) = s.process_parsed(1, bad());
        assert!(closed.is_empty());
        assert!(matches!(
            outcome,
            Outcome::Malformed(Malformed {
                reason: "bad_avro",
                ..
            })
        ));
        assert_eq!(s.process_parsed(1, bad()).0, Outcome::Duplicate);
        let c = s.checkpoint().unwrap();
        assert_eq!((c.replay_from, s.next_offset()), (0, Some(2)));
        let mut restored = PartitionState::restore(BIKES, Some(0), &c.metadata).unwrap();
        assert_eq!(
            restored.process(0, Some(&bike(1, 1, 10))).0,
            Outcome::Replayed
        );
        assert_eq!(restored.process_parsed(1, bad()).0, Outcome::Replayed);
        assert!(!restored.replaying());
    }

    #[test]
    fn a_checkpoint_of_other_settings_is_refused() {
        let mut s = PartitionState::restore(BIKES, None, "").unwrap();
        s.process(0, Some(&bike(1, 1, 10)));
        let c = s.checkpoint().unwrap();
        assert_eq!(c.replay_from, 0);
        let other = WindowSpec {
            size_ms: 2000,
            ..BIKES
        };
        let err = PartitionState::restore(other, Some(0), &c.metadata).unwrap_err();
        assert!(err.contains("window=1000"), "{err}");
        assert!(PartitionState::restore(BIKES, Some(0), "something else").is_err());
    }

    #[test]
    fn dead_letters_keep_the_payload() {
        let v: serde_json::Value = serde_json::from_str(&dead_letter_json(
            "bad_json",
            "x",
            "t",
            3,
            17,
            Some(b"{oops"),
        ))
        .unwrap();
        assert_eq!(v["reason"], "bad_json");
        assert_eq!(v["partition"], 3);
        assert_eq!(v["offset"], 17);
        assert_eq!(v["payload"], "{oops");
        let v: serde_json::Value = serde_json::from_str(&dead_letter_json(
            "bad_json",
            "x",
            "t",
            0,
            0,
            Some(&[0xff, 0x00, 0x61, 0x62]),
        ))
        .unwrap();
        assert_eq!(v["payload"], serde_json::Value::Null);
        assert_eq!(v["payload_base64"], "/wBhYg==");
        // Avro in the Confluent wire format: base64 although it is valid UTF-8 here.
        let v: serde_json::Value = serde_json::from_str(&dead_letter_json(
            "bad_avro",
            "x",
            "t",
            0,
            0,
            Some(&[0, 0, 0, 0, 1, b'a']),
        ))
        .unwrap();
        assert_eq!(v["payload"], serde_json::Value::Null);
        assert_eq!(v["payload_base64"], "AAAAAAFh");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
    }
}
