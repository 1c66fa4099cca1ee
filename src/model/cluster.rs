//! Kubernetes, Istio and CNI objects, parsed into typed values.
//!
//! These are netpath's own minimal structs (not `k8s-openapi`): only the fields that decide
//! packet paths are kept, each object carries the [`Provenance`] of its start (file, line,
//! column), and so do the rules that a trace step cites (NetworkPolicy `ingress[i]`/`egress[j]`,
//! AdminNetworkPolicy rules, AuthorizationPolicy rules). Every list keeps input order.
//!
//! Absent versus empty is kept where it changes the meaning (a Service `selector`, a
//! NetworkPolicy `policyTypes`, an AuthorizationPolicy `rules`).

use crate::model::Protocol;
use crate::source::Provenance;
use indexmap::IndexMap;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// String-to-string map with input order kept (labels, annotations, selectors).
pub type StringMap = IndexMap<String, String, foldhash::fast::RandomState>;

/// Every cluster object of the snapshot, by kind, in input order.
#[derive(Debug, Clone, Default)]
pub struct ClusterObjects {
    /// `v1 Namespace`.
    pub namespaces: Vec<Namespace>,
    /// `v1 Node`.
    pub nodes: Vec<Node>,
    /// `v1 Pod`.
    pub pods: Vec<Pod>,
    /// `apps/v1 Deployment`.
    pub deployments: Vec<Workload>,
    /// `apps/v1 StatefulSet`.
    pub stateful_sets: Vec<Workload>,
    /// `apps/v1 DaemonSet` (`aws-node`, `calico-node` options are read from their env).
    pub daemon_sets: Vec<Workload>,
    /// `apps/v1 ReplicaSet`.
    pub replica_sets: Vec<Workload>,
    /// Other pod controllers: ReplicationController, Job, CronJob.
    pub other_workloads: Vec<Workload>,
    /// `v1 Service`.
    pub services: Vec<Service>,
    /// `discovery.k8s.io/v1 EndpointSlice`.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// `v1 Endpoints`.
    pub endpoints: Vec<Endpoints>,
    /// `networking.k8s.io/v1 NetworkPolicy`.
    pub network_policies: Vec<NetworkPolicy>,
    /// `policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy`.
    pub admin_network_policies: Vec<AdminNetworkPolicy>,
    /// `policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy`.
    pub baseline_admin_network_policies: Vec<BaselineAdminNetworkPolicy>,
    /// `networking.k8s.io/v1 Ingress`.
    pub ingresses: Vec<Ingress>,
    /// OpenShift `route.openshift.io/v1 Route`.
    pub routes: Vec<Route>,
    /// `crd.k8s.amazonaws.com ENIConfig` (VPC CNI custom networking).
    pub eni_configs: Vec<EniConfig>,
    /// `vpcresources.k8s.aws SecurityGroupPolicy` (security groups for pods).
    pub security_group_policies: Vec<SecurityGroupPolicy>,
    /// Calico `IPPool` (`crd.projectcalico.org` or `projectcalico.org`).
    pub ip_pools: Vec<IpPool>,
    /// Istio `security.istio.io PeerAuthentication`.
    pub peer_authentications: Vec<PeerAuthentication>,
    /// Istio `security.istio.io AuthorizationPolicy`.
    pub authorization_policies: Vec<AuthorizationPolicy>,
    /// Istio `networking.istio.io ServiceEntry`.
    pub service_entries: Vec<ServiceEntry>,
    /// Istio `networking.istio.io Gateway`.
    pub gateways: Vec<IstioGateway>,
    /// Istio `networking.istio.io VirtualService`.
    pub virtual_services: Vec<VirtualService>,
    /// Istio `networking.istio.io DestinationRule`.
    pub destination_rules: Vec<DestinationRule>,
    /// Objects of kinds netpath does not model (listed, never fatal).
    pub unsupported: Vec<UnsupportedObject>,
    /// Index of `(kind, namespace, name)` already read, to find duplicates; lookup only.
    pub(crate) seen: HashMap<(String, String, String), Provenance>,
}

