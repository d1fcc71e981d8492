//! freqtrade's feather files: Arrow IPC ("feather v2"), lz4-compressed, columns `date`
//! (timestamp, UTC — nanoseconds in files pandas writes), `open`, `high`, `low`, `close`,
//! `volume` (`f64`).
//!
//! Files are checked structurally first ([`guard`]), then decoded with `arrow-ipc`. Writing keeps
//! the input's schema (timestamp unit and zone, field metadata, the pandas metadata with its row
//! count updated), in freqtrade's column order, lz4-compressed, so freqtrade and pandas read the
//! cleaned file as they read the original.

mod guard;

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, Float64Array, PrimitiveArray, RecordBatch};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::CompressionType;
use arrow_schema::{DataType, Field, FieldRef, Schema, TimeUnit};

use crate::candle::Candle;
use crate::error::DataError;

const COLUMNS: [&str; 6] = ["date", "open", "high", "low", "close", "volume"];
const EXPECTED: &str = "date, open, high, low, close, volume";
/// Rows per record batch written: pyarrow's default feather chunk size.
const ROWS_PER_BATCH: usize = 65_536;

/// The schema of a feather file as read, to write it back the same way.
#[derive(Debug, Clone)]
pub(crate) struct FeatherLayout {
    /// `date`, `open`, `high`, `low`, `close`, `volume` fields as read (values as `Float64`).
    fields: [FieldRef; 6],
    unit: TimeUnit,
    tz: Option<Arc<str>>,
    metadata: HashMap<String, String>,
}

impl FeatherLayout {
    /// freqtrade's layout: nanosecond UTC timestamps and `f64` values, no metadata.
    pub(crate) fn freqtrade() -> Self {
        let unit = TimeUnit::Nanosecond;
        let tz: Option<Arc<str>> = Some("UTC".into());
        let fields = std::array::from_fn(|i| {
            let ty = if i == 0 { DataType::Timestamp(unit, tz.clone()) } else { DataType::Float64 };
            Arc::new(Field::new(COLUMNS[i], ty, true))
        });
        Self { fields, unit, tz, metadata: HashMap::new() }
    }
}

/// Reads a feather file's bytes.
pub(crate) fn read(
    bytes: &[u8],
    path: &Path,
) -> Result<(Vec<Candle>, FeatherLayout, Vec<String>), DataError> {
    guard::check(bytes).map_err(|reason| DataError::Feather { file: path.into(), reason })?;
    // The guard rules out the corrupt lengths known to panic the reader; any panic left is
    // turned into an error naming the file rather than ending a run over a directory.
    catch_unwind(AssertUnwindSafe(|| read_checked(bytes, path))).unwrap_or_else(|_| {
        Err(DataError::Feather {
            file: path.into(),
            reason: "the Arrow reader failed on malformed data".into(),
        })
    })
}

