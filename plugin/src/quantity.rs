//! Kubernetes resource quantities (`500m`, `4`, `16Gi`, `1e3`) as plain integers.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "failed to parse the quantity {0:?}: expected a number with an optional suffix such as m, k, Mi or Gi"
)]
pub struct QuantityError(pub String);

/// A quantity in thousandths of its unit: `500m` -> 500, `2` -> 2000. Used for CPU.
pub fn parse_millis(quantity: &str) -> Result<i64, QuantityError> {
    scaled(quantity, 1000.0)
}

/// A quantity in whole units, rounded up: `16Gi` -> 17179869184. Used for memory and storage.
pub fn parse_units(quantity: &str) -> Result<i64, QuantityError> {
    scaled(quantity, 1.0)
}

fn scaled(quantity: &str, scale: f64) -> Result<i64, QuantityError> {
    let error = || QuantityError(quantity.to_string());
    let text = quantity.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| error())?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().map_err(|_| error())?),
        _ => return Err(error()),
    };
    Ok((number * multiplier * scale).ceil() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_in_millis() {
        assert_eq!(parse_millis("500m"), Ok(500));
        assert_eq!(parse_millis("4"), Ok(4000));
        assert_eq!(parse_millis("0.25"), Ok(250));
        // the metrics API's usage: nanocores and microcores
        assert_eq!(parse_millis("123456789n"), Ok(124));
        assert_eq!(parse_millis("2500u"), Ok(3));
    }

    #[test]
    fn memory_in_bytes() {
        assert_eq!(parse_units("16Gi"), Ok(16 * 1024 * 1024 * 1024));
        assert_eq!(parse_units("512Mi"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_units("1G"), Ok(1_000_000_000));
        assert_eq!(parse_units("1e3"), Ok(1000));
    }

    #[test]
    fn bad_quantities_are_errors() {
        assert!(parse_units("lots").is_err());
        assert!(parse_units("12Qi").is_err());
        assert!(parse_units("").is_err());
    }
}
