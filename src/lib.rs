//! netpath: a packet-path simulator and reachability verifier for Kubernetes on AWS.
//!
//! The pipeline: [`ingest`] reads real inputs into a vendor-neutral [`model::Snapshot`];
//! [`graph`] builds the forwarding topology; [`trace`] follows a flow hop by hop using the pure
//! decision functions of [`eval`]; [`check`] runs scenario files; [`report`] renders results.
//! Only `report` and the binary produce output.

pub mod audit;
pub mod check;
pub mod collect;
pub mod diag;
pub mod diff;
pub mod endpoint;
pub mod eval;
pub mod fix;
pub mod gen;
pub mod graph;
pub mod ingest;
pub mod kube;
pub mod matrix;
pub mod model;
pub mod policy;
pub mod report;
pub mod source;
pub mod trace;
