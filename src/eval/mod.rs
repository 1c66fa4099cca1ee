//! Pure decision functions: longest-prefix match, security groups, network ACLs, port sets.
//!
//! Nothing here walks a path or produces output; each function takes the objects to consult
//! and a packet, and returns what decided and why.

pub mod lpm;
pub mod nacl;
pub mod ports;
pub mod sg;
