//! The consensus-spec-tests KZG vectors: read from the original YAML layout, or from the compact
//! packed file committed in `tests/data/` (deduplicated byte strings, gzip'd).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// A YAML value as the KZG vectors use it, with hex strings turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`: the call must fail.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A `0x...` hex string.
    Bytes(Vec<u8>),
    /// A non-negative integer (cell and commitment indices).
    Int(u64),
    /// A YAML sequence.
    List(Vec<Value>),
}

/// One test case: `<suite>/kzg-mainnet/<name>/data.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The suite (function) name.
    pub suite: String,
    /// The case folder name.
    pub name: String,
    /// `input` fields by name.
    pub input: BTreeMap<String, Value>,
    /// `output`.
    pub output: Value,
}

const MAGIC: &[u8; 8] = b"KZGVEC1\n";

fn from_yaml(value: &serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(*b),
        serde_yaml::Value::Number(n) => Value::Int(n.as_u64().expect("indices are u64")),
        serde_yaml::Value::String(s) => {
            let hex_digits = s.strip_prefix("0x").expect("strings are 0x-hex");
            Value::Bytes(hex::decode(hex_digits).expect("valid hex"))
        }
        serde_yaml::Value::Sequence(items) => Value::List(items.iter().map(from_yaml).collect()),
        other => panic!("unexpected YAML value {other:?}"),
    }
}

/// Reads every case of `suite` under `dir` (original layout), sorted by name.
pub fn load_yaml_suite(dir: &Path, suite: &str) -> Vec<Case> {
    let suite_dir = dir.join(suite).join("kzg-mainnet");
    let Ok(entries) = std::fs::read_dir(&suite_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| {
            e.expect("readable dir")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(suite_dir.join(&name).join("data.yaml"))
                .expect("readable data.yaml");
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
            let input = doc["input"]
                .as_mapping()
                .expect("input is a mapping")
                .iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), from_yaml(v)))
                .collect();
            Case {
                suite: suite.to_owned(),
                name,
                input,
                output: from_yaml(&doc["output"]),
            }
        })
        .collect()
}

struct Writer {
    table: Vec<Vec<u8>>,
    index: BTreeMap<Vec<u8>, u32>,
    body: Vec<u8>,
}

impl Writer {
    fn u32(&mut self, v: u32) {
        self.body.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.body.extend_from_slice(s.as_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.body.push(0),
            Value::Bool(false) => self.body.push(1),
            Value::Bool(true) => self.body.push(2),
            Value::Bytes(bytes) => {
                self.body.push(3);
                let next = self.table.len() as u32;
                let id = *self.index.entry(bytes.clone()).or_insert(next);
                if id == next {
                    self.table.push(bytes.clone());
                }
                self.u32(id);
            }
            Value::Int(i) => {
                self.body.push(4);
                self.body.extend_from_slice(&i.to_le_bytes());
            }
            Value::List(items) => {
                self.body.push(5);
                self.u32(items.len() as u32);
                for item in items {
                    self.value(item);
                }
            }
        }
    }
}

/// Packs cases: byte strings are stored once in a table and referred to by index; gzip'd.
pub fn pack(cases: &[Case]) -> Vec<u8> {
    let mut w = Writer {
        table: Vec::new(),
        index: BTreeMap::new(),
        body: Vec::new(),
    };
    w.u32(cases.len() as u32);
    for case in cases {
        w.str(&case.suite);
        w.str(&case.name);
        w.u32(case.input.len() as u32);
        for (key, value) in &case.input {
            w.str(key);
            w.value(value);
        }
        w.value(&case.output);
    }
    let mut raw = MAGIC.to_vec();
    raw.extend_from_slice(&(w.table.len() as u32).to_le_bytes());
    for entry in &w.table {
        raw.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        raw.extend_from_slice(entry);
    }
    raw.extend_from_slice(&w.body);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).expect("in-memory write");
    gz.finish().expect("in-memory write")
}

struct Reader<'a> {
    data: &'a [u8],
    table: Vec<&'a [u8]>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    fn str(&mut self) -> String {
        let n = self.u32() as usize;
        String::from_utf8(self.take(n).to_vec()).expect("utf-8")
    }
    fn value(&mut self) -> Value {
        match self.take(1)[0] {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => {
                let id = self.u32() as usize;
                Value::Bytes(self.table[id].to_vec())
            }
            4 => Value::Int(u64::from_le_bytes(
                self.take(8).try_into().expect("8 bytes"),
            )),
            5 => {
                let n = self.u32() as usize;
                Value::List((0..n).map(|_| self.value()).collect())
            }
            tag => panic!("unknown tag {tag}"),
        }
    }
}

/// Unpacks what [`pack`] wrote.
pub fn unpack(packed: &[u8]) -> Vec<Case> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(packed)
        .read_to_end(&mut raw)
        .expect("valid gzip");
    assert_eq!(&raw[..MAGIC.len()], MAGIC, "not a packed vector file");
    let mut r = Reader {
        data: &raw[MAGIC.len()..],
        table: Vec::new(),
    };
    let entries = r.u32();
    for _ in 0..entries {
        let n = r.u32() as usize;
        let entry = r.take(n);
        r.table.push(entry);
    }
    let count = r.u32();
    (0..count)
        .map(|_| {
            let suite = r.str();
            let name = r.str();
            let fields = r.u32();
            let input = (0..fields).map(|_| (r.str(), r.value())).collect();
            let output = r.value();
            Case {
                suite,
                name,
                input,
                output,
            }
        })
        .collect()
}

/// Every suite in the official KZG vectors.
pub const SUITES: [&str; 12] = [
    "blob_to_kzg_commitment",
    "compute_blob_kzg_proof",
    "compute_cells",
    "compute_cells_and_kzg_proofs",
    "compute_challenge",
    "compute_kzg_proof",
    "compute_verify_cell_kzg_proof_batch_challenge",
    "recover_cells_and_kzg_proofs",
    "verify_blob_kzg_proof",
    "verify_blob_kzg_proof_batch",
    "verify_cell_kzg_proof_batch",
    "verify_kzg_proof",
];