impl ClusterObjects {
    /// Total number of modelled objects (unsupported ones excluded).
    pub fn len(&self) -> usize {
        self.namespaces.len()
            + self.nodes.len()
            + self.pods.len()
            + self.deployments.len()
            + self.stateful_sets.len()
            + self.daemon_sets.len()
            + self.replica_sets.len()
            + self.other_workloads.len()
            + self.services.len()
            + self.endpoint_slices.len()
            + self.endpoints.len()
            + self.network_policies.len()
            + self.admin_network_policies.len()
            + self.baseline_admin_network_policies.len()
            + self.ingresses.len()
            + self.routes.len()
            + self.eni_configs.len()
            + self.security_group_policies.len()
            + self.ip_pools.len()
            + self.peer_authentications.len()
            + self.authorization_policies.len()
            + self.service_entries.len()
            + self.gateways.len()
            + self.virtual_services.len()
            + self.destination_rules.len()
    }

    /// True when no modelled object was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The DaemonSet `kube-system/<name>` (e.g. `aws-node`, `calico-node`), if present.
    pub fn daemon_set(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.daemon_sets
            .iter()
            .find(|d| d.meta.name == name && d.meta.namespace_or_default() == namespace)
    }
}

/// An object of a kind netpath does not model.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedObject {
    /// `apiVersion` as written.
    pub api_version: String,
    /// `kind` as written.
    pub kind: String,
    /// `metadata.namespace`, if any.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// Where the object starts.
    pub at: Provenance,
}

/// Metadata shared by every object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    /// `apiVersion` (after `List` inheritance).
    pub api_version: String,
    /// `kind` (after `List` inheritance).
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; `None` for cluster-scoped objects or when omitted.
    pub namespace: Option<String>,
    /// `metadata.labels`.
    pub labels: StringMap,
    /// `metadata.annotations`.
    pub annotations: StringMap,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.ownerReferences`.
    pub owner_references: Vec<OwnerReference>,
    /// Where the object starts (line and column of its first key).
    pub at: Provenance,
}

impl ObjectMeta {
    /// The namespace, `default` when omitted.
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
    /// `namespace/name` (or `name` for cluster-scoped kinds).
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => crate::cat!(ns, '/', self.name),
            None => self.name.clone(),
        }
    }
    /// The `ownerReferences` entry with `controller: true`.
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.owner_references.iter().find(|o| o.controller)
    }
}

/// One `metadata.ownerReferences` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerReference {
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `kind` (may be missing in hand-written input).
    pub kind: Option<String>,
    /// `name`.
    pub name: String,
    /// `uid`.
    pub uid: Option<String>,
    /// `controller: true`.
    pub controller: bool,
}

/// A reference to another object (`targetRef`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    /// `kind`.
    pub kind: Option<String>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `uid`.
    pub uid: Option<String>,
}

/// A port given by number or by name (`IntOrString`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// A port number 1-65535 (0 is kept for a Service `targetPort` that was 0, meaning unset).
    Number(u16),
    /// A named container port.
    Name(String),
}

/// A label selector: `matchLabels` AND every `matchExpressions` requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: StringMap,
    /// `matchExpressions`.
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// True for `{}`: selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
    /// Kubernetes label-selector semantics.
    pub fn matches(&self, labels: &StringMap) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: SelectorOperator,
    /// The values (empty for `Exists`/`DoesNotExist`).
    pub values: Vec<String>,
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy the requirement.
    pub fn matches(&self, labels: &StringMap) -> bool {
        let v = labels.get(&self.key);
        match self.operator {
            SelectorOperator::In => v.is_some_and(|v| self.values.contains(v)),
            SelectorOperator::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            SelectorOperator::Exists => v.is_some(),
            SelectorOperator::DoesNotExist => v.is_none(),
        }
    }
}

/// A `matchExpressions` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectorOperator {
    /// `In`.
    In,
    /// `NotIn`.
    NotIn,
    /// `Exists`.
    Exists,
    /// `DoesNotExist`.
    DoesNotExist,
}

/// `v1 Namespace`.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    /// Metadata (labels matter for namespace selectors).
    pub meta: ObjectMeta,
}

/// `v1 Node`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `status.addresses`.
    pub addresses: Vec<NodeAddress>,
    /// `spec.providerID` as written.
    pub provider_id: Option<String>,
    /// The EC2 instance parsed from `aws:///<az>/<instance-id>`.
    pub aws_instance: Option<AwsInstanceRef>,
    /// `spec.podCIDRs` (or `spec.podCIDR`).
    pub pod_cidrs: Vec<IpNet>,
}