fn read_checked(
    bytes: &[u8],
    path: &Path,
) -> Result<(Vec<Candle>, FeatherLayout, Vec<String>), DataError> {
    let ferr = |reason: String| DataError::Feather { file: path.into(), reason };
    let reader = FileReader::try_new(Cursor::new(bytes), None).map_err(|e| ferr(e.to_string()))?;
    let schema = reader.schema();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut index = [0usize; 6];
    for (slot, col) in index.iter_mut().zip(COLUMNS) {
        *slot = names.iter().position(|n| n == col).ok_or_else(|| DataError::Columns {
            file: path.into(),
            found: names.clone(),
            expected: EXPECTED,
        })?;
    }
    let mut notes = Vec::new();
    let extra: Vec<&String> = names.iter().filter(|n| !COLUMNS.contains(&n.as_str())).collect();
    if !extra.is_empty() {
        notes.push(format!("columns {extra:?} are not freqtrade's and were not written"));
    }
    let date_field = schema.field(index[0]);
    let (unit, tz) = match date_field.data_type() {
        DataType::Timestamp(unit, tz) => (*unit, tz.clone()),
        other => return Err(ferr(format!("column date is {other}, expected a timestamp"))),
    };
    let mut fields: [FieldRef; 6] =
        std::array::from_fn(|i| Arc::new(schema.field(index[i]).clone()));
    for (i, f) in fields.iter_mut().enumerate().skip(1) {
        match f.data_type() {
            DataType::Float64 => {}
            DataType::Float32 | DataType::Int64 => {
                notes.push(format!(
                    "column {} was {}, written as Float64",
                    COLUMNS[i],
                    f.data_type()
                ));
                *f = Arc::new(f.as_ref().clone().with_data_type(DataType::Float64));
            }
            other => {
                return Err(ferr(format!("column {} is {other}, expected Float64", COLUMNS[i])))
            }
        }
    }

    let mut candles = Vec::new();
    let mut truncated = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| ferr(e.to_string()))?;
        let base = candles.len();
        let date = batch.column(index[0]);
        let times = timestamps_ms(date.as_ref(), unit, &mut truncated)
            .map_err(|(row, reason)| ferr(format!("row {}: {reason}", base + row)))?;
        let values: Vec<Vec<f64>> = index[1..]
            .iter()
            .map(|&i| values_f64(batch.column(i).as_ref()))
            .collect::<Option<_>>()
            .ok_or_else(|| ferr("a value column does not match its schema type".into()))?;
        candles.extend(times.iter().enumerate().map(|(r, &t)| Candle {
            open_time_ms: t,
            open: values[0][r],
            high: values[1][r],
            low: values[2][r],
            close: values[3][r],
            volume: values[4][r],
        }));
    }
    if truncated > 0 {
        notes.push(format!("{truncated} timestamps had sub-millisecond parts, which were dropped"));
    }
    if candles.is_empty() {
        return Err(DataError::NoCandles {
            file: path.into(),
            detail: "an Arrow file without rows".into(),
        });
    }
    let metadata: HashMap<String, String> = schema.metadata().clone().into();
    Ok((candles, FeatherLayout { fields, unit, tz, metadata }, notes))
}

fn timestamps_ms(
    a: &dyn Array,
    unit: TimeUnit,
    truncated: &mut usize,
) -> Result<Vec<i64>, (usize, String)> {
    let (raw, per_ms): (&[i64], i64) = match unit {
        TimeUnit::Second => (
            a.as_primitive_opt::<TimestampSecondType>().map(|p| p.values().as_ref()).unwrap_or(&[]),
            0,
        ),
        TimeUnit::Millisecond => (
            a.as_primitive_opt::<TimestampMillisecondType>()
                .map(|p| p.values().as_ref())
                .unwrap_or(&[]),
            1,
        ),
        TimeUnit::Microsecond => (
            a.as_primitive_opt::<TimestampMicrosecondType>()
                .map(|p| p.values().as_ref())
                .unwrap_or(&[]),
            1_000,
        ),
        TimeUnit::Nanosecond => (
            a.as_primitive_opt::<TimestampNanosecondType>()
                .map(|p| p.values().as_ref())
                .unwrap_or(&[]),
            1_000_000,
        ),
    };
    if raw.len() != a.len() {
        return Err((0, "column date does not match its schema type".into()));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (row, &v) in raw.iter().enumerate() {
        if a.is_null(row) {
            return Err((row, "date is null".into()));
        }
        let ms = match per_ms {
            0 => v.checked_mul(1_000).ok_or((row, format!("date {v} s overflows")))?,
            1 => v,
            n => {
                *truncated += usize::from(v.rem_euclid(n) != 0);
                v.div_euclid(n)
            }
        };
        out.push(ms);
    }
    Ok(out)
}

fn values_f64(a: &dyn Array) -> Option<Vec<f64>> {
    let mut out: Vec<f64> = if let Some(p) = a.as_primitive_opt::<Float64Type>() {
        p.values().to_vec()
    } else if let Some(p) = a.as_primitive_opt::<Float32Type>() {
        p.values().iter().map(|&v| f64::from(v)).collect()
    } else {
        a.as_primitive_opt::<Int64Type>()?.values().iter().map(|&v| v as f64).collect()
    };
    if a.null_count() > 0 {
        for (i, v) in out.iter_mut().enumerate() {
            if a.is_null(i) {
                *v = f64::NAN;
            }
        }
    }
    Some(out)
}

/// Encodes `candles` as an lz4-compressed Arrow IPC file in `layout`.
pub(crate) fn write(candles: &[Candle], layout: &FeatherLayout) -> Result<Vec<u8>, String> {
    let schema = Arc::new(Schema::new_with_metadata(
        layout.fields.to_vec(),
        pandas_metadata(&layout.metadata, candles.len()),
    ));
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .map_err(|e| e.to_string())?;
    let mut writer = FileWriter::try_new_with_options(Vec::new(), &schema, options)
        .map_err(|e| e.to_string())?;
    for chunk in candles.chunks(ROWS_PER_BATCH) {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(6);
        columns.push(date_array(chunk, layout.unit, layout.tz.clone())?);
        let value = |f: fn(&Candle) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from(chunk.iter().map(f).collect::<Vec<_>>()))
        };
        columns.extend([
            value(|c| c.open),
            value(|c| c.high),
            value(|c| c.low),
            value(|c| c.close),
            value(|c| c.volume),
        ]);
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

fn date_array(chunk: &[Candle], unit: TimeUnit, tz: Option<Arc<str>>) -> Result<ArrayRef, String> {
    let per_ms: i64 = match unit {
        TimeUnit::Second | TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1_000_000,
    };
    let mut v = Vec::with_capacity(chunk.len());
    for c in chunk {
        let t = match unit {
            // Candles open on whole seconds (timeframes are whole seconds).
            TimeUnit::Second => c.open_time_ms.div_euclid(1_000),
            _ => c.open_time_ms.checked_mul(per_ms).ok_or_else(|| {
                format!(
                    "open time {} ms does not fit the file's {unit:?} timestamps",
                    c.open_time_ms
                )
            })?,
        };
        v.push(t);
    }
    Ok(match unit {
        TimeUnit::Second => {
            Arc::new(PrimitiveArray::<TimestampSecondType>::from(v).with_timezone_opt(tz))
        }
        TimeUnit::Millisecond => {
            Arc::new(PrimitiveArray::<TimestampMillisecondType>::from(v).with_timezone_opt(tz))
        }
        TimeUnit::Microsecond => {
            Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(v).with_timezone_opt(tz))
        }
        TimeUnit::Nanosecond => {
            Arc::new(PrimitiveArray::<TimestampNanosecondType>::from(v).with_timezone_opt(tz))
        }
    })
}

