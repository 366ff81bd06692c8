//! Manifests: the data files a `COPY ... MANIFEST` reads, and the `<prefix>manifest` object an
//! `UNLOAD ... MANIFEST` writes, both in the JSON of "Using a manifest to specify data files"
//! (<https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html>):
//! `{"entries": [{"url": "s3://bucket/key", "mandatory": true}, ...]}`.

use super::error::CopyError;
use super::s3::{get_object, list_keys};
use super::spec::{CopySpec, S3Url};
use serde::{Deserialize, Serialize};

/// A manifest as `COPY` reads it.
#[derive(Deserialize)]
struct CopyManifest {
    entries: Vec<CopyEntry>,
}

/// One data file of a manifest; `mandatory` is false by default ("If mandatory is false, COPY skips the file
/// when it isn't found").
#[derive(Deserialize)]
struct CopyEntry {
    url: String,
    #[serde(default)]
    mandatory: bool,
}

/// A manifest as `UNLOAD` writes it.
#[derive(Serialize)]
struct UnloadManifest {
    entries: Vec<UnloadEntry>,
}

/// One part file of an unload.
#[derive(Serialize)]
struct UnloadEntry {
    url: String,
}

/// The `(bucket, key)` of each data file a `COPY` reads: the objects under the prefix in key order, or the
/// manifest's entries in its order (a missing entry skipped unless it is mandatory).
pub(super) async fn source_files(
    s3: &aws_sdk_s3::Client,
    spec: &CopySpec,
) -> Result<Vec<(String, String)>, CopyError> {
    if !spec.manifest {
        let keys = list_keys(s3, &spec.source).await?;
        if keys.is_empty() {
            return Err(CopyError::NoSuchPrefix(spec.source.prefix.clone()));
        }
        return Ok(keys
            .into_iter()
            .map(|k| (spec.source.bucket.clone(), k))
            .collect());
    }
    let body = get_object(s3, &spec.source.bucket, &spec.source.prefix).await?;
    let manifest: CopyManifest = serde_json::from_slice(&body).map_err(|e| {
        CopyError::Manifest(format!("Manifest file is not in correct json format ({e})"))
    })?;
    let mut files = Vec::new();
    for entry in manifest.entries {
        let Some(url) = S3Url::parse(&entry.url).filter(|u| !u.prefix.is_empty()) else {
            return Err(CopyError::Manifest(format!(
                "COPY with MANIFEST requires the full path of an S3 object, not '{}'",
                entry.url
            )));
        };
        let exists = list_keys(s3, &url).await?.contains(&url.prefix);
        match (exists, entry.mandatory) {
            (true, _) => files.push((url.bucket, url.prefix)),
            (false, false) => {}
            (false, true) => {
                return Err(CopyError::Manifest(format!(
                    "Manifest file entry '{}' is mandatory and does not exist",
                    entry.url
                )))
            }
        }
    }
    Ok(files)
}

/// The manifest an `UNLOAD` writes next to its part files (at `<prefix>manifest`).
pub(super) fn unload_manifest(bucket: &str, keys: &[String]) -> String {
    let manifest = UnloadManifest {
        entries: keys
            .iter()
            .map(|k| UnloadEntry {
                url: format!("s3://{bucket}/{k}"),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&manifest).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unload_manifest_lists_the_part_files() {
        let text = unload_manifest("b", &["out/0000_part_00".to_string()]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"entries": [{"url": "s3://b/out/0000_part_00"}]})
        );
    }

    #[test]
    fn copy_manifest_entries_default_to_optional() {
        let m: CopyManifest = serde_json::from_str(
            r#"{"entries": [{"url": "s3://b/a", "mandatory": true}, {"url": "s3://b/c"}]}"#,
        )
        .unwrap();
        assert!(m.entries[0].mandatory && !m.entries[1].mandatory);
    }
}
