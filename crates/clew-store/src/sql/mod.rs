//! Backend-neutral SQL: the search compiler (filter AST → parameterised SQL) and LIKE pattern
//! helpers. Each SQL backend supplies a [`search::SearchDialect`] for the few places where
//! SQL dialects differ (placeholders, case-sensitive LIKE, regex, the substring index).

pub mod pattern;
pub mod search;
