//! Filter strings: comparisons joined by AND (spec §5).

use super::ast::*;
use super::field::resolve_field;
use super::lexer::{tokenize, Token, TokenKind};
use super::rules::{check_op, check_value, describe, expected_value, op_text};

pub use super::error::FilterError;

/// Parses an MLflow trace search filter into its comparisons.
///
/// An empty or whitespace-only filter matches everything. Errors say where (a byte offset into
/// `s`) and what is wrong.
///
/// ```
/// use clew_model::filter::*;
///
/// let filter = parse_filter("trace.status = 'OK' AND tag.env ILIKE 'prod%'").unwrap();
/// assert_eq!(filter.clauses.len(), 2);
/// assert_eq!(filter.clauses[1].field, Field::Tag("env".into()));
/// assert_eq!(filter.clauses[1].op, CompareOp::ILike);
///
/// let err = parse_filter("status = 'OK' OR status = 'ERROR'").unwrap_err();
/// assert_eq!(err.to_string(), "invalid filter at position 14: OR is not supported; combine conditions with AND");
/// ```
pub fn parse_filter(s: &str) -> Result<Filter, FilterError> {
    let tokens = tokenize(s)?;
    let mut parser = Parser {
        input: s,
        tokens: &tokens,
        index: 0,
    };
    let mut clauses = Vec::new();
    if tokens.is_empty() {
        return Ok(Filter { clauses });
    }
    loop {
        clauses.push(parser.comparison()?);
        let Some(token) = parser.next() else {
            return Ok(Filter { clauses });
        };
        if !token.is_keyword("AND") {
            return Err(parser.not_a_joiner(token));
        }
        if parser.peek().is_none() {
            return Err(FilterError::new(
                token.start,
                "expected a condition after AND",
            ));
        }
    }
}

struct Parser<'a> {
    input: &'a str,
    tokens: &'a [Token],
    index: usize,
}

