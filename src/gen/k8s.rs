//! The Kubernetes side of a generated snapshot, as `kubectl get -o json` lists.

use super::plan::{NetPol, Plan};
use super::{write_json, Parts, Summary};
use serde_json::{json, Value};
use std::io;
use std::path::Path;

const CREATED: &str = "2026-10-05T11:21:02Z";

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// Writes `namespaces.json`, `nodes.json`, `pods.json`, `workloads.json`, `services.json`,
/// `endpointslices.json`, `networkpolicies.json` and `istio.json` into `dir`.
pub(super) fn write(plan: &Plan, dir: &Path, parts: Parts, sum: &mut Summary) -> io::Result<()> {
    write_json(&dir.join("namespaces.json"), &list(namespaces(plan)), sum)?;
    write_json(&dir.join("pods.json"), &list(pods(plan)), sum)?;
    write_json(
        &dir.join("networkpolicies.json"),
        &list(network_policies(plan)),
        sum,
    )?;
    if parts == Parts::NetworkPolicy {
        return Ok(());
    }
    write_json(&dir.join("nodes.json"), &list(nodes(plan)), sum)?;
    write_json(&dir.join("workloads.json"), &list(workloads(plan)), sum)?;
    write_json(&dir.join("services.json"), &list(services(plan)), sum)?;
    write_json(
        &dir.join("endpointslices.json"),
        &list(endpoint_slices(plan)),
        sum,
    )?;
    if !plan.authorization_policies.is_empty() {
        write_json(&dir.join("istio.json"), &list(istio(plan)), sum)?;
    }
    Ok(())
}

fn uid(kind: &str, i: usize) -> String {
    let h = fnv(kind.as_bytes()) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-5{:03x}-a{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 40) & 0xfff,
        h & 0xffff_ffff_ffff
    )
}

/// FNV-1a, for names derived from content.
pub(super) fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
        (h ^ u64::from(*c)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn namespaces(plan: &Plan) -> Vec<Value> {
    plan.namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let mut labels = json!({"kubernetes.io/metadata.name": ns.name, "team": ns.team});
            if ns.meshed {
                labels["istio-injection"] = json!("enabled");
            }
            json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"creationTimestamp": CREATED, "labels": labels, "name": ns.name,
                             "resourceVersion": format!("{}", 1000 + i), "uid": uid("ns", i)},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            })
        })
        .collect()
}

fn nodes(plan: &Plan) -> Vec<Value> {
    plan.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let az = &plan.subnets[n.subnet].az;
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "annotations": {"alpha.kubernetes.io/provided-node-ip": n.ip.to_string(),
                                    "node.alpha.kubernetes.io/ttl": "0"},
                    "creationTimestamp": CREATED,
                    "labels": {
                        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m6i.2xlarge",
                        "eks.amazonaws.com/nodegroup": format!("ng-{}", n.group),
                        "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux",
                        "topology.kubernetes.io/region": "us-east-1", "topology.kubernetes.io/zone": az
                    },
                    "name": n.name, "resourceVersion": format!("{}", 5000 + i), "uid": uid("node", i)
                },
                "spec": {"providerID": format!("aws:///{az}/{}", n.instance)},
                "status": {
                    "addresses": [
                        {"address": n.ip.to_string(), "type": "InternalIP"},
                        {"address": n.name, "type": "InternalDNS"},
                        {"address": n.name, "type": "Hostname"}
                    ],
                    "allocatable": {"cpu": "7910m", "memory": "31482492Ki", "pods": "110"},
                    "conditions": [{"lastHeartbeatTime": CREATED, "lastTransitionTime": CREATED,
                                    "message": "kubelet is posting ready status", "reason": "KubeletReady",
                                    "status": "True", "type": "Ready"}],
                    "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.22",
                                 "kernelVersion": "5.10.226-214.880.amzn2.x86_64", "kubeProxyVersion": "v1.31.0-eks-a737599",
                                 "kubeletVersion": "v1.31.0-eks-a737599", "operatingSystem": "linux",
                                 "osImage": "Amazon Linux 2"}
                }
            })
        })
        .collect()
}