/// The schema metadata with pandas' record of the row count (a `RangeIndex` `stop`) and of the
/// columns brought up to date; left byte for byte as it was when nothing changed, and metadata
/// pandas did not write is kept as it was.
fn pandas_metadata(metadata: &HashMap<String, String>, rows: usize) -> HashMap<String, String> {
    let mut out = metadata.clone();
    let Some(text) = metadata.get("pandas") else { return out };
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) else {
        out.remove("pandas");
        return out;
    };
    let mut changed = false;
    if let Some(indexes) = doc.get_mut("index_columns").and_then(|v| v.as_array_mut()) {
        for ix in
            indexes.iter_mut().filter(|ix| ix.get("kind").and_then(|k| k.as_str()) == Some("range"))
        {
            let want = [("start", 0), ("stop", rows), ("step", 1)];
            for (key, value) in want {
                if ix.get(key).and_then(|v| v.as_u64()) != Some(value as u64) {
                    ix[key] = value.into();
                    changed = true;
                }
            }
        }
    }
    if let Some(cols) = doc.get_mut("columns").and_then(|v| v.as_array_mut()) {
        let before = cols.len();
        cols.retain(|c| {
            c.get("name").and_then(|n| n.as_str()).is_some_and(|n| COLUMNS.contains(&n))
        });
        changed |= cols.len() != before;
    }
    if changed {
        match serde_json::to_string(&doc) {
            Ok(s) => out.insert("pandas".into(), s),
            Err(_) => out.remove("pandas"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample(n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let p = 100.0 + i as f64 * 0.25;
                Candle {
                    open_time_ms: 1_704_067_200_000 + i as i64 * 300_000,
                    open: p,
                    high: p + 1.0,
                    low: p - 1.0,
                    close: p + 0.5,
                    volume: i as f64,
                }
            })
            .collect()
    }

    #[test]
    fn round_trip_with_freqtrade_layout() {
        let candles = sample(70_000);
        let bytes = write(&candles, &FeatherLayout::freqtrade()).unwrap();
        let (back, layout, notes) = read(&bytes, Path::new("x.feather")).unwrap();
        assert!(notes.is_empty());
        assert_eq!(layout.unit, TimeUnit::Nanosecond);
        assert_eq!(layout.tz.as_deref(), Some("UTC"));
        assert_eq!(back.len(), candles.len());
        assert!(back.iter().zip(&candles).all(|(a, b)| a.same_bits(b)));
    }

    #[test]
    fn pandas_row_count_follows_the_data() {
        let meta = HashMap::from([(
            "pandas".to_string(),
            r#"{"index_columns":[{"kind":"range","name":null,"start":0,"stop":71769,"step":1}],"columns":[{"name":"date"},{"name":"extra"}]}"#.to_string(),
        )]);
        let out = pandas_metadata(&meta, 12);
        let doc: serde_json::Value = serde_json::from_str(&out["pandas"]).unwrap();
        assert_eq!(doc["index_columns"][0]["stop"], 12);
        assert_eq!(doc["columns"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn refuses_clearly() {
        let p = Path::new("bad.feather");
        let e = read(b"FEA1xxxxxxxx", p).unwrap_err().to_string();
        assert!(e.contains("bad.feather") && e.contains("feather v1"), "{e}");
        let e = read(b"ARROW1\0\0", p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let good = write(&sample(10), &FeatherLayout::freqtrade()).unwrap();
        let e = read(&good[..good.len() - 20], p).unwrap_err().to_string();
        assert!(e.contains("bad.feather"), "{e}");
    }

    #[test]
    fn wrong_columns_are_named() {
        let mut layout = FeatherLayout::freqtrade();
        layout.fields[4] = Arc::new(Field::new("Close", DataType::Float64, true));
        let bytes = write(&sample(3), &layout).unwrap();
        let e = read(&bytes, Path::new("w.feather")).unwrap_err().to_string();
        assert!(
            e.contains("w.feather") && e.contains("wrong columns") && e.contains("Close"),
            "{e}"
        );
    }

    /// pandas' files keep their schema through a rewrite, and the rewrite is lz4-compressed.
    #[test]
    fn real_file_keeps_its_schema_and_lz4() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/candles/freqtrade-format/BTC_USDT-1h.feather");
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("real_file_keeps_its_schema_and_lz4: skipped: {} is absent", path.display());
            return;
        };
        let (candles, layout, notes) = read(&bytes, &path).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(candles.len(), 5_980);
        assert_eq!((layout.unit, layout.tz.as_deref()), (TimeUnit::Nanosecond, Some("UTC")));
        let written = write(&candles, &layout).unwrap();
        let (back, layout2, _) = read(&written, &path).unwrap();
        assert!(back.iter().zip(&candles).all(|(a, b)| a.same_bits(b)));
        assert_eq!(layout2.fields, layout.fields);
        assert_eq!(
            layout2.metadata, layout.metadata,
            "same rows: the pandas metadata is unchanged"
        );
        assert!(lz4_compressed(&written));
        assert!(lz4_compressed(&bytes));
    }

    fn lz4_compressed(bytes: &[u8]) -> bool {
        let footer_end = bytes.len() - 10;
        let len =
            i32::from_le_bytes(bytes[footer_end..footer_end + 4].try_into().unwrap()) as usize;
        let footer = arrow_ipc::root_as_footer(&bytes[footer_end - len..footer_end]).unwrap();
        let block = footer.recordBatches().unwrap().get(0);
        let meta = &bytes[block.offset() as usize + 8..][..block.metaDataLength() as usize - 8];
        let message = arrow_ipc::root_as_message(meta).unwrap();
        let batch = message.header_as_record_batch().unwrap();
        batch.compression().is_some_and(|c| c.codec() == CompressionType::LZ4_FRAME)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read(&bytes, Path::new("r.feather"));
        }

        #[test]
        fn never_panics_on_corrupted_files(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut bytes = write(&sample(40), &FeatherLayout::freqtrade()).unwrap();
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let _ = read(&bytes, Path::new("c.feather"));
        }
    }
}