impl Node {
    /// The first `InternalIP`.
    pub fn internal_ip(&self) -> Option<IpAddr> {
        self.addresses
            .iter()
            .filter(|a| a.kind == NodeAddressType::InternalIp)
            .find_map(|a| a.ip)
    }
}

/// An EC2 instance named by a Node's `providerID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsInstanceRef {
    /// Availability zone, e.g. `us-east-2a`.
    pub availability_zone: String,
    /// Instance id, e.g. `i-0abc`.
    pub instance_id: String,
}

/// One `status.addresses` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// `type`.
    pub kind: NodeAddressType,
    /// `address` as written.
    pub address: String,
    /// The address parsed as an IP (for `InternalIP`/`ExternalIP`).
    pub ip: Option<IpAddr>,
}

/// A node address type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAddressType {
    /// `InternalIP`.
    InternalIp,
    /// `ExternalIP`.
    ExternalIp,
    /// `Hostname`.
    Hostname,
    /// `InternalDNS`.
    InternalDns,
    /// `ExternalDNS`.
    ExternalDns,
    /// Anything else.
    Other(String),
}

/// The part of a pod spec that matters for networking (pods and pod templates).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodSpec {
    /// `nodeName`.
    pub node_name: Option<String>,
    /// `hostNetwork`.
    pub host_network: bool,
    /// `serviceAccountName` (or the deprecated `serviceAccount`).
    pub service_account_name: Option<String>,
    /// `containers`.
    pub containers: Vec<Container>,
    /// `initContainers` (native sidecars included).
    pub init_containers: Vec<Container>,
}

impl PodSpec {
    /// True when a container (or init container) named `istio-proxy` is present.
    pub fn has_istio_proxy(&self) -> bool {
        self.containers
            .iter()
            .chain(&self.init_containers)
            .any(|c| c.name == "istio-proxy")
    }
    /// The value of env var `name` in the first container that sets it literally.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.containers
            .iter()
            .chain(&self.init_containers)
            .flat_map(|c| &c.env)
            .find(|e| e.name == name && e.value.is_some())
            .and_then(|e| e.value.as_deref())
    }
}

/// A container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    /// `name`.
    pub name: String,
    /// `image`.
    pub image: Option<String>,
    /// `ports`.
    pub ports: Vec<ContainerPort>,
    /// `env` (literal values only; `valueFrom` gives `None`).
    pub env: Vec<EnvVar>,
}

/// One `ports` entry of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    /// `name`.
    pub name: Option<String>,
    /// `containerPort`.
    pub container_port: u16,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `hostPort`.
    pub host_port: Option<u16>,
}

/// One container env var.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// `name`.
    pub name: String,
    /// `value`; `None` when given by `valueFrom` or omitted.
    pub value: Option<String>,
}

/// `v1 Pod`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// Metadata (labels, annotations, ownerReferences).
    pub meta: ObjectMeta,
    /// The spec.
    pub spec: PodSpec,
    /// `status.podIPs` (or `status.podIP`).
    pub pod_ips: Vec<IpAddr>,
    /// `status.hostIP`.
    pub host_ip: Option<IpAddr>,
    /// `status.phase`.
    pub phase: Option<String>,
    /// True when an `istio-proxy` container is present.
    pub has_istio_proxy: bool,
}

