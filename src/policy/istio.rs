//! Istio PeerAuthentication (mTLS) and AuthorizationPolicy evaluation.
