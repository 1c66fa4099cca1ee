//! Rendering results: the only module (with the binary) that produces output.
//!
//! Text for terminals (colour only when asked, i.e. on a TTY without `NO_COLOR`), versioned
//! JSON with the contract's keys; for CI (`check`, `audit`, `diff`) every format over
//! [`findings::Finding`]s through [`ci::render`]: text, JSON, JUnit XML, SARIF 2.1.0 and GitHub
//! annotations; pictures of a trace (Graphviz dot, Mermaid) and the matrix as an HTML page.

pub mod audit;
pub mod ci;
pub mod diff;
pub mod dot;
pub mod findings;
pub mod fix;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod mermaid;
pub mod picture;
pub mod sarif;
pub mod summary;
pub mod text;

/// The flow as the user asked for it, echoed in every report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    /// Source as typed.
    pub src: String,
    /// Destination as typed.
    pub dst: String,
    /// Protocol name (`tcp`, `udp`, …).
    pub protocol: String,
    /// Destination port, when given.
    pub dst_port: Option<u16>,
}