/// Which controller kind a [`Workload`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// `Deployment`.
    Deployment,
    /// `StatefulSet`.
    StatefulSet,
    /// `DaemonSet`.
    DaemonSet,
    /// `ReplicaSet`.
    ReplicaSet,
    /// `ReplicationController`.
    ReplicationController,
    /// `Job`.
    Job,
    /// `CronJob`.
    CronJob,
}

/// A pod controller and its pod template.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Metadata.
    pub meta: ObjectMeta,
    /// The controller kind.
    pub kind: WorkloadKind,
    /// `spec.replicas`.
    pub replicas: Option<i64>,
    /// `spec.selector` (a map for ReplicationController).
    pub selector: Option<LabelSelector>,
    /// `spec.template.metadata.labels`.
    pub template_labels: StringMap,
    /// `spec.template.metadata.annotations`.
    pub template_annotations: StringMap,
    /// `spec.template.spec`.
    pub template: PodSpec,
}

impl Workload {
    /// A container env var's literal value (e.g. `AWS_VPC_K8S_CNI_EXTERNALSNAT` on `aws-node`).
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.template.env_value(name)
    }
}

/// A Service type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceType {
    /// `ClusterIP` (default).
    ClusterIp,
    /// `NodePort`.
    NodePort,
    /// `LoadBalancer`.
    LoadBalancer,
    /// `ExternalName`.
    ExternalName,
}

/// `Cluster` or `Local` traffic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// `Cluster`.
    Cluster,
    /// `Local`.
    Local,
}

/// One Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`.
    pub name: Option<String>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `port`.
    pub port: u16,
    /// `targetPort` (absent means the same as `port`).
    pub target_port: Option<PortRef>,
    /// `nodePort`.
    pub node_port: Option<u16>,
    /// `appProtocol`.
    pub app_protocol: Option<String>,
}

/// One `status.loadBalancer.ingress` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerIngress {
    /// `ip`.
    pub ip: Option<IpAddr>,
    /// `hostname` (AWS NLB/CLB publish only this).
    pub hostname: Option<String>,
    /// `ipMode` (`VIP` or `Proxy`).
    pub ip_mode: Option<String>,
}

/// `v1 Service`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Metadata (annotations include the AWS load balancer settings).
    pub meta: ObjectMeta,
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.clusterIPs` (or `spec.clusterIP`); empty when headless or unset.
    pub cluster_ips: Vec<IpAddr>,
    /// `clusterIP: None`.
    pub headless: bool,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.selector`; `None` when absent (endpoints are managed by hand).
    pub selector: Option<StringMap>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: Option<TrafficPolicy>,
    /// `spec.sessionAffinity` (`None`/`ClientIP`).
    pub session_affinity: Option<String>,
    /// `spec.loadBalancerSourceRanges`.
    pub load_balancer_source_ranges: Vec<IpNet>,
    /// Where `spec.loadBalancerSourceRanges` is written, when it is.
    pub load_balancer_source_ranges_at: Option<Provenance>,
    /// `spec.externalName`.
    pub external_name: Option<String>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `spec.healthCheckNodePort`.
    pub health_check_node_port: Option<u16>,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
    /// `status.loadBalancer.ingress`.
    pub load_balancer_ingress: Vec<LoadBalancerIngress>,
}

impl Service {
    /// `service.beta.kubernetes.io/aws-load-balancer-nlb-target-type` (`ip` or `instance`).
    pub fn nlb_target_type(&self) -> Option<&str> {
        self.meta
            .annotations
            .get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
            .map(String::as_str)
    }
}

