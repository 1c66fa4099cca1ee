//! The generated cluster in memory: addresses, nodes, apps, pods, Services and policies, decided
//! once so that every file written from it agrees with the others.

use super::Spec;
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// A small, fast, seeded pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `pct` percent.
    pub fn pct(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    /// `n` lowercase letters and digits (Kubernetes name suffixes).
    pub fn suffix(&mut self, n: usize) -> String {
        const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n).map(|_| A[self.below(A.len())] as char).collect()
    }
    /// `n` hex digits (AWS ids).
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }
}

/// `prefix-xxxxx` with a random suffix not yet in `used` (as the ReplicaSet and DaemonSet
/// controllers redraw a name that is taken: thousands of pods of one DaemonSet would otherwise
/// share a name now and then).
fn unique_name(rng: &mut Rng, used: &mut HashSet<String>, prefix: &str) -> String {
    loop {
        let name = format!("{prefix}-{}", rng.suffix(5));
        if used.insert(name.clone()) {
            return name;
        }
    }
}

/// A namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Team label.
    pub team: String,
    /// Istio sidecar injection enabled.
    pub meshed: bool,
}

/// A worker node and its EC2 instance.
#[derive(Debug, Clone)]
pub struct Node {
    /// Kubernetes node name (the private DNS name).
    pub name: String,
    /// Primary private address.
    pub ip: Ipv4Addr,
    /// EC2 instance id.
    pub instance: String,
    /// Primary ENI id.
    pub eni: String,
    /// Index into [`Plan::subnets`].
    pub subnet: usize,
    /// Node group index.
    pub group: usize,
    /// First address of the node's pod block (delegated /28 prefixes from here).
    pub pod_base: u32,
    /// Pods on the pod network placed on the node.
    pub pod_count: usize,
}

/// A subnet.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Subnet id.
    pub id: String,
    /// CIDR.
    pub cidr: (Ipv4Addr, u8),
    /// Availability zone.
    pub az: String,
    /// Public (routes to the internet gateway) or private (routes to the NAT gateway).
    pub public: bool,
}

/// A Deployment or DaemonSet.
#[derive(Debug, Clone)]
pub struct App {
    /// Namespace index.
    pub ns: usize,
    /// Name (also the `app` label and service account).
    pub name: String,
    /// `tier` label: frontend, backend, db or agent.
    pub tier: &'static str,
    /// Container ports: (name, number).
    pub ports: Vec<(&'static str, u16)>,
    /// DaemonSet (one pod per node).
    pub daemon: bool,
    /// On the host network.
    pub host_network: bool,
    /// Pod template hash (Deployments).
    pub hash: String,
}

/// A pod.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Index into [`Plan::apps`].
    pub app: usize,
    /// Name.
    pub name: String,
    /// Node index.
    pub node: usize,
    /// Address.
    pub ip: Ipv4Addr,
}

