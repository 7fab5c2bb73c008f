//! Tokeniser for filter strings and `order_by` entries.
//!
//! Context-free: keywords (`AND`, `IN`, `IS`, ...) come out as plain [`TokenKind::Word`]s and
//! the parser decides what they mean from where they stand. Every token carries its byte span
//! so errors can point into the original string.

use super::error::FilterError;

/// One piece of a dotted identifier path such as `` metadata.`mlflow.trace.user` ``.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Segment {
    /// The text with any quotes removed.
    pub text: String,
    /// Whether it was written in backticks or quotes (then it is never a keyword).
    pub quoted: bool,
    /// Byte offset of the segment (of its opening quote, if quoted).
    pub start: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    /// A bare or backtick-quoted name, possibly dotted: `status`, `tag.env`,
    /// `` span.attributes.`llm.model` ``. A single unquoted segment may be a keyword.
    Path(Vec<Segment>),
    /// A string in single or double quotes, unescaped.
    Str(String),
    /// A bare number, as written.
    Number(f64),
    /// A comparison operator made of `<>=!~` characters, as written (`=`, `!=`, `<>`, `==`, ...).
    Operator(String),
    LeftParen,
    RightParen,
    Comma,
    Semicolon,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The keyword this token spells (upper-cased), if it is a single unquoted word.
    pub fn keyword(&self) -> Option<String> {
        match &self.kind {
            TokenKind::Path(segments) if segments.len() == 1 && !segments[0].quoted => {
                Some(segments[0].text.to_ascii_uppercase())
            }
            _ => None,
        }
    }

    pub fn is_keyword(&self, word: &str) -> bool {
        self.keyword().is_some_and(|k| k == word)
    }

    /// The token as the user wrote it, for error messages.
    pub fn source<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.start..self.end).unwrap_or("")
    }
}