fn container_ports(ports: &[(&str, u16)]) -> Vec<Value> {
    ports
        .iter()
        .map(|(name, port)| {
            let proto = if *name == "dns" { "UDP" } else { "TCP" };
            json!({"containerPort": port, "name": name, "protocol": proto})
        })
        .collect()
}

fn pod_labels(plan: &Plan, a: usize) -> Value {
    let app = &plan.apps[a];
    let mut l = json!({"app": app.name, "tier": app.tier});
    if app.name == "coredns" {
        l["k8s-app"] = json!("kube-dns");
    }
    if app.daemon {
        l["controller-revision-hash"] = json!("6b8f7c9d5");
    } else {
        l["pod-template-hash"] = json!(app.hash);
        l["version"] = json!("v1");
    }
    if plan.namespaces[app.ns].meshed {
        l["security.istio.io/tlsMode"] = json!("istio");
        l["service.istio.io/canonical-name"] = json!(app.name);
    }
    l
}

fn pods(plan: &Plan) -> Vec<Value> {
    plan.pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let app = &plan.apps[p.app];
            let ns = &plan.namespaces[app.ns];
            let node = &plan.nodes[p.node];
            let (owner_kind, owner) = if app.daemon {
                ("DaemonSet", app.name.clone())
            } else {
                ("ReplicaSet", format!("{}-{}", app.name, app.hash))
            };
            let mut containers = vec![json!({
                "env": [{"name": "LOG_LEVEL", "value": "info"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "image": format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/{}:1.4.2", app.name),
                "imagePullPolicy": "IfNotPresent",
                "name": app.name,
                "ports": container_ports(&app.ports),
                "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": app.ports[0].1, "scheme": "HTTP"},
                                   "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
                "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": "kube-api-access", "readOnly": true}]
            })];
            if ns.meshed && !app.daemon {
                containers.push(json!({
                    "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
                    "image": "docker.io/istio/proxyv2:1.23.2", "name": "istio-proxy",
                    "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "10m", "memory": "40Mi"}}
                }));
            }
            let mut spec = json!({
                "containers": containers,
                "dnsPolicy": "ClusterFirst", "enableServiceLinks": true,
                "nodeName": node.name, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "serviceAccount": app.name, "serviceAccountName": app.name,
                "terminationGracePeriodSeconds": 30,
                "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}],
                "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
            });
            if app.host_network {
                spec["hostNetwork"] = json!(true);
            }
            let ip = p.ip.to_string();
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "annotations": {"kubernetes.io/psp": "eks.privileged"},
                    "creationTimestamp": CREATED,
                    "generateName": format!("{owner}-"),
                    "labels": pod_labels(plan, p.app),
                    "name": p.name, "namespace": ns.name,
                    "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                                         "kind": owner_kind, "name": owner, "uid": uid(owner_kind, p.app)}],
                    "resourceVersion": format!("{}", 100_000 + i), "uid": uid("pod", i)
                },
                "spec": spec,
                "status": {
                    "conditions": [{"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "Ready"}],
                    "hostIP": node.ip.to_string(), "hostIPs": [{"ip": node.ip.to_string()}],
                    "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                    "qosClass": "Burstable", "startTime": CREATED
                }
            })
        })
        .collect()
}

fn workloads(plan: &Plan) -> Vec<Value> {
    let mut out = Vec::new();
    for (a, app) in plan.apps.iter().enumerate() {
        let ns = &plan.namespaces[app.ns].name;
        let mut labels = pod_labels(plan, a);
        let template = json!({
            "metadata": {"labels": labels.clone()},
            "spec": {"containers": [{"image": format!("{}:1.4.2", app.name), "name": app.name,
                                      "ports": container_ports(&app.ports)}],
                     "hostNetwork": app.host_network, "serviceAccountName": app.name}
        });
        if let Some(m) = labels.as_object_mut() {
            m.remove("pod-template-hash");
            m.remove("controller-revision-hash");
        }
        let selector = json!({"matchLabels": {"app": app.name}});
        let replicas = plan.pods_of_app[a].len();
        if app.daemon {
            out.push(json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": app.name, "namespace": ns, "uid": uid("DaemonSet", a), "labels": {"app": app.name}},
                "spec": {"selector": selector, "template": template},
                "status": {"desiredNumberScheduled": replicas, "numberReady": replicas}
            }));
            continue;
        }
        out.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app.name, "namespace": ns, "uid": uid("Deployment", a), "labels": {"app": app.name}},
            "spec": {"replicas": replicas, "selector": selector.clone(), "template": template.clone()},
            "status": {"readyReplicas": replicas, "replicas": replicas}
        }));
        out.push(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{}-{}", app.name, app.hash), "namespace": ns,
                         "uid": uid("ReplicaSet", a),
                         "ownerReferences": [{"apiVersion": "apps/v1", "controller": true, "kind": "Deployment",
                                              "name": app.name, "uid": uid("Deployment", a)}]},
            "spec": {"replicas": replicas, "selector": selector, "template": template},
            "status": {"readyReplicas": replicas, "replicas": replicas}
        }));
    }
    out
}