/// A Service with its endpoints.
#[derive(Debug, Clone)]
pub struct Service {
    /// Index into [`Plan::apps`] of the app it selects.
    pub app: usize,
    /// Name.
    pub name: String,
    /// ClusterIP (`None`: headless).
    pub cluster_ip: Option<Ipv4Addr>,
    /// Ports: (name, port, target port).
    pub ports: Vec<(&'static str, u16, u16)>,
}

/// A NetworkPolicy, kept as its kind and parameters.
#[derive(Debug, Clone)]
pub enum NetPol {
    /// Deny all ingress to every pod of the namespace.
    DefaultDenyIngress { ns: usize },
    /// Deny all egress except DNS to kube-system's CoreDNS.
    DefaultDenyEgressAllowDns { ns: usize },
    /// Allow the monitoring namespace to every pod's metrics port.
    AllowMonitoring { ns: usize },
    /// Allow `from` (an app of the same namespace) to `to` on `to`'s ports.
    AppToApp { to: usize, from: usize },
    /// Allow every frontend of namespaces of team `team` to `to`.
    FromTeam { to: usize, team: String },
    /// Allow `to` from an IP block (with an exception).
    FromIpBlock {
        to: usize,
        cidr: String,
        except: String,
    },
    /// Allow egress from `from` to `to` (another namespace) and DNS.
    EgressTo { from: usize, to: usize },
}

/// An Istio AuthorizationPolicy: ALLOW `from`'s service account to `to` on `to`'s ports.
#[derive(Debug, Clone)]
pub struct AuthzPolicy {
    /// Target app.
    pub to: usize,
    /// Source app.
    pub from: usize,
}

/// The whole generated cluster.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The counts it was made from.
    pub spec: Spec,
    /// VPC id.
    pub vpc: String,
    /// VPC CIDR blocks (/16s, then the public /24).
    pub vpc_cidrs: Vec<(Ipv4Addr, u8)>,
    /// Subnets: the private node subnets, then one public subnet.
    pub subnets: Vec<Subnet>,
    /// Security group ids: 0 the cluster SG, 1 the node SG, 2.. node groups and others.
    pub security_groups: Vec<String>,
    /// Namespaces: 0 kube-system, 1 monitoring, 2 istio-system, then app namespaces.
    pub namespaces: Vec<Namespace>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Apps (DaemonSets first).
    pub apps: Vec<App>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Services.
    pub services: Vec<Service>,
    /// NetworkPolicies.
    pub network_policies: Vec<NetPol>,
    /// AuthorizationPolicies.
    pub authorization_policies: Vec<AuthzPolicy>,
    /// Pods per app (indices into `pods`).
    pub pods_of_app: Vec<Vec<usize>>,
    /// NAT gateway id, its ENI and private address.
    pub nat: (String, String, Ipv4Addr),
    /// Internet gateway id.
    pub igw: String,
}

const AZS: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const TEAMS: [&str; 6] = ["payments", "search", "checkout", "identity", "data", "web"];

/// Addresses per node block: room for the node itself and its pods in /28 prefixes.
fn block_size(max_pods: usize) -> u32 {
    (16 + 16 * max_pods.div_ceil(16)).next_power_of_two() as u32
}

impl Plan {
    /// Decides everything from `spec`.
    pub fn new(spec: &Spec) -> Plan {
        let mut rng = Rng::new(spec.seed);
        let mut p = Plan {
            spec: spec.clone(),
            vpc: format!("vpc-{}", rng.hex(17)),
            vpc_cidrs: Vec::new(),
            subnets: Vec::new(),
            security_groups: (0..spec.security_groups.max(3))
                .map(|_| format!("sg-{}", rng.hex(17)))
                .collect(),
            namespaces: Vec::new(),
            nodes: Vec::new(),
            apps: Vec::new(),
            pods: Vec::new(),
            services: Vec::new(),
            network_policies: Vec::new(),
            authorization_policies: Vec::new(),
            pods_of_app: Vec::new(),
            nat: (String::new(), String::new(), Ipv4Addr::UNSPECIFIED),
            igw: format!("igw-{}", rng.hex(17)),
        };
        p.namespaces();
        p.apps(&mut rng);
        p.network(&mut rng);
        p.pods(&mut rng);
        p.services();
        p.policies(&mut rng);
        p
    }

    fn namespaces(&mut self) {
        for name in ["kube-system", "monitoring", "istio-system"] {
            self.namespaces.push(Namespace {
                name: name.into(),
                team: "platform".into(),
                meshed: false,
            });
        }
        for i in 0..self.spec.namespaces {
            let team = TEAMS[i % TEAMS.len()];
            self.namespaces.push(Namespace {
                name: format!("{team}-{i}"),
                team: team.into(),
                meshed: i % 2 == 1,
            });
        }
    }

