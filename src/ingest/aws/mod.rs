//! AWS CLI JSON (`aws ec2 describe-*`, `aws elbv2 describe-*`): raw serde structs, lowered
//! into [`crate::model::Cloud`].

use crate::diag::Diagnostics;
use crate::model::Snapshot;
use crate::source::FileId;

/// Collects the AWS documents of a snapshot; lowering happens once all files are read, because
/// objects refer to each other across files.
#[derive(Debug, Default)]
pub struct AwsCollector {}

impl AwsCollector {
    /// Deserialises one AWS JSON file.
    pub fn read(&mut self, _file: FileId, _text: &str, _diags: &mut Diagnostics) {}

    /// Lowers everything read into the snapshot's cloud model and validates references.
    pub fn lower(self, _snap: &mut Snapshot, _diags: &mut Diagnostics) {}
}
