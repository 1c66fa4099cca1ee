//! Kubernetes, Istio and CNI objects from `kubectl get -o yaml|json`.

use crate::diag::Diagnostics;
use crate::model::cluster::ClusterObjects;
use crate::source::FileId;

/// Reads a `kubectl get -o json` file (a `List` or a single object).
pub fn read_json(_file: FileId, _text: &str, _out: &mut ClusterObjects, _diags: &mut Diagnostics) {}

/// Reads a YAML stream of Kubernetes objects.
pub fn read_yaml(_file: FileId, _text: &str, _out: &mut ClusterObjects, _diags: &mut Diagnostics) {}
