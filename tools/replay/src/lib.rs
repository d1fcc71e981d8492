//! Captures and the replay server.
