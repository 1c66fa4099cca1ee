//! JUnit XML for `check` results, for CI systems that render test reports.

/// One test case of a JUnit report.
#[derive(Debug, Clone)]
pub struct Case {
    /// Test name.
    pub name: String,
    /// Class name (the scenario file).
    pub class: String,
    /// Failure message, if it failed.
    pub failure: Option<String>,
    /// Extra text (the trace summary).
    pub output: String,
}

fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => String::new(),
            c => c.to_string(),
        })
        .collect()
}

/// Renders a JUnit XML document for one suite.
pub fn render(suite: &str, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"netpath\" tests=\"{}\" failures=\"{failures}\">\n",
        cases.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        esc(suite),
        cases.len()
    ));
    for c in cases {
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\">\n",
            esc(&c.name),
            esc(&c.class)
        ));
        if let Some(f) = &c.failure {
            out.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                esc(f),
                esc(&c.output)
            ));
        }
        if !c.output.is_empty() {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                esc(&c.output)
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
