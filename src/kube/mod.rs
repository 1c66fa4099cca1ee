//! The cluster layer: kube-proxy service translation and the joins between cluster and cloud.

pub mod albmodel;
pub mod join;
pub mod lb;
pub mod lbmodel;
pub mod names;
pub mod proxy;
