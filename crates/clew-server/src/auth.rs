//! Optional authentication (bearer token or basic credentials).
