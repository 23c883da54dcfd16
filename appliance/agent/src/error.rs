//! The agent's error type.

use std::path::PathBuf;

/// A failure of the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Reading or writing a file in the agent's folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The box's node key could not be loaded, created or adopted (the error names the file).
    #[error(transparent)]
    Key(#[from] appliance_quic::IdentityError),
    /// A stored enrollment state file does not parse.
    #[error("enrollment state {path}: {problem} (delete it to enroll again with a new token)")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The box has never enrolled and no enrollment token was given.
    #[error("this box is not enrolled: give an enrollment token (--enroll-token)")]
    NoToken,
    /// The control plane could not be reached.
    #[error("control plane at {url} unreachable: {source}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong.
        source: reqwest::Error,
    },
    /// The control plane refused the request.
    #[error("control plane refused {url}: {status} {code}: {message}")]
    Refused {
        /// The URL asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error code of its JSON answer (e.g. `token_expired`).
        code: String,
        /// Its message.
        message: String,
    },
    /// The control plane answered something the agent does not understand.
    #[error("control plane at {url} answered unexpectedly: {problem}")]
    BadAnswer {
        /// The URL asked.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The issued certificates could not be used for TLS.
    #[error("TLS setup: {0}")]
    Tls(String),
}

impl AgentError {
    /// Whether retrying later may succeed (the control plane was unreachable or failed), as
    /// opposed to a refusal or a local problem that needs a person.
    pub fn is_transient(&self) -> bool {
        match self {
            AgentError::Unreachable { .. } => true,
            AgentError::Refused { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
