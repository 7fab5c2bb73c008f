//! MLflow's JSON forms and OTLP conversion (spec §3).
