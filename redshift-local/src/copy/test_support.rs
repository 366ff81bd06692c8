//! Helpers the `COPY`/`UNLOAD` tests share: a valid authorization, and statements read into a spec or an error.

use super::spec::{Command, CopySpec, UnloadSpec};
use super::statement::recognise;

pub(super) const ROLE: &str = "IAM_ROLE 'arn:aws:iam::123456789012:role/Loader'";

pub(super) fn copy_of(sql: &str) -> CopySpec {
    match recognise(sql) {
        Some(Ok(Command::Copy(spec))) => *spec,
        other => panic!("{sql}: {other:?}"),
    }
}

pub(super) fn unload_of(sql: &str) -> UnloadSpec {
    match recognise(sql) {
        Some(Ok(Command::Unload(spec))) => spec,
        other => panic!("{sql}: {other:?}"),
    }
}

pub(super) fn error_of(sql: &str) -> String {
    match recognise(sql) {
        Some(Err(e)) => e.to_string(),
        other => panic!("{sql}: expected an error, got {other:?}"),
    }
}