    fn apps(&mut self, rng: &mut Rng) {
        let ds_names = [
            ("aws-node", true),
            ("kube-proxy", true),
            ("ebs-csi-node", true),
            ("node-exporter", false),
            ("fluent-bit", false),
            ("istio-cni-node", false),
            ("datadog-agent", false),
            ("calico-typha", false),
        ];
        let host: Vec<_> = ds_names.iter().filter(|d| d.1).map(|d| d.0).collect();
        let podnet: Vec<_> = ds_names.iter().filter(|d| !d.1).map(|d| d.0).collect();
        for i in 0..self.spec.host_daemonsets {
            self.apps.push(App {
                ns: 0,
                name: host
                    .get(i)
                    .map_or_else(|| format!("host-agent-{i}"), |s| s.to_string()),
                tier: "agent",
                ports: vec![("metrics", 61678)],
                daemon: true,
                host_network: true,
                hash: String::new(),
            });
        }
        for i in 0..self.spec.pod_daemonsets {
            let ns = if i.is_multiple_of(2) { 1 } else { 0 };
            self.apps.push(App {
                ns,
                name: podnet
                    .get(i)
                    .map_or_else(|| format!("agent-{i}"), |s| s.to_string()),
                tier: "agent",
                ports: vec![("metrics", 9100)],
                daemon: true,
                host_network: false,
                hash: String::new(),
            });
        }
        // Fixed platform apps: CoreDNS and Prometheus.
        self.apps.push(App {
            ns: 0,
            name: "coredns".into(),
            tier: "backend",
            ports: vec![("dns", 53), ("dns-tcp", 53), ("metrics", 9153)],
            daemon: false,
            host_network: false,
            hash: rng.suffix(10),
        });
        self.apps.push(App {
            ns: 1,
            name: "prometheus".into(),
            tier: "backend",
            ports: vec![("http", 9090)],
            daemon: false,
            host_network: false,
            hash: rng.suffix(10),
        });
        let app_ns = self.namespaces.len() - 3;
        let words = [
            "api", "web", "worker", "cache", "db", "gateway", "auth", "ledger", "index", "cart",
            "notify", "report",
        ];
        for i in 0..self.spec.deployments.saturating_sub(2) {
            let ns = 3 + i % app_ns;
            let word = words[(i / app_ns) % words.len()];
            let tier = match word {
                "web" | "gateway" => "frontend",
                "db" | "cache" => "db",
                _ => "backend",
            };
            let main = match tier {
                "db" => ("tcp-db", 5432),
                _ => ("http", 8080),
            };
            let mut ports = vec![main];
            if tier == "backend" && rng.pct(25) {
                ports.push(("grpc", 9000));
            }
            ports.push(("metrics", 9090));
            self.apps.push(App {
                ns,
                name: format!("{word}-{}", i / app_ns / words.len()),
                tier,
                ports,
                daemon: false,
                host_network: false,
                hash: rng.suffix(10),
            });
        }
    }