const OPERATOR_LIST: &str =
    "=, !=, >, >=, <, <=, LIKE, ILIKE, RLIKE, IN, NOT IN, IS NULL, IS NOT NULL";

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.index)
    }

    fn next(&mut self) -> Option<&'a Token> {
        let token = self.tokens.get(self.index)?;
        self.index += 1;
        Some(token)
    }

    /// Where the previous token ended: the position for "expected ... here" at end of input.
    fn end_of_previous(&self) -> usize {
        self.index
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.end)
    }

    fn quote(&self, token: &Token) -> String {
        format!("'{}'", token.source(self.input))
    }

    /// Errors shared by "a condition starts here" and "AND goes here" for tokens that are
    /// unsupported syntax rather than plain typos.
    fn unsupported_syntax(&self, token: &Token) -> Option<FilterError> {
        let message = match &token.kind {
            TokenKind::LeftParen | TokenKind::RightParen => {
                "parentheses for grouping are not supported; combine conditions with AND"
            }
            TokenKind::Semicolon => {
                "multiple statements are not supported; combine conditions with AND"
            }
            _ if token.is_keyword("OR") => "OR is not supported; combine conditions with AND",
            _ => return None,
        };
        Some(FilterError::new(token.start, message))
    }

    fn not_a_joiner(&self, token: &Token) -> FilterError {
        self.unsupported_syntax(token).unwrap_or_else(|| {
            FilterError::new(
                token.start,
                format!(
                    "expected AND between conditions, found {}",
                    self.quote(token)
                ),
            )
        })
    }

    /// `<identifier> <op> <value>` or `<identifier> IS [NOT] NULL`.
    fn comparison(&mut self) -> Result<Comparison, FilterError> {
        let Some(first) = self.next() else {
            return Err(FilterError::new(
                self.end_of_previous(),
                "expected a condition",
            ));
        };
        if let Some(err) = self.unsupported_syntax(first) {
            return Err(err);
        }
        let TokenKind::Path(segments) = &first.kind else {
            return Err(FilterError::new(
                first.start,
                format!(
                    "expected a field name, found {} (quote names with special characters in backticks)",
                    self.quote(first)
                ),
            ));
        };
        if first.is_keyword("AND") {
            return Err(FilterError::new(
                first.start,
                "expected a condition before AND",
            ));
        }
        if first.is_keyword("NOT") {
            return Err(FilterError::new(
                first.start,
                "NOT is only supported in 'NOT IN' and 'IS NOT NULL'",
            ));
        }
        let field = resolve_field(segments)?;
        let (op, op_token) = self.operator(first)?;
        check_op(&field, op, op_token.start)?;
        let (value, value_start, end) = self.value(&field, op, op_token)?;
        let value = check_value(&field, op, value, value_start)?;
        Ok(Comparison {
            field,
            op,
            value,
            position: (first.start, end),
        })
    }

    /// The operator after `field_token`; returns it with its first token.
    fn operator(&mut self, field_token: &Token) -> Result<(CompareOp, &'a Token), FilterError> {
        let Some(token) = self.next() else {
            return Err(FilterError::new(
                field_token.end,
                format!(
                    "expected an operator ({OPERATOR_LIST}) after {}",
                    self.quote(field_token)
                ),
            ));
        };
        if let TokenKind::Operator(text) = &token.kind {
            let op = match text.as_str() {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                "<>" => {
                    return Err(FilterError::new(
                        token.start,
                        "operator '<>' is not supported; use '!='",
                    ))
                }
                other => {
                    return Err(FilterError::new(
                        token.start,
                        format!("unknown operator '{other}'; expected one of: {OPERATOR_LIST}"),
                    ))
                }
            };
            return Ok((op, token));
        }
        let op = match token.keyword().as_deref() {
            Some("LIKE") => CompareOp::Like,
            Some("ILIKE") => CompareOp::ILike,
            Some("RLIKE") => CompareOp::RLike,
            Some("IN") => CompareOp::In,
            Some("NOT") => self.after_not(token)?,
            Some("IS") => self.after_is(token)?,
            _ => {
                return Err(FilterError::new(
                    token.start,
                    format!(
                        "expected an operator ({OPERATOR_LIST}) after {}, found {}",
                        self.quote(field_token),
                        self.quote(token)
                    ),
                ))
            }
        };
        Ok((op, token))
    }

    fn after_not(&mut self, not: &Token) -> Result<CompareOp, FilterError> {
        let next = self.next();
        match next.and_then(Token::keyword).as_deref() {
            Some("IN") => Ok(CompareOp::NotIn),
            Some(word @ ("LIKE" | "ILIKE" | "RLIKE")) => Err(FilterError::new(
                not.start,
                format!("'NOT {word}' is not supported; use '!=' or a pattern that excludes"),
            )),
            _ => Err(FilterError::new(
                next.map_or(not.end, |t| t.start),
                "expected IN after NOT",
            )),
        }
    }

    fn after_is(&mut self, is: &Token) -> Result<CompareOp, FilterError> {
        let next = self.next();
        if next.is_some_and(|t| t.is_keyword("NULL")) {
            return Ok(CompareOp::IsNull);
        }
        if next.is_some_and(|t| t.is_keyword("NOT")) {
            let after = self.next();
            if after.is_some_and(|t| t.is_keyword("NULL")) {
                return Ok(CompareOp::IsNotNull);
            }
            return Err(FilterError::new(
                after.map_or(self.end_of_previous(), |t| t.start),
                "expected NULL after IS NOT",
            ));
        }
        Err(FilterError::new(
            next.map_or(is.end, |t| t.start),
            "expected NULL or NOT NULL after IS",
        ))
    }

    /// The right-hand side; returns the value, where it starts and where the comparison ends.
    fn value(
        &mut self,
        field: &Field,
        op: CompareOp,
        op_token: &Token,
    ) -> Result<(FilterValue, usize, usize), FilterError> {
        if matches!(op, CompareOp::IsNull | CompareOp::IsNotNull) {
            let end = self.end_of_previous();
            return Ok((FilterValue::None, end, end));
        }
        let op_name = op_text(op);
        let Some(token) = self.next() else {
            return Err(FilterError::new(
                op_token.end,
                format!("expected a value after '{op_name}'"),
            ));
        };
        if matches!(op, CompareOp::In | CompareOp::NotIn) {
            let list = self.list(op_name, token)?;
            return Ok((FilterValue::List(list), token.start, self.end_of_previous()));
        }
        let value = match &token.kind {
            TokenKind::Str(text) => FilterValue::Str(text.clone()),
            TokenKind::Number(number) => FilterValue::Number(*number),
            TokenKind::LeftParen => {
                return Err(FilterError::new(
                    token.start,
                    format!("a list value is only allowed with IN / NOT IN, not '{op_name}'"),
                ))
            }
            _ if token.is_keyword("NULL") => {
                return Err(FilterError::new(
                    token.start,
                    "compare with NULL using 'IS NULL' or 'IS NOT NULL'",
                ))
            }
            TokenKind::Path(_) => {
                let written = token.source(self.input);
                let expected = expected_value(field, op);
                let hint = if expected == "a number" {
                    String::new()
                } else {
                    format!("; write '{written}'")
                };
                return Err(FilterError::new(
                    token.start,
                    format!(
                        "expected {expected} for {}, found {written}{hint}",
                        describe(field)
                    ),
                ));
            }
            _ => {
                return Err(FilterError::new(
                    token.start,
                    format!(
                        "expected a value after '{op_name}', found {}",
                        self.quote(token)
                    ),
                ))
            }
        };
        Ok((value, token.start, token.end))
    }

    /// `('a', 'b', ...)` after IN / NOT IN: quoted strings only, at least one, an optional
    /// trailing comma (as in Python's tuple syntax, which MLflow uses to read it).
    fn list(&mut self, op_name: &str, open: &Token) -> Result<Vec<String>, FilterError> {
        if open.kind != TokenKind::LeftParen {
            return Err(FilterError::new(
                open.start,
                format!("expected a parenthesised list of quoted strings after {op_name}, e.g. ('a', 'b')"),
            ));
        }
        let mut items = Vec::new();
        loop {
            let Some(token) = self.next() else {
                return Err(FilterError::new(open.start, "unclosed '(' in list"));
            };
            match &token.kind {
                TokenKind::RightParen if items.is_empty() => {
                    return Err(FilterError::new(
                        open.start,
                        format!("the list after {op_name} must not be empty"),
                    ))
                }
                TokenKind::RightParen => return Ok(items),
                TokenKind::Str(text) => items.push(text.clone()),
                _ => {
                    return Err(FilterError::new(
                        token.start,
                        format!(
                            "list items must be quoted strings, found {}",
                            self.quote(token)
                        ),
                    ))
                }
            }
            let Some(separator) = self.next() else {
                return Err(FilterError::new(open.start, "unclosed '(' in list"));
            };
            match separator.kind {
                TokenKind::Comma => continue,
                TokenKind::RightParen => return Ok(items),
                _ => {
                    return Err(FilterError::new(
                        separator.start,
                        format!(
                            "expected ',' or ')' in list, found {}",
                            self.quote(separator)
                        ),
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Comparison {
        let mut filter = parse_filter(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(filter.clauses.len(), 1, "{s}");
        filter.clauses.remove(0)
    }

    fn err(s: &str) -> (usize, String) {
        let e = parse_filter(s).expect_err(s);
        (e.position, e.message)
    }

    #[test]
    fn empty_filters_match_everything() {
        assert_eq!(parse_filter(""), Ok(Filter::default()));
        assert_eq!(parse_filter("  \t\n "), Ok(Filter::default()));
    }

    #[test]
    fn comparison_positions_cover_the_clause() {
        let filter = parse_filter("status = 'OK' AND tag.env IS NOT NULL").unwrap();
        assert_eq!(filter.clauses[0].position, (0, 13));
        assert_eq!(filter.clauses[1].position, (18, 37));
    }

    #[test]
    fn lists() {
        let c = one("status IN ('OK', \"ERROR\",)");
        assert_eq!(
            c.value,
            FilterValue::List(vec!["OK".into(), "ERROR".into()])
        );
        assert_eq!(err("status IN ()").0, 10);
        assert_eq!(err("status IN ('a'").0, 10);
        assert_eq!(err("status IN ('a' 'b')").0, 15);
        assert_eq!(err("status IN ('a', 1)").0, 16);
        assert_eq!(err("status IN 'a'").0, 10);
    }

    #[test]
    fn and_placement() {
        assert_eq!(err("status = 'OK' AND").0, 14);
        assert_eq!(err("AND status = 'OK'").0, 0);
        assert_eq!(err("status = 'OK' AND AND status = 'x'").0, 18);
        assert_eq!(
            err("status = 'OK' status = 'x'"),
            (14, "expected AND between conditions, found 'status'".into())
        );
    }

    #[test]
    fn operator_errors() {
        assert_eq!(err("status").0, 6);
        assert_eq!(err("status =").0, 8);
        assert_eq!(err("status == 'x'").0, 7);
        assert_eq!(err("tag.a IS 'x'").0, 9);
        assert_eq!(err("tag.a IS NOT").0, 12);
        assert_eq!(err("status NOT 'x'").0, 11);
    }
}