fn services(plan: &Plan) -> Vec<Value> {
    plan.services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ports: Vec<Value> = s
                .ports
                .iter()
                .map(|(name, port, target)| {
                    let proto = if *name == "dns" { "UDP" } else { "TCP" };
                    json!({"name": name, "port": port, "protocol": proto, "targetPort": target})
                })
                .collect();
            let mut spec = json!({
                "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": ports, "selector": {"app": plan.apps[s.app].name},
                "sessionAffinity": "None", "type": "ClusterIP"
            });
            match s.cluster_ip {
                Some(ip) => {
                    spec["clusterIP"] = json!(ip.to_string());
                    spec["clusterIPs"] = json!([ip.to_string()]);
                }
                None => {
                    spec["clusterIP"] = json!("None");
                    spec["clusterIPs"] = json!(["None"]);
                }
            }
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"creationTimestamp": CREATED, "labels": {"app": plan.apps[s.app].name},
                             "name": s.name, "namespace": plan.ns_of(s.app),
                             "resourceVersion": format!("{}", 50_000 + i), "uid": uid("svc", i)},
                "spec": spec,
                "status": {"loadBalancer": {}}
            })
        })
        .collect()
}

fn endpoint_slices(plan: &Plan) -> Vec<Value> {
    plan.services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let endpoints: Vec<Value> = plan.pods_of_app[s.app]
                .iter()
                .map(|&p| {
                    let pod = &plan.pods[p];
                    let node = &plan.nodes[pod.node];
                    json!({
                        "addresses": [pod.ip.to_string()],
                        "conditions": {"ready": true, "serving": true, "terminating": false},
                        "nodeName": node.name,
                        "targetRef": {"kind": "Pod", "name": pod.name, "namespace": plan.ns_of(s.app), "uid": uid("pod", p)},
                        "zone": plan.subnets[node.subnet].az
                    })
                })
                .collect();
            let ports: Vec<Value> = s
                .ports
                .iter()
                .map(|(name, _, target)| {
                    let proto = if *name == "dns" { "UDP" } else { "TCP" };
                    json!({"name": name, "port": target, "protocol": proto})
                })
                .collect();
            json!({
                "addressType": "IPv4", "apiVersion": "discovery.k8s.io/v1", "endpoints": endpoints,
                "kind": "EndpointSlice",
                "metadata": {
                    "creationTimestamp": CREATED, "generateName": format!("{}-", s.name),
                    "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                               "kubernetes.io/service-name": s.name},
                    "name": format!("{}-{:05x}", s.name, fnv(s.name.as_bytes()) & 0xfffff),
                    "namespace": plan.ns_of(s.app),
                    "ownerReferences": [{"apiVersion": "v1", "blockOwnerDeletion": true, "controller": true,
                                         "kind": "Service", "name": s.name, "uid": uid("svc", i)}],
                    "resourceVersion": format!("{}", 70_000 + i), "uid": uid("eps", i)
                },
                "ports": ports
            })
        })
        .collect()
}

fn app_ports(plan: &Plan, a: usize) -> Vec<Value> {
    plan.apps[a]
        .ports
        .iter()
        .filter(|p| p.0 != "metrics")
        .map(|(_, port)| json!({"port": port, "protocol": "TCP"}))
        .collect()
}

fn dns_egress() -> Value {
    json!({
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    })
}