/// `discovery.k8s.io/v1 EndpointSlice`.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSlice {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `addressType` (`IPv4`, `IPv6`, `FQDN`).
    pub address_type: String,
    /// `endpoints`.
    pub endpoints: Vec<SliceEndpoint>,
    /// `ports`.
    pub ports: Vec<EndpointPort>,
    /// The `kubernetes.io/service-name` label.
    pub service_name: Option<String>,
}

/// One EndpointSlice endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceEndpoint {
    /// `addresses` as written.
    pub addresses: Vec<String>,
    /// `conditions.ready` (unset counts as ready).
    pub ready: Option<bool>,
    /// `conditions.serving` (unset = ready).
    pub serving: Option<bool>,
    /// `conditions.terminating`.
    pub terminating: Option<bool>,
    /// `nodeName`.
    pub node_name: Option<String>,
    /// `zone`.
    pub zone: Option<String>,
    /// `targetRef`.
    pub target_ref: Option<ObjectRef>,
}

/// A port of an EndpointSlice or an Endpoints subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPort {
    /// `name`.
    pub name: Option<String>,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `port`.
    pub port: Option<u16>,
    /// `appProtocol`.
    pub app_protocol: Option<String>,
}

/// `v1 Endpoints`.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `subsets`.
    pub subsets: Vec<EndpointSubset>,
}

/// One Endpoints subset.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSubset {
    /// `addresses` (ready).
    pub addresses: Vec<EndpointAddress>,
    /// `notReadyAddresses`.
    pub not_ready_addresses: Vec<EndpointAddress>,
    /// `ports`.
    pub ports: Vec<EndpointPort>,
}

/// One Endpoints address.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointAddress {
    /// `ip`.
    pub ip: Option<IpAddr>,
    /// `nodeName`.
    pub node_name: Option<String>,
    /// `targetRef`.
    pub target_ref: Option<ObjectRef>,
}

/// A NetworkPolicy policy type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `Ingress`.
    Ingress,
    /// `Egress`.
    Egress,
}

/// `networking.k8s.io/v1 NetworkPolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPolicy {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.podSelector`.
    pub pod_selector: LabelSelector,
    /// `spec.policyTypes`; `None` when omitted (see [`NetworkPolicy::effective_policy_types`]).
    pub policy_types: Option<Vec<PolicyType>>,
    /// `spec.ingress`, in order.
    pub ingress: Vec<NetworkPolicyRule>,
    /// `spec.egress`, in order.
    pub egress: Vec<NetworkPolicyRule>,
}

impl NetworkPolicy {
    /// Policy types as Kubernetes defaults them: Ingress always, Egress if any egress rule.
    pub fn effective_policy_types(&self) -> Vec<PolicyType> {
        match &self.policy_types {
            Some(t) => t.clone(),
            None if self.egress.is_empty() => vec![PolicyType::Ingress],
            None => vec![PolicyType::Ingress, PolicyType::Egress],
        }
    }
}

/// One NetworkPolicy ingress or egress rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPolicyRule {
    /// Where the rule starts (cite as `ingress[i]`/`egress[j]`).
    pub at: Provenance,
    /// Index in `ingress`/`egress`.
    pub index: usize,
    /// `from`/`to`; empty matches every peer.
    pub peers: Vec<NetworkPolicyPeer>,
    /// `ports`; empty matches every port.
    pub ports: Vec<NetworkPolicyPort>,
}

/// One `from`/`to` peer.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPolicyPeer {
    /// Where the peer starts.
    pub at: Provenance,
    /// `podSelector`.
    pub pod_selector: Option<LabelSelector>,
    /// `namespaceSelector`.
    pub namespace_selector: Option<LabelSelector>,
    /// `ipBlock`.
    pub ip_block: Option<IpBlock>,
}

/// A NetworkPolicy `ipBlock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpBlock {
    /// `cidr`.
    pub cidr: IpNet,
    /// `except`.
    pub except: Vec<IpNet>,
}

/// One NetworkPolicy port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicyPort {
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `port`; `None` means every port.
    pub port: Option<PortRef>,
    /// `endPort` (only with a numeric `port`).
    pub end_port: Option<u16>,
}

