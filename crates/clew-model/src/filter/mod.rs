//! MLflow's trace search filter grammar (spec §5): parse a filter string and `order_by`
//! entries into an AST; errors say where in the string and what is wrong.

pub mod ast;
mod parser;

pub use ast::*;
pub use parser::{parse_filter, parse_order_by, FilterError};
