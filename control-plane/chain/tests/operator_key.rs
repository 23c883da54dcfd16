//! Loading the operator key: keystore with a password from the environment, raw key from the
//! environment, and that the secret never shows in Debug output or errors.

use control_plane_chain::local_chain::{LocalChain, DEV_KEYS};
use control_plane_chain::{KeyError, OperatorKey};

// Each test uses its own variable names: nextest runs tests in separate processes, cargo test in
// threads of one.

#[test]
fn a_keystore_opens_with_the_password_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let secret = alloy::hex::decode(DEV_KEYS[1]).unwrap();
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        dir.path(),
        &mut rand::thread_rng(),
        &secret,
        "correct horse",
        Some("operator.json"),
    )
    .unwrap();
    let path = dir.path().join("operator.json");
    std::env::set_var("TEST_KEYSTORE_PASSWORD_OK", "correct horse");
    let key = OperatorKey::from_keystore(&path, "TEST_KEYSTORE_PASSWORD_OK").unwrap();
    assert_eq!(key.address(), LocalChain::dev_key(1).address());

    std::env::set_var("TEST_KEYSTORE_PASSWORD_BAD", "wrong");
    let err = OperatorKey::from_keystore(&path, "TEST_KEYSTORE_PASSWORD_BAD").unwrap_err();
    assert!(matches!(err, KeyError::Keystore { .. }), "{err:?}");
    let err = OperatorKey::from_keystore(&path, "TEST_KEYSTORE_PASSWORD_UNSET").unwrap_err();
    assert!(
        matches!(&err, KeyError::MissingEnv(var) if var == "TEST_KEYSTORE_PASSWORD_UNSET"),
        "{err:?}"
    );
    let err = OperatorKey::from_keystore(
        &dir.path().join("missing.json"),
        "TEST_KEYSTORE_PASSWORD_OK",
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
}

#[test]
fn a_raw_key_comes_from_the_environment_and_is_never_printed() {
    std::env::set_var("TEST_OPERATOR_KEY", DEV_KEYS[0]);
    let key = OperatorKey::from_env("TEST_OPERATOR_KEY").unwrap();
    assert_eq!(key.address(), LocalChain::dev_key(0).address());
    let shown = format!("{key:?}");
    let hex = DEV_KEYS[0].trim_start_matches("0x");
    assert!(
        !shown.contains(hex) && !shown.contains(&hex[..16]),
        "{shown}"
    );
    let address = key.address().to_string().to_lowercase();
    assert!(
        shown.contains("redacted") && shown.to_lowercase().contains(&address),
        "{shown}"
    );

    // Without 0x and with surrounding whitespace (as files and env often have it).
    std::env::set_var("TEST_OPERATOR_KEY_BARE", format!(" {hex}\n"));
    assert_eq!(
        OperatorKey::from_env("TEST_OPERATOR_KEY_BARE")
            .unwrap()
            .address(),
        key.address()
    );

    // A malformed key: the error names the variable, not the value.
    let almost = format!("{}zz", &hex[..62]);
    std::env::set_var("TEST_OPERATOR_KEY_BAD", &almost);
    let err = OperatorKey::from_env("TEST_OPERATOR_KEY_BAD").unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey(_)));
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("TEST_OPERATOR_KEY_BAD") && !shown.contains(&almost[..16]),
        "{shown}"
    );
    assert!(matches!(
        OperatorKey::from_env("TEST_OPERATOR_KEY_UNSET"),
        Err(KeyError::MissingEnv(_))
    ));
}