/// The subject of an (Baseline)AdminNetworkPolicy.
#[derive(Debug, Clone, PartialEq)]
pub enum AnpSubject {
    /// `namespaces: <selector>`: every pod in the selected namespaces.
    Namespaces(LabelSelector),
    /// `pods: {namespaceSelector, podSelector}`.
    Pods {
        /// `namespaceSelector`.
        namespace_selector: LabelSelector,
        /// `podSelector`.
        pod_selector: LabelSelector,
    },
}

/// An ANP/BANP rule action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnpAction {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
    /// `Pass` (ANP only).
    Pass,
}

/// One ANP/BANP peer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnpPeer {
    /// `namespaces: <selector>`.
    Namespaces(LabelSelector),
    /// `pods: {namespaceSelector, podSelector}`.
    Pods {
        /// `namespaceSelector`.
        namespace_selector: LabelSelector,
        /// `podSelector`.
        pod_selector: LabelSelector,
    },
    /// `nodes: <selector>` (egress only).
    Nodes(LabelSelector),
    /// `networks: [CIDR]` (egress only).
    Networks(Vec<IpNet>),
}

/// One ANP/BANP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnpPort {
    /// `portNumber: {protocol, port}`.
    Number {
        /// `protocol`.
        protocol: Protocol,
        /// `port`.
        port: u16,
    },
    /// `namedPort: NAME`.
    Named(String),
    /// `portRange: {protocol, start, end}`.
    Range {
        /// `protocol`.
        protocol: Protocol,
        /// `start`.
        start: u16,
        /// `end`.
        end: u16,
    },
}

/// One ANP/BANP ingress or egress rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AnpRule {
    /// Where the rule starts.
    pub at: Provenance,
    /// Index in `ingress`/`egress`.
    pub index: usize,
    /// `name`.
    pub name: Option<String>,
    /// `action`.
    pub action: AnpAction,
    /// `from` (ingress) or `to` (egress).
    pub peers: Vec<AnpPeer>,
    /// `ports`; `None` means every port.
    pub ports: Option<Vec<AnpPort>>,
}

/// `policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminNetworkPolicy {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.priority` (lower wins).
    pub priority: u32,
    /// `spec.subject`.
    pub subject: AnpSubject,
    /// `spec.ingress`, in order (first match wins).
    pub ingress: Vec<AnpRule>,
    /// `spec.egress`, in order.
    pub egress: Vec<AnpRule>,
}

/// `policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy` (actions Allow/Deny only).
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineAdminNetworkPolicy {
    /// Metadata (the only valid name is `default`).
    pub meta: ObjectMeta,
    /// `spec.subject`.
    pub subject: AnpSubject,
    /// `spec.ingress`, in order.
    pub ingress: Vec<AnpRule>,
    /// `spec.egress`, in order.
    pub egress: Vec<AnpRule>,
}

/// An Ingress backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressBackend {
    /// `service.name`.
    pub service_name: Option<String>,
    /// `service.port.number` or `service.port.name`.
    pub service_port: Option<PortRef>,
    /// `resource` (kind/name), when not a Service.
    pub resource: Option<ObjectRef>,
}

/// One Ingress rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressRule {
    /// `host`.
    pub host: Option<String>,
    /// `http.paths`.
    pub paths: Vec<IngressPath>,
}

/// One Ingress HTTP path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressPath {
    /// `path`.
    pub path: Option<String>,
    /// `pathType`.
    pub path_type: Option<String>,
    /// `backend`.
    pub backend: IngressBackend,
    /// Where the path is written.
    pub at: Provenance,
}

/// `networking.k8s.io/v1 Ingress`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingress {
    /// Metadata (the `kubernetes.io/ingress.class` annotation is here).
    pub meta: ObjectMeta,
    /// `spec.ingressClassName`.
    pub ingress_class_name: Option<String>,
    /// `spec.defaultBackend`.
    pub default_backend: Option<IngressBackend>,
    /// `spec.rules`.
    pub rules: Vec<IngressRule>,
    /// `status.loadBalancer.ingress[].hostname`: the load balancers serving it.
    pub load_balancer_hostnames: Vec<String>,
}