/// Splits `input` into tokens, skipping whitespace.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut lexer = Lexer { input, pos: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!' | '~')
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    /// Whether a number starts here though the first char is `-` or `.`: `-5`, `.5`, `-.5`.
    fn at_signed_number(&self) -> bool {
        let rest = &self.input[self.pos..];
        let rest = rest.strip_prefix('-').unwrap_or(rest);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        rest.starts_with(|c: char| c.is_ascii_digit())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn next_token(&mut self) -> Result<Option<Token>, FilterError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let kind = match c {
            '(' | ')' | ',' | ';' => {
                self.bump();
                match c {
                    '(' => TokenKind::LeftParen,
                    ')' => TokenKind::RightParen,
                    ',' => TokenKind::Comma,
                    _ => TokenKind::Semicolon,
                }
            }
            '\'' | '"' => TokenKind::Str(self.quoted(c)?),
            '`' => TokenKind::Path(self.path()?),
            c if is_word_start(c) => TokenKind::Path(self.path()?),
            c if c.is_ascii_digit() => TokenKind::Number(self.number()?),
            '-' | '.' if self.at_signed_number() => TokenKind::Number(self.number()?),
            c if is_operator_char(c) => {
                while self.peek().is_some_and(is_operator_char) {
                    self.bump();
                }
                TokenKind::Operator(self.input[start..self.pos].to_string())
            }
            other => {
                return Err(FilterError::new(
                    start,
                    format!("unexpected character '{other}'"),
                ));
            }
        };
        Ok(Some(Token {
            kind,
            start,
            end: self.pos,
        }))
    }

    /// A quoted string. Like sqlparse, the quote character is escaped by doubling it
    /// (`'it''s'`) or by a backslash (`'it\'s'`); other backslashes are kept as written so
    /// LIKE/RLIKE escapes such as `\_` reach the pattern unchanged.
    fn quoted(&mut self, quote: char) -> Result<String, FilterError> {
        let start = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else {
                let what = if quote == '`' {
                    "quoted name"
                } else {
                    "string"
                };
                return Err(FilterError::new(
                    start,
                    format!("unterminated {what}: missing closing {quote}"),
                ));
            };
            if c == quote {
                if self.peek() == Some(quote) {
                    self.bump();
                    text.push(quote);
                    continue;
                }
                return Ok(text);
            }
            if c == '\\' {
                match self.peek() {
                    Some(next) if next == quote => {
                        self.bump();
                        text.push(quote);
                    }
                    Some('\\') => {
                        self.bump();
                        text.push_str("\\\\");
                    }
                    _ => text.push('\\'),
                }
                continue;
            }
            text.push(c);
        }
    }

    /// A dotted name: segments separated by `.` with no whitespace around the dots. Segments
    /// after the first may be quoted with backticks, double or single quotes. A dot followed by
    /// nothing usable yields an empty segment so the parser can say which key is missing.
    fn path(&mut self) -> Result<Vec<Segment>, FilterError> {
        let mut segments = vec![self.segment(true)?];
        while self.peek() == Some('.') {
            self.bump();
            let start = self.pos;
            let next_is_segment = self
                .peek()
                .is_some_and(|c| is_word_char(c) || matches!(c, '`' | '"' | '\''));
            if !next_is_segment {
                segments.push(Segment {
                    text: String::new(),
                    quoted: false,
                    start,
                });
                break;
            }
            segments.push(self.segment(false)?);
        }
        Ok(segments)
    }

    fn segment(&mut self, first: bool) -> Result<Segment, FilterError> {
        let start = self.pos;
        match self.peek() {
            Some(q @ '`') => Ok(Segment {
                text: self.quoted(q)?,
                quoted: true,
                start,
            }),
            Some(q @ ('"' | '\'')) if !first => Ok(Segment {
                text: self.quoted(q)?,
                quoted: true,
                start,
            }),
            _ => {
                while self.peek().is_some_and(is_word_char) {
                    self.bump();
                }
                Ok(Segment {
                    text: self.input[start..self.pos].to_string(),
                    quoted: false,
                    start,
                })
            }
        }
    }

    /// `-?digits[.digits][e[+-]digits]` or `-?.digits...`, as sqlparse reads numbers.
    fn number(&mut self) -> Result<f64, FilterError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.bump();
        }
        self.digits();
        if self.peek() == Some('.') {
            self.bump();
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            self.digits();
        }
        // `12abc` or `1.2.3` is neither a number nor a name.
        if self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
            while self.peek().is_some_and(|c| is_word_char(c) || c == '.') {
                self.bump();
            }
            return Err(FilterError::new(
                start,
                format!("invalid number '{}'", &self.input[start..self.pos]),
            ));
        }
        let text = &self.input[start..self.pos];
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| FilterError::new(start, format!("invalid number '{text}'")))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn word(text: &str, start: usize) -> Segment {
        Segment {
            text: text.into(),
            quoted: false,
            start,
        }
    }

    #[test]
    fn splits_a_comparison() {
        let tokens = tokenize("tag.env != 'prod'").unwrap();
        assert_eq!(tokens.len(), 3);
        assert_eq!(
            tokens[0].kind,
            TokenKind::Path(vec![word("tag", 0), word("env", 4)])
        );
        assert_eq!(tokens[1].kind, TokenKind::Operator("!=".into()));
        assert_eq!((tokens[1].start, tokens[1].end), (8, 10));
        assert_eq!(tokens[2].kind, TokenKind::Str("prod".into()));
        assert_eq!((tokens[2].start, tokens[2].end), (11, 17));
    }

    #[test]
    fn quoted_segments_keep_their_dots() {
        let expected = vec![
            word("metadata", 0),
            Segment {
                text: "mlflow.trace.user".into(),
                quoted: true,
                start: 9,
            },
        ];
        assert_eq!(
            kinds("metadata.`mlflow.trace.user`"),
            vec![TokenKind::Path(expected)]
        );
    }

    #[test]
    fn trailing_dot_gives_an_empty_segment() {
        assert_eq!(
            kinds("tag. = 'x'")[0],
            TokenKind::Path(vec![word("tag", 0), word("", 4)])
        );
    }

    #[test]
    fn strings_unescape_doubled_and_backslashed_quotes() {
        assert_eq!(kinds("'it''s'"), vec![TokenKind::Str("it's".into())]);
        assert_eq!(kinds(r"'it\'s'"), vec![TokenKind::Str("it's".into())]);
        assert_eq!(
            kinds(r#""say ""hi""""#),
            vec![TokenKind::Str(r#"say "hi""#.into())]
        );
        assert_eq!(kinds(r"'%\_%'"), vec![TokenKind::Str(r"%\_%".into())]);
        assert_eq!(kinds(r"'a\\'"), vec![TokenKind::Str(r"a\\".into())]);
    }

    #[test]
    fn numbers() {
        assert_eq!(kinds("1"), vec![TokenKind::Number(1.0)]);
        assert_eq!(kinds("-5"), vec![TokenKind::Number(-5.0)]);
        assert_eq!(kinds("1.5e3"), vec![TokenKind::Number(1500.0)]);
        assert_eq!(kinds(".5"), vec![TokenKind::Number(0.5)]);
        assert_eq!(kinds("-.5"), vec![TokenKind::Number(-0.5)]);
        assert!(tokenize("-").is_err());
        assert!(tokenize("-.").is_err());
        assert_eq!(tokenize("12ab").unwrap_err().position, 0);
    }

    #[test]
    fn operators_are_read_greedily() {
        assert_eq!(
            kinds("a<>b"),
            vec![
                TokenKind::Path(vec![word("a", 0)]),
                TokenKind::Operator("<>".into()),
                TokenKind::Path(vec![word("b", 3)]),
            ]
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = tokenize("tag.env = 'oops").unwrap_err();
        assert_eq!(err.position, 10);
        assert!(err.message.contains("unterminated string"));
        assert_eq!(tokenize("a = 1 # b").unwrap_err().position, 6);
        assert_eq!(tokenize("é = ü").unwrap().len(), 3);
        assert_eq!(tokenize("x = @").unwrap_err().position, 4);
    }
}
