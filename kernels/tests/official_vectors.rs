//! Runs the official consensus-spec-tests KZG vectors (EIP-4844 and EIP-7594 suites), one test per
//! suite, printing `suite: passed/total passed`. Reads the committed packed copy, or the YAML
//! layout `<suite>/kzg-mainnet/<case>/data.yaml` under `KZG_VECTORS_DIR` when that is set.

mod vector_format;

use kernels::{KzgError, KzgSettings};
use vector_format::{Case, Value};

static PACKED: &[u8] = include_bytes!("data/vectors.bin.gz");

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Bytes(b) => b,
        other => panic!("expected bytes, got {other:?}"),
    }
}

fn list(v: &Value) -> &[Value] {
    match v {
        Value::List(items) => items,
        other => panic!("expected a list, got {other:?}"),
    }
}

fn byte_list(v: &Value) -> Vec<&[u8]> {
    list(v).iter().map(bytes).collect()
}

fn int_list(v: &Value) -> Vec<u64> {
    list(v)
        .iter()
        .map(|i| match i {
            Value::Int(i) => *i,
            other => panic!("expected an integer, got {other:?}"),
        })
        .collect()
}

fn to_bytes<const N: usize>(items: &[[u8; N]]) -> Value {
    Value::List(items.iter().map(|i| Value::Bytes(i.to_vec())).collect())
}

/// Runs one case; `Value::Null` stands for "the call returned an error".
fn run(settings: &KzgSettings, case: &Case) -> Value {
    let input = |key: &str| {
        case.input
            .get(key)
            .unwrap_or_else(|| panic!("{}: missing input {key}", case.name))
    };
    let result: Result<Value, KzgError> = match case.suite.as_str() {
        "blob_to_kzg_commitment" => settings
            .blob_to_kzg_commitment(bytes(input("blob")))
            .map(|c| Value::Bytes(c.to_vec())),
        "compute_kzg_proof" => settings
            .compute_kzg_proof(bytes(input("blob")), bytes(input("z")))
            .map(|(proof, y)| {
                Value::List(vec![Value::Bytes(proof.to_vec()), Value::Bytes(y.to_vec())])
            }),
        "compute_blob_kzg_proof" => settings
            .compute_blob_kzg_proof(bytes(input("blob")), bytes(input("commitment")))
            .map(|p| Value::Bytes(p.to_vec())),
        "verify_kzg_proof" => settings
            .verify_kzg_proof(
                bytes(input("commitment")),
                bytes(input("z")),
                bytes(input("y")),
                bytes(input("proof")),
            )
            .map(Value::Bool),
        "verify_blob_kzg_proof" => settings
            .verify_blob_kzg_proof(
                bytes(input("blob")),
                bytes(input("commitment")),
                bytes(input("proof")),
            )
            .map(Value::Bool),
        "verify_blob_kzg_proof_batch" => settings
            .verify_blob_kzg_proof_batch(
                &byte_list(input("blobs")),
                &byte_list(input("commitments")),
                &byte_list(input("proofs")),
            )
            .map(Value::Bool),
        "compute_challenge" => {
            kernels::compute_challenge(bytes(input("blob")), bytes(input("commitment")))
                .map(|c| Value::Bytes(c.to_vec()))
        }
        "compute_cells" => settings
            .compute_cells(bytes(input("blob")))
            .map(|cells| to_bytes(&cells)),
        "compute_cells_and_kzg_proofs" => settings
            .compute_cells_and_kzg_proofs(bytes(input("blob")))
            .map(|(cells, proofs)| Value::List(vec![to_bytes(&cells), to_bytes(&proofs)])),
        "verify_cell_kzg_proof_batch" => settings
            .verify_cell_kzg_proof_batch(
                &byte_list(input("commitments")),
                &int_list(input("cell_indices")),
                &byte_list(input("cells")),
                &byte_list(input("proofs")),
            )
            .map(Value::Bool),
        "recover_cells_and_kzg_proofs" => settings
            .recover_cells_and_kzg_proofs(
                &int_list(input("cell_indices")),
                &byte_list(input("cells")),
            )
            .map(|(cells, proofs)| Value::List(vec![to_bytes(&cells), to_bytes(&proofs)])),
        "compute_verify_cell_kzg_proof_batch_challenge" => {
            let cosets: Vec<Vec<u8>> = list(input("cosets_evals"))
                .iter()
                .map(|coset| byte_list(coset).concat())
                .collect();
            kernels::compute_verify_cell_kzg_proof_batch_challenge(
                &byte_list(input("commitments")),
                &int_list(input("commitment_indices")),
                &int_list(input("cell_indices")),
                &cosets,
                &byte_list(input("proofs")),
            )
            .map(|c| Value::Bytes(c.to_vec()))
        }
        other => panic!("unknown suite {other}"),
    };
    result.unwrap_or(Value::Null)
}

fn cases(suite: &str) -> Vec<Case> {
    match std::env::var_os("KZG_VECTORS_DIR") {
        Some(dir) => vector_format::load_yaml_suite(std::path::Path::new(&dir), suite),
        None => {
            let cases: Vec<Case> = vector_format::unpack(PACKED)
                .into_iter()
                .filter(|c| c.suite == suite)
                .collect();
            assert!(!cases.is_empty(), "packed vectors lack suite {suite}");
            cases
        }
    }
}

fn run_suite(suite: &str) {
    let settings = KzgSettings::ethereum();
    let cases = cases(suite);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| run(settings, case) != case.output)
        .map(|case| case.name.as_str())
        .collect();
    let passed = cases.len() - failed.len();
    println!("{suite}: {passed}/{} passed", cases.len());
    assert!(failed.is_empty(), "{suite}: failed cases {failed:?}");
}

#[test]
fn packed_copy_round_trips() {
    let cases = vector_format::unpack(PACKED);
    assert_eq!(vector_format::unpack(&vector_format::pack(&cases)), cases);
    let suites: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.suite.as_str()).collect();
    assert_eq!(suites.len(), vector_format::SUITES.len());
}

macro_rules! suites {
    ($($suite:ident),* $(,)?) => {
        $(
            #[test]
            fn $suite() {
                run_suite(stringify!($suite));
            }
        )*

        #[test]
        fn every_suite_has_a_test() {
            let tested = [$(stringify!($suite)),*];
            assert_eq!(tested, vector_format::SUITES);
        }
    };
}

suites!(
    blob_to_kzg_commitment,
    compute_blob_kzg_proof,
    compute_cells,
    compute_cells_and_kzg_proofs,
    compute_challenge,
    compute_kzg_proof,
    compute_verify_cell_kzg_proof_batch_challenge,
    recover_cells_and_kzg_proofs,
    verify_blob_kzg_proof,
    verify_blob_kzg_proof_batch,
    verify_cell_kzg_proof_batch,
    verify_kzg_proof,
);
