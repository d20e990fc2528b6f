//! The demo events: bike station status (the JCDecaux API's station record) and stock ticks (the
//! stock-fetcher's record), generated deterministically from a seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A bike station's status, in the JCDecaux API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationStatus {
    pub number: u32,
    pub contract_name: String,
    pub name: String,
    pub bike_stands: u32,
    pub available_bike_stands: u32,
    pub available_bikes: u32,
    pub status: String,
    /// Event time, milliseconds since the Unix epoch.
    pub last_update: i64,
}

/// A stock tick, in the stock fetcher's field names (one quote per record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockTick {
    pub symbol: String,
    pub name: String,
    pub price: Price,
    pub percent_change: f64,
    pub volume: u64,
    /// Event time, milliseconds since the Unix epoch.
    pub as_of: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub currency: String,
    pub amount: f64,
}

/// One generated event: its key (station number or symbol), its JSON, its event time (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRecord {
    pub key: String,
    pub json: String,
    pub event_ms: i64,
}

/// One generated event, as its struct.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DemoEvent {
    Station(StationStatus),
    Tick(StockTick),
}

impl DemoEvent {
    /// The record key: the station number or the stock symbol.
    pub fn key(&self) -> String {
        match self {
            DemoEvent::Station(s) => s.number.to_string(),
            DemoEvent::Tick(t) => t.symbol.clone(),
        }
    }

    /// The event time, ms since the Unix epoch.
    pub fn event_ms(&self) -> i64 {
        match self {
            DemoEvent::Station(s) => s.last_update,
            DemoEvent::Tick(t) => t.as_of,
        }
    }

    /// The event as one JSON object (no newline), in the struct's field order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain structs always serialize")
    }
}

/// Which demo's events to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventKind {
    Bikes,
    Stocks,
}

const SYMBOLS: [(&str, &str, f64); 4] = [
    ("ALI", "Ayala Land", 23.5),
    ("BDO", "Banco de Oro", 120.0),
    ("SM", "SM Investments", 950.0),
    ("JFC", "Jollibee Foods", 240.0),
];

/// An endless, deterministic stream of events: the same seed gives the same events.
pub struct Generator {
    rng: ChaCha8Rng,
    kind: EventKind,
    stations: u32,
    clock_ms: i64,
    step_ms: i64,
}

impl Generator {
    /// `stations` bike stations (ignored for stocks); event time starts at `start_ms` and advances
    /// by `step_ms` per event.
    pub fn new(kind: EventKind, seed: u64, stations: u32, start_ms: i64, step_ms: i64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            kind,
            stations: stations.max(1),
            clock_ms: start_ms,
            step_ms,
        }
    }

    /// The next event as one JSON line (no newline).
    pub fn next_json(&mut self) -> String {
        self.next_record().json
    }

    /// The next event with its key (the station number or the stock symbol) and event time.
    pub fn next_record(&mut self) -> GeneratedRecord {
        let event = self.next_event();
        GeneratedRecord {
            key: event.key(),
            json: event.to_json(),
            event_ms: event.event_ms(),
        }
    }

    /// The next event, as its struct.
    pub fn next_event(&mut self) -> DemoEvent {
        let event = match self.kind {
            EventKind::Bikes => DemoEvent::Station(self.next_station()),
            EventKind::Stocks => DemoEvent::Tick(self.next_tick()),
        };
        self.clock_ms += self.step_ms;
        event
    }

    fn next_station(&mut self) -> StationStatus {
        let number = self.rng.random_range(1..=self.stations);
        let bike_stands = 10 + number % 30;
        let available_bikes = self.rng.random_range(0..=bike_stands);
        StationStatus {
            number,
            contract_name: "lyon".into(),
            name: format!("STATION {number:04}"),
            bike_stands,
            available_bike_stands: bike_stands - available_bikes,
            available_bikes,
            status: "OPEN".into(),
            last_update: self.clock_ms,
        }
    }

    fn next_tick(&mut self) -> StockTick {
        let (symbol, name, base) = SYMBOLS[self.rng.random_range(0..SYMBOLS.len())];
        let percent_change: f64 = (self.rng.random_range(-500..=500) as f64) / 100.0;
        StockTick {
            symbol: symbol.into(),
            name: name.into(),
            price: Price {
                currency: "PHP".into(),
                amount: (base * (1.0 + percent_change / 100.0) * 100.0).round() / 100.0,
            },
            percent_change,
            volume: self.rng.random_range(1_000..10_000_000),
            as_of: self.clock_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(kind: EventKind, seed: u64, n: usize) -> Vec<String> {
        let mut generator = Generator::new(kind, seed, 50, 1_700_000_000_000, 100);
        (0..n).map(|_| generator.next_json()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        assert_eq!(
            take(EventKind::Bikes, 7, 100),
            take(EventKind::Bikes, 7, 100)
        );
        assert_ne!(
            take(EventKind::Bikes, 7, 100),
            take(EventKind::Bikes, 8, 100)
        );
    }

    #[test]
    fn station_records_are_consistent() {
        for line in take(EventKind::Bikes, 1, 500) {
            let s: StationStatus = serde_json::from_str(&line).unwrap();
            assert!((1..=50).contains(&s.number));
            assert_eq!(s.available_bikes + s.available_bike_stands, s.bike_stands);
        }
    }

    #[test]
    fn ticks_stay_within_five_percent_and_time_advances() {
        let ticks: Vec<StockTick> = take(EventKind::Stocks, 3, 200)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(ticks.iter().all(|t| t.percent_change.abs() <= 5.0));
        assert!(ticks.windows(2).all(|w| w[1].as_of - w[0].as_of == 100));
    }
}
