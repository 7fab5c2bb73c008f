//! MLflow's trace search filter grammar (spec §5): parse a filter string and `order_by`
//! entries into an AST; errors say where in the string and what is wrong.

pub mod ast;
mod error;
mod field;
mod lexer;
mod order_by;
mod parser;
mod rules;
mod suggest;

pub use ast::*;
pub use order_by::{parse_order_by, parse_order_by_list};
pub use parser::{parse_filter, FilterError};
