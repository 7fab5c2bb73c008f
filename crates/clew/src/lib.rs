//! clew: tracing for LLM and agent applications.
