//! A node's `iptables-save` dump, parsed into tables, chains and rules.

/// One node's iptables rules.
#[derive(Debug, Clone, Default)]
pub struct IptablesDump {}
