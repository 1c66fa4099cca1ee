//! Drift between observed rules and the state derived from the API objects.