/// A Route backend (`to` or `alternateBackends`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBackend {
    /// `kind` (Service).
    pub kind: Option<String>,
    /// `name`.
    pub name: String,
    /// `weight`.
    pub weight: Option<i64>,
}

/// OpenShift `route.openshift.io/v1 Route`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.host`.
    pub host: Option<String>,
    /// `spec.to` then `spec.alternateBackends`.
    pub backends: Vec<RouteBackend>,
    /// `spec.port.targetPort`.
    pub target_port: Option<PortRef>,
}

/// `crd.k8s.amazonaws.com ENIConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct EniConfig {
    /// Metadata (usually named after the AZ).
    pub meta: ObjectMeta,
    /// `spec.subnet`.
    pub subnet: Option<String>,
    /// `spec.securityGroups`.
    pub security_groups: Vec<String>,
}

/// `vpcresources.k8s.aws SecurityGroupPolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroupPolicy {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.podSelector`.
    pub pod_selector: Option<LabelSelector>,
    /// `spec.serviceAccountSelector`.
    pub service_account_selector: Option<LabelSelector>,
    /// `spec.securityGroups.groupIds`.
    pub group_ids: Vec<String>,
}

/// A Calico encapsulation mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncapMode {
    /// `Never` (or omitted).
    Never,
    /// `Always`.
    Always,
    /// `CrossSubnet`.
    CrossSubnet,
}

/// Calico `IPPool`.
#[derive(Debug, Clone, PartialEq)]
pub struct IpPool {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.cidr`.
    pub cidr: Option<IpNet>,
    /// `spec.vxlanMode`.
    pub vxlan_mode: EncapMode,
    /// `spec.ipipMode`.
    pub ipip_mode: EncapMode,
    /// `spec.natOutgoing`.
    pub nat_outgoing: bool,
    /// `spec.disabled`.
    pub disabled: bool,
    /// `spec.nodeSelector`.
    pub node_selector: Option<String>,
}

/// An Istio mTLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsMode {
    /// `UNSET` (inherit).
    Unset,
    /// `DISABLE`.
    Disable,
    /// `PERMISSIVE`.
    Permissive,
    /// `STRICT`.
    Strict,
}

/// Istio `PeerAuthentication`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerAuthentication {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.selector.matchLabels`; `None` = namespace- or mesh-wide.
    pub selector: Option<StringMap>,
    /// `spec.mtls.mode`; `None` when `mtls` is omitted.
    pub mtls_mode: Option<MtlsMode>,
    /// `spec.portLevelMtls`: port → mode.
    pub port_level_mtls: IndexMap<u16, MtlsMode>,
}

/// An AuthorizationPolicy action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthzAction {
    /// `ALLOW` (default).
    Allow,
    /// `DENY`.
    Deny,
    /// `AUDIT`.
    Audit,
    /// `CUSTOM` (external provider).
    Custom,
}

/// An AuthorizationPolicy `targetRef`/`targetRefs` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTargetRef {
    /// `group`.
    pub group: Option<String>,
    /// `kind`.
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `namespace`.
    pub namespace: Option<String>,
}

