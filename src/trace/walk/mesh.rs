//! Istio on the destination's sidecar: PeerAuthentication (mTLS) then AuthorizationPolicy.

use super::*;
use crate::model::cluster::Pod;
use crate::policy::istio::{self, MeshRequest, SourcePod, Tri};

impl Tracer<'_> {
    /// The name of the Service port that makes Istio treat `port` of `pod` as HTTP (by name
    /// prefix `http`, `http2`, `grpc` or by `appProtocol`), if any.
    fn http_port_name(&self, pod: &Pod, port: u16) -> Option<String> {
        use crate::model::cluster::PortRef;
        let ns = pod.meta.namespace_or_default();
        let services = &self.snap.cluster.services;
        for svc in self
            .service_index()
            .in_namespace(ns)
            .iter()
            .filter_map(|&i| services.get(i))
        {
            let Some(sel) = &svc.selector else { continue };
            if sel.is_empty() || !sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v)) {
                continue;
            }
            for sp in &svc.ports {
                let targets = match &sp.target_port {
                    Some(PortRef::Number(n)) if *n != 0 => *n == port,
                    Some(PortRef::Name(name)) => {
                        pod.spec.containers.iter().flat_map(|c| &c.ports).any(|cp| {
                            cp.name.as_deref() == Some(name.as_str()) && cp.container_port == port
                        })
                    }
                    _ => sp.port == port,
                };
                if !targets {
                    continue;
                }
                let label = sp
                    .app_protocol
                    .clone()
                    .or_else(|| sp.name.clone())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let proto = label.split('-').next().unwrap_or("");
                if matches!(proto, "http" | "http2" | "grpc" | "grpc-web")
                    || label.starts_with("kubernetes.io/h2c")
                {
                    return Some(sp.name.clone().unwrap_or(label));
                }
            }
        }
        None
    }

    /// Returns `None` when the connection passes (or Istio does not see it).
    pub(super) fn istio_check(&self, st: &mut PathState, dst: &Pod) -> Option<Next> {
        let objects = &self.snap.cluster;
        if objects.peer_authentications.is_empty()
            && objects.authorization_policies.is_empty()
            && !objects.pods.iter().any(|p| p.has_istio_proxy)
        {
            return None;
        }
        let src = st
            .src_pod
            .and_then(|i| objects.pods.get(i))
            .map(|p| SourcePod::of(objects, p));
        let req = MeshRequest {
            src,
            src_ip: Some(st.pkt.src),
            remote_ip: None,
            dst,
            dst_port: st.pkt.dst_port,
            protocol: st.pkt.protocol,
            http: self.http.borrow().clone().or_else(|| {
                let name = self.http_port_name(dst, st.pkt.dst_port)?;
                self.assume(format!(
                    "Istio treats port {} of {} as HTTP (Service port {name:?}): rules on methods, paths and hosts need --http-method, --http-path or --http-host",
                    st.pkt.dst_port,
                    dst.meta.key()
                ));
                Some(istio::HttpAttrs::default())
            }),
        };
        let v = istio::evaluate(objects, &req);
        if !v.enforced {
            return None;
        }
        let cite = v.deciding.first();
        let rule = cite
            .map(|c| match c.rule {
                Some(r) => format!("{} {} rules[{r}]", c.kind, c.policy),
                None => format!("{} {}", c.kind, c.policy),
            })
            .unwrap_or_else(|| match v.allowed {
                Tri::Undecidable => "AuthorizationPolicy (needs request attributes)".to_string(),
                _ => "istio (no policy applies)".to_string(),
            });
        let why = cite.map(|c| c.why.clone()).unwrap_or_default();
        let mtls = match (&v.identity, v.mtls) {
            (Some(id), true) => format!("mTLS from {id}"),
            _ => "plain text (no peer identity)".to_string(),
        };
        for u in &v.undecided {
            self.assume(format!("Istio: {u}"));
        }
        match v.allowed {
            Tri::Allow => {
                let detail = if why.is_empty() {
                    format!("{mtls}; allowed")
                } else {
                    format!("{mtls}; {why}")
                };
                st.step(
                    Step::new(
                        StepKind::Filter,
                        Layer::IstioAuthz,
                        Action::Permitted,
                        rule,
                        detail,
                    )
                    .at_opt(cite.map(|c| &c.at)),
                );
                None
            }
            Tri::Deny => {
                let all: Vec<String> = v
                    .deciding
                    .iter()
                    .map(|c| format!("{} {}: {}", c.kind, c.policy, c.why))
                    .collect();
                Some(
                    self.deny(
                        st,
                        Step::new(
                            StepKind::Filter,
                            Layer::IstioAuthz,
                            Action::Denied,
                            rule,
                            format!("{mtls}; {}", all.join("; ")),
                        )
                        .at_opt(cite.map(|c| &c.at)),
                    ),
                )
            }
            Tri::Undecidable => {
                let detail = format!("{mtls}; cannot be decided: {}", v.undecided.join("; "));
                Some(self.unknown(st, Layer::IstioAuthz, rule, detail))
            }
        }
    }
}