fn network_policies(plan: &Plan) -> Vec<Value> {
    plan.network_policies
        .iter()
        .enumerate()
        .map(|(i, np)| {
            let app = |a: usize| json!({"matchLabels": {"app": plan.apps[a].name}});
            let (ns, name, spec) = match np {
                NetPol::DefaultDenyIngress { ns } => (
                    *ns,
                    "default-deny-ingress".to_string(),
                    json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
                ),
                NetPol::DefaultDenyEgressAllowDns { ns } => (
                    *ns,
                    "default-deny-egress".to_string(),
                    json!({"egress": [dns_egress()], "podSelector": {}, "policyTypes": ["Egress"]}),
                ),
                NetPol::AllowMonitoring { ns } => (
                    *ns,
                    "allow-monitoring".to_string(),
                    json!({
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                                               "podSelector": {"matchLabels": {"app": "prometheus"}}}],
                                     "ports": [{"port": "metrics", "protocol": "TCP"}]}],
                        "podSelector": {}, "policyTypes": ["Ingress"]
                    }),
                ),
                NetPol::AppToApp { to, from } => (
                    plan.apps[*to].ns,
                    format!("allow-{}-from-{}-{i}", plan.apps[*to].name, plan.apps[*from].name),
                    json!({
                        "ingress": [{"from": [{"podSelector": app(*from)}], "ports": app_ports(plan, *to)}],
                        "podSelector": app(*to), "policyTypes": ["Ingress"]
                    }),
                ),
                NetPol::FromTeam { to, team } => (
                    plan.apps[*to].ns,
                    format!("allow-{}-from-{team}-{i}", plan.apps[*to].name),
                    json!({
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": team}},
                                               "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In",
                                                                                     "values": ["frontend", "backend"]}]}}],
                                     "ports": app_ports(plan, *to)}],
                        "podSelector": app(*to), "policyTypes": ["Ingress"]
                    }),
                ),
                NetPol::FromIpBlock { to, cidr, except } => (
                    plan.apps[*to].ns,
                    format!("allow-{}-from-vpc-{i}", plan.apps[*to].name),
                    json!({
                        "ingress": [{"from": [{"ipBlock": {"cidr": cidr, "except": [except]}}],
                                     "ports": app_ports(plan, *to)}],
                        "podSelector": app(*to), "policyTypes": ["Ingress"]
                    }),
                ),
                NetPol::EgressTo { from, to } => (
                    plan.apps[*from].ns,
                    format!("egress-{}-to-{}-{i}", plan.apps[*from].name, plan.apps[*to].name),
                    json!({
                        "egress": [{"ports": app_ports(plan, *to),
                                    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": plan.ns_of(*to)}},
                                            "podSelector": app(*to)}]},
                                   dns_egress()],
                        "podSelector": app(*from), "policyTypes": ["Egress"]
                    }),
                ),
            };
            json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"creationTimestamp": CREATED, "generation": 1, "name": name,
                             "namespace": plan.namespaces[ns].name,
                             "resourceVersion": format!("{}", 90_000 + i), "uid": uid("np", i)},
                "spec": spec
            })
        })
        .collect()
}

fn istio(plan: &Plan) -> Vec<Value> {
    let mut out = vec![json!({
        "apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "istio-system"},
        "spec": {"mtls": {"mode": "STRICT"}}
    })];
    for (i, ap) in plan.authorization_policies.iter().enumerate() {
        let ns = plan.ns_of(ap.to);
        let ports: Vec<String> = plan.apps[ap.to]
            .ports
            .iter()
            .filter(|p| p.0 != "metrics")
            .map(|p| p.1.to_string())
            .collect();
        out.push(json!({
            "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": format!("{}-allow-{i}", plan.apps[ap.to].name), "namespace": ns},
            "spec": {
                "action": "ALLOW",
                "rules": [
                    {"from": [{"source": {"principals": [format!("cluster.local/ns/{}/sa/{}", plan.ns_of(ap.from), plan.apps[ap.from].name)]}}],
                     "to": [{"operation": {"ports": ports}}]},
                    {"from": [{"source": {"namespaces": ["monitoring"]}}],
                     "to": [{"operation": {"ports": ["9090"]}}]}
                ],
                "selector": {"matchLabels": {"app": plan.apps[ap.to].name}}
            }
        }));
    }
    out
}
