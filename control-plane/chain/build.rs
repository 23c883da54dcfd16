//! Compiles `control-plane/contracts/NodeRegistry.sol` with the pinned npm `solc` (solcjs, run by
//! node) into `$OUT_DIR/NodeRegistry.json` (`{"abi": [...], "bytecode": "0x..."}`), which `sol!`
//! turns into bindings. Nothing generated is committed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Contract source file and contract name inside it.
const SOURCE: &str = "NodeRegistry.sol";
const CONTRACT: &str = "NodeRegistry";
/// Oldest hardfork the contract must run on: Cancun is live on 0G Chain and every current EVM chain.
const EVM_VERSION: &str = "cancun";
/// Optimizer runs: registration calls are rare, so this balances deploy and call cost.
const OPTIMIZER_RUNS: u32 = 200;

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let contracts = manifest
        .parent()
        .expect("control-plane/chain has a parent folder")
        .join("contracts");
    let source_path = contracts.join(SOURCE);
    let compile_script = contracts.join("compile.js");
    println!("cargo:rerun-if-changed={}", source_path.display());
    println!("cargo:rerun-if-changed={}", compile_script.display());
    println!(
        "cargo:rerun-if-changed={}",
        contracts.join("package-lock.json").display()
    );

    let source = std::fs::read_to_string(&source_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", source_path.display()));
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": { SOURCE: { "content": source } },
        "settings": {
            "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS },
            "evmVersion": EVM_VERSION,
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });

    let output = run_solc(&contracts, &compile_script, &input.to_string());
    let output: serde_json::Value = serde_json::from_str(&output)
        .unwrap_or_else(|e| panic!("solc printed something that is not JSON ({e}): {output}"));
    let mut fatal = Vec::new();
    for error in output["errors"].as_array().into_iter().flatten() {
        let text = error["formattedMessage"].as_str().unwrap_or("(no message)");
        if error["severity"] == "error" {
            fatal.push(text.to_owned());
        } else {
            println!("cargo:warning=solc: {}", text.lines().next().unwrap_or(""));
        }
    }
    if !fatal.is_empty() {
        panic!(
            "solc could not compile {}:\n{}",
            source_path.display(),
            fatal.join("\n")
        );
    }
    let contract = &output["contracts"][SOURCE][CONTRACT];
    let bytecode = contract["evm"]["bytecode"]["object"]
        .as_str()
        .expect("solc output has bytecode");
    let deployed = contract["evm"]["deployedBytecode"]["object"]
        .as_str()
        .expect("solc output has runtime code");
    assert!(
        !bytecode.is_empty(),
        "solc produced empty bytecode for {CONTRACT}"
    );
    let artifact = serde_json::json!({
        "abi": contract["abi"],
        "bytecode": format!("0x{bytecode}"),
        "deployedBytecode": format!("0x{deployed}"),
    });
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join(format!("{CONTRACT}.json"));
    std::fs::write(&out, artifact.to_string())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// Runs `node compile.js` with the standard-JSON input on stdin and returns its stdout.
fn run_solc(contracts: &Path, compile_script: &Path, input: &str) -> String {
    let missing = || {
        format!(
            "solc (npm package) is not installed in {dir}/node_modules. Run scripts/install-test-deps.sh \
             or `npm ci --prefix control-plane/contracts` (needs node >= 20 and npm).",
            dir = contracts.display()
        )
    };
    if !contracts.join("node_modules/solc/package.json").is_file() {
        panic!("{}", missing());
    }
    let mut child = Command::new("node")
        .arg(compile_script)
        .current_dir(contracts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}); {}", missing()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write solc input");
    let result = child.wait_with_output().expect("wait for solc");
    if !result.status.success() {
        panic!(
            "solc failed ({}): {}\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr),
            missing()
        );
    }
    String::from_utf8(result.stdout).expect("solc output is UTF-8")
}