/// `rules[].from[].source`. Empty lists mean "not set".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzSource {
    /// `principals`.
    pub principals: Vec<String>,
    /// `notPrincipals`.
    pub not_principals: Vec<String>,
    /// `requestPrincipals`.
    pub request_principals: Vec<String>,
    /// `notRequestPrincipals`.
    pub not_request_principals: Vec<String>,
    /// `namespaces`.
    pub namespaces: Vec<String>,
    /// `notNamespaces`.
    pub not_namespaces: Vec<String>,
    /// `serviceAccounts`.
    pub service_accounts: Vec<String>,
    /// `notServiceAccounts`.
    pub not_service_accounts: Vec<String>,
    /// `ipBlocks` (a single IP becomes a host prefix).
    pub ip_blocks: Vec<IpNet>,
    /// `notIpBlocks`.
    pub not_ip_blocks: Vec<IpNet>,
    /// `remoteIpBlocks`.
    pub remote_ip_blocks: Vec<IpNet>,
    /// `notRemoteIpBlocks`.
    pub not_remote_ip_blocks: Vec<IpNet>,
}

/// `rules[].to[].operation`. Empty lists mean "not set".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzOperation {
    /// `ports`.
    pub ports: Vec<u16>,
    /// `notPorts`.
    pub not_ports: Vec<u16>,
    /// `methods` (HTTP only).
    pub methods: Vec<String>,
    /// `notMethods`.
    pub not_methods: Vec<String>,
    /// `paths` (HTTP only).
    pub paths: Vec<String>,
    /// `notPaths`.
    pub not_paths: Vec<String>,
    /// `hosts` (HTTP only).
    pub hosts: Vec<String>,
    /// `notHosts`.
    pub not_hosts: Vec<String>,
}

/// `rules[].when[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzCondition {
    /// `key`.
    pub key: String,
    /// `values`.
    pub values: Vec<String>,
    /// `notValues`.
    pub not_values: Vec<String>,
}

/// One AuthorizationPolicy rule. `None` lists are absent fields (match anything).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthzRule {
    /// Where the rule starts.
    pub at: Provenance,
    /// Index in `rules`.
    pub index: usize,
    /// `from[].source`.
    pub from: Option<Vec<AuthzSource>>,
    /// `to[].operation`.
    pub to: Option<Vec<AuthzOperation>>,
    /// `when`.
    pub when: Option<Vec<AuthzCondition>>,
}

/// Istio `AuthorizationPolicy`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationPolicy {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.selector.matchLabels`; `None` = namespace- or mesh-wide.
    pub selector: Option<StringMap>,
    /// `spec.targetRef` and `spec.targetRefs`.
    pub target_refs: Vec<PolicyTargetRef>,
    /// `spec.action` (default ALLOW).
    pub action: AuthzAction,
    /// `spec.provider.name` (CUSTOM).
    pub provider: Option<String>,
    /// `spec.rules`: `None` when absent, `Some([])` for `rules: []`, `Some([{..}])` otherwise.
    pub rules: Option<Vec<AuthzRule>>,
}

/// Istio `ServiceEntry` (key fields; the rest in `spec`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEntry {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.hosts`.
    pub hosts: Vec<String>,
    /// `spec.addresses`.
    pub addresses: Vec<String>,
    /// `spec.location` (`MESH_EXTERNAL`/`MESH_INTERNAL`).
    pub location: Option<String>,
    /// `spec.resolution`.
    pub resolution: Option<String>,
    /// The whole `spec`.
    pub spec: serde_json::Value,
}

/// Istio `networking.istio.io Gateway` (key fields; the rest in `spec`).
#[derive(Debug, Clone, PartialEq)]
pub struct IstioGateway {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.selector`.
    pub selector: StringMap,
    /// The whole `spec`.
    pub spec: serde_json::Value,
}

/// Istio `VirtualService` (key fields; the rest in `spec`).
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualService {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.hosts`.
    pub hosts: Vec<String>,
    /// `spec.gateways`.
    pub gateways: Vec<String>,
    /// The whole `spec`.
    pub spec: serde_json::Value,
}

/// Istio `DestinationRule` (key fields; the rest in `spec`).
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationRule {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.host`.
    pub host: Option<String>,
    /// `spec.trafficPolicy.tls.mode` (e.g. `ISTIO_MUTUAL`, `DISABLE`).
    pub tls_mode: Option<String>,
    /// The whole `spec`.
    pub spec: serde_json::Value,
}