    /// VPC CIDRs, subnets and node addresses.
    fn network(&mut self, rng: &mut Rng) {
        let ds_pods = self
            .apps
            .iter()
            .filter(|a| a.daemon && !a.host_network)
            .count();
        let per_node = self.spec.pods / self.spec.nodes.max(1) + 1;
        let block = block_size(per_node + ds_pods + 8);
        let subnet_blocks = (1u32 << 14) / block; // blocks per /18
        let n16 = (self.spec.nodes as u32)
            .div_ceil(4 * (subnet_blocks - 1))
            .max(1);
        for i in 0..n16 {
            self.vpc_cidrs.push((Ipv4Addr::new(10, i as u8, 0, 0), 16));
            for q in 0..4u32 {
                let base = u32::from(Ipv4Addr::new(10, i as u8, 0, 0)) + (q << 14);
                self.subnets.push(Subnet {
                    id: format!("subnet-{}", rng.hex(17)),
                    cidr: (Ipv4Addr::from(base), 18),
                    az: AZS[(i * 4 + q) as usize % 3].into(),
                    public: false,
                });
            }
        }
        self.vpc_cidrs.push((Ipv4Addr::new(10, 255, 0, 0), 24));
        self.subnets.push(Subnet {
            id: format!("subnet-{}", rng.hex(17)),
            cidr: (Ipv4Addr::new(10, 255, 0, 0), 24),
            az: AZS[0].into(),
            public: true,
        });
        self.nat = (
            format!("nat-{}", rng.hex(17)),
            format!("eni-{}", rng.hex(17)),
            Ipv4Addr::new(10, 255, 0, 10),
        );
        let private = self.subnets.len() - 1;
        for i in 0..self.spec.nodes {
            let subnet = i % private;
            let slot = (i / private) as u32 + 1; // block 0 holds the reserved addresses
            let base = u32::from(self.subnets[subnet].cidr.0) + slot * block;
            let ip = Ipv4Addr::from(base + 4 + (i as u32 % 8));
            let o = ip.octets();
            self.nodes.push(Node {
                name: format!("ip-{}-{}-{}-{}.ec2.internal", o[0], o[1], o[2], o[3]),
                ip,
                instance: format!("i-{}", rng.hex(17)),
                eni: format!("eni-{}", rng.hex(17)),
                subnet,
                group: i % self.spec.node_groups.max(1),
                pod_base: base + 16,
                pod_count: 0,
            });
        }
    }

    fn pods(&mut self, rng: &mut Rng) {
        self.pods_of_app = vec![Vec::new(); self.apps.len()];
        let nodes = self.nodes.len();
        let mut used = HashSet::new();
        // DaemonSets: one pod per node.
        for (a, app) in self.apps.clone().iter().enumerate() {
            if !app.daemon {
                continue;
            }
            for n in 0..nodes {
                let ip = if app.host_network {
                    self.nodes[n].ip
                } else {
                    self.next_pod_ip(n)
                };
                let name = unique_name(rng, &mut used, &app.name);
                self.push_pod(a, name, n, ip);
            }
        }
        // Deployments: the remaining pods spread over the apps and round-robin over nodes.
        let deploys: Vec<usize> = (0..self.apps.len())
            .filter(|a| !self.apps[*a].daemon)
            .collect();
        let left = self.spec.pods.saturating_sub(self.pods.len());
        let mut node = 0usize;
        for (k, &a) in deploys.iter().enumerate() {
            let replicas = left / deploys.len() + usize::from(k < left % deploys.len());
            let replicas = replicas.max(1);
            for _ in 0..replicas {
                let ip = self.next_pod_ip(node);
                let prefix = format!("{}-{}", self.apps[a].name, self.apps[a].hash);
                let name = unique_name(rng, &mut used, &prefix);
                self.push_pod(a, name, node, ip);
                node = (node + 1) % nodes;
            }
        }
    }

    fn next_pod_ip(&mut self, n: usize) -> Ipv4Addr {
        let node = &mut self.nodes[n];
        let ip = Ipv4Addr::from(node.pod_base + node.pod_count as u32);
        node.pod_count += 1;
        ip
    }

    fn push_pod(&mut self, app: usize, name: String, node: usize, ip: Ipv4Addr) {
        self.pods_of_app[app].push(self.pods.len());
        self.pods.push(Pod {
            app,
            name,
            node,
            ip,
        });
    }

    fn services(&mut self) {
        let deploys: Vec<usize> = (0..self.apps.len())
            .filter(|a| !self.apps[*a].daemon)
            .collect();
        let mut next_ip = u32::from(Ipv4Addr::new(172, 20, 0, 10));
        for i in 0..self.spec.services {
            let a = deploys[i % deploys.len()];
            let app = &self.apps[a];
            let round = i / deploys.len();
            let (name, ports, headless) = if round == 0 {
                let ports = app
                    .ports
                    .iter()
                    .filter(|p| p.0 != "metrics" || app.name == "coredns")
                    .map(|p| (p.0, if p.1 == 8080 { 80 } else { p.1 }, p.1))
                    .collect();
                (app.name.clone(), ports, false)
            } else {
                // Further Services of the same app: metrics, or headless for StatefulSet-like
                // discovery.
                let headless = round.is_multiple_of(2);
                let m = app.ports.last().map_or(9090, |p| p.1);
                (
                    format!("{}-{}{round}", app.name, if headless { "hl" } else { "m" }),
                    vec![("metrics", m, m)],
                    headless,
                )
            };
            let cluster_ip = (!headless).then(|| {
                next_ip += 1;
                Ipv4Addr::from(next_ip)
            });
            self.services.push(Service {
                app: a,
                name,
                cluster_ip,
                ports,
            });
        }
    }

