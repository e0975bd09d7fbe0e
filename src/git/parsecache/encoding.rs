//! The byte encoding of the parse cache's entries and of the memos kept in it: YAML
//! values, lengths (LEB128), strings and optional strings, and the [`Reader`] that
//! reads them back, refusing anything malformed.
use crate::yaml::{Map, Value};

/// Nesting deeper than this is refused when decoding (YAML is read 64 levels deep).
const MAX_DEPTH: usize = 128;
/// Counts read from the file reserve at most this much up front (a count is bounded
/// by the bytes left, not by what they would take in memory).
const PREALLOCATE: usize = 256;

/// One YAML value in the parse cache's encoding, for [`Reader::one_value`].
pub fn put_value(out: &mut Vec<u8>, v: &Value) {
    encode(out, v);
}

/// YAML values in the parse cache's encoding, for a memo's payload.
pub fn encode_values(values: &[&Value]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, values.len());
    for v in values {
        encode(&mut out, v);
    }
    out
}

/// The values [`encode_values`] wrote (None when `bytes` is not exactly that).
pub fn decode_values(bytes: &[u8]) -> Option<Vec<Value>> {
    decode_chunks(bytes, 1)?.pop()
}

pub(super) const NULL: u8 = 0;
pub(super) const FALSE: u8 = 1;
pub(super) const TRUE: u8 = 2;
pub(super) const UINT: u8 = 3;
pub(super) const INT: u8 = 4;
pub(super) const FLOAT: u8 = 5;
pub(super) const STRING: u8 = 6;
pub(super) const ARRAY: u8 = 7;
pub(super) const OBJECT: u8 = 8;

/// A length or count in a payload (LEB128), for [`Reader::count`] to read back: the
/// encoding of the parse cache, which memo payloads share.
pub fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Bytes after their length, for [`Reader::bytes`] (and a string, [`Reader::str`]).
/// A string in the payload encoding ([`put_bytes`] of its bytes; [`Reader::str`]).
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// An optional string: 0, or 1 and the string ([`put_str`]).
pub fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

pub(super) fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(UINT);
                out.extend_from_slice(&u.to_le_bytes());
            } else if let Some(i) = n.as_i64() {
                out.push(INT);
                out.extend_from_slice(&i.to_le_bytes());
            } else {
                out.push(FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(STRING);
            put_str(out, s);
        }
        Value::Array(a) => {
            out.push(ARRAY);
            put_len(out, a.len());
            for x in a {
                encode(out, x);
            }
        }
        Value::Object(m) => {
            out.push(OBJECT);
            put_len(out, m.len());
            for (k, x) in m {
                put_str(out, k);
                encode(out, x);
            }
        }
    }
}

/// A payload being read, every read checked: None means not this format (the parse
/// cache's entries, and memo payloads written with [`put_len`] and [`put_bytes`]).
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    /// What [`put_bytes`] wrote.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }

    /// A string [`put_bytes`] wrote.
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// One value [`encode_values`] would write, at the top level.
    pub fn one_value(&mut self) -> Option<Value> {
        self.value(0)
    }

    /// A count of items that each take at least `min` bytes (bounds what a reader
    /// reserves).
    pub fn items(&mut self, min: usize) -> Option<usize> {
        let n = self.count()?;
        (n.saturating_mul(min) <= self.bytes.len() - self.at).then_some(n)
    }

    /// How many bytes are left to read.
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Whether every byte was read.
    pub fn end(&self) -> Option<()> {
        (self.at == self.bytes.len()).then_some(())
    }

    /// What [`put_len`] wrote; never more than the bytes left (each item takes one).
    pub fn count(&mut self) -> Option<usize> {
        let mut n: usize = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= usize::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                // A count never exceeds what is left to read (each item takes a byte).
                return (n <= self.bytes.len() - self.at).then_some(n);
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }

    fn eight(&mut self) -> Option<[u8; 8]> {
        self.take(8)?.try_into().ok()
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            UINT => Value::from(u64::from_le_bytes(self.eight()?)),
            INT => Value::from(i64::from_le_bytes(self.eight()?)),
            FLOAT => Value::Number(serde_json::Number::from_f64(f64::from_le_bytes(
                self.eight()?,
            ))?),
            STRING => Value::String(self.string()?),
            ARRAY => {
                let n = self.count()?;
                let mut a = Vec::with_capacity(n.min(PREALLOCATE));
                for _ in 0..n {
                    a.push(self.value(depth + 1)?);
                }
                Value::Array(a)
            }
            OBJECT => {
                let n = self.count()?;
                let mut m = Map::with_capacity(n.min(PREALLOCATE));
                for _ in 0..n {
                    let k = self.string()?;
                    let v = self.value(depth + 1)?;
                    if m.insert(k, v).is_some() {
                        return None;
                    }
                }
                Value::Object(m)
            }
            _ => return None,
        })
    }
}

pub(super) fn decode_chunks(payload: &[u8], chunks: usize) -> Option<Vec<Vec<Value>>> {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let mut out = Vec::with_capacity(chunks.min(PREALLOCATE));
    for _ in 0..chunks {
        let n = r.count()?;
        let mut docs = Vec::with_capacity(n.min(PREALLOCATE));
        for _ in 0..n {
            docs.push(r.value(0)?);
        }
        out.push(docs);
    }
    (r.at == payload.len()).then_some(out)
}