    fn policies(&mut self, rng: &mut Rng) {
        let app_ns: Vec<usize> = (3..self.namespaces.len()).collect();
        let apps_in: Vec<Vec<usize>> = (0..self.namespaces.len())
            .map(|n| {
                (0..self.apps.len())
                    .filter(|a| self.apps[*a].ns == n && !self.apps[*a].daemon)
                    .collect()
            })
            .collect();
        let total = self.spec.network_policies;
        let mut j = 0usize;
        while self.network_policies.len() < total {
            let ns = app_ns[j % app_ns.len()];
            let round = j / app_ns.len();
            j += 1;
            let apps = &apps_in[ns];
            let pick = |rng: &mut Rng| apps[rng.below(apps.len())];
            let pol = match round {
                0 => NetPol::DefaultDenyIngress { ns },
                1 => NetPol::AllowMonitoring { ns },
                _ if apps.is_empty() => continue,
                2 if ns.is_multiple_of(5) => NetPol::DefaultDenyEgressAllowDns { ns },
                _ => match rng.below(20) {
                    0..=1 => {
                        let b = rng.below(4);
                        NetPol::FromIpBlock {
                            to: pick(rng),
                            cidr: format!("10.{b}.0.0/16"),
                            except: format!("10.{b}.{}.0/24", rng.below(256)),
                        }
                    }
                    2..=5 => NetPol::FromTeam {
                        to: pick(rng),
                        team: TEAMS[rng.below(TEAMS.len())].into(),
                    },
                    6..=7 => {
                        let to_ns = app_ns[rng.below(app_ns.len())];
                        match apps_in[to_ns].first() {
                            Some(&to) => NetPol::EgressTo {
                                from: pick(rng),
                                to,
                            },
                            None => continue,
                        }
                    }
                    _ => NetPol::AppToApp {
                        to: pick(rng),
                        from: pick(rng),
                    },
                },
            };
            self.network_policies.push(pol);
        }
        let meshed: Vec<usize> = app_ns
            .iter()
            .copied()
            .filter(|n| self.namespaces[*n].meshed && !apps_in[*n].is_empty())
            .collect();
        for k in 0..self.spec.authorization_policies {
            if meshed.is_empty() {
                break;
            }
            let ns = meshed[k % meshed.len()];
            let apps = &apps_in[ns];
            self.authorization_policies.push(AuthzPolicy {
                to: apps[rng.below(apps.len())],
                from: apps[rng.below(apps.len())],
            });
        }
    }

    /// The namespace name of app `a`.
    pub fn ns_of(&self, a: usize) -> &str {
        &self.namespaces[self.apps[a].ns].name
    }

    /// The delegated /28 prefixes of node `n` (first addresses).
    pub fn prefixes(&self, n: usize) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let node = &self.nodes[n];
        (0..node.pod_count.div_ceil(16)).map(move |k| Ipv4Addr::from(node.pod_base + 16 * k as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_pod_name_is_drawn_again() {
        let mut used = HashSet::new();
        let first = unique_name(&mut Rng::new(7), &mut used, "agent");
        // The same draw again: the name is taken, so another one comes back.
        let second = unique_name(&mut Rng::new(7), &mut used, "agent");
        assert_ne!(first, second);
        assert!(second.starts_with("agent-") && second.len() == first.len());
        assert_eq!(used.len(), 2);
    }
}
