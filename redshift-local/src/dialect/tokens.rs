//! What the token pass works on: Redshift's tokens with their exact source text ([`Tok`]), one statement's
//! significant tokens ([`Stmt`]), and the replacement texts the rules make ([`Edits`]).
//!
//! Rendering keeps every token no rule touched byte for byte, which is what lets the translation leave SQL that
//! PostgreSQL already accepts exactly as it came.

use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// A token and its exact source text.
pub(super) struct Tok<'a> {
    pub(super) token: Token,
    pub(super) text: &'a str,
}

/// Tokenizes with Redshift's rules, keeping each token's source text; `None` if the text cannot be tokenized.
pub(super) fn tokenize(sql: &str) -> Option<Vec<Tok<'_>>> {
    let dialect = RedshiftSqlDialect {};
    let spanned = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let mut out = Vec::with_capacity(spanned.len());
    let (mut line, mut column, mut byte) = (1u64, 1u64, 0usize);
    for t in spanned {
        if (t.span.start.line, t.span.start.column) != (line, column) {
            return None;
        }
        let start = byte;
        let end = (t.span.end.line, t.span.end.column);
        while (line, column) < end {
            let ch = sql[byte..].chars().next()?;
            byte += ch.len_utf8();
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        if (line, column) != end {
            return None;
        }
        out.push(Tok {
            token: t.token,
            text: &sql[start..byte],
        });
    }
    (byte == sql.len()).then_some(out)
}

/// One statement's tokens and the positions of its significant (non-whitespace, non-comment) ones.
pub(super) struct Stmt<'t, 'a> {
    pub(super) toks: &'t [Tok<'a>],
    sig: Vec<usize>,
}

impl<'t, 'a> Stmt<'t, 'a> {
    pub(super) fn new(toks: &'t [Tok<'a>]) -> Self {
        let sig = (0..toks.len())
            .filter(|&i| !matches!(toks[i].token, Token::Whitespace(_)))
            .collect();
        Stmt { toks, sig }
    }

    pub(super) fn len(&self) -> usize {
        self.sig.len()
    }

    /// Token index of the `j`th significant token.
    pub(super) fn idx(&self, j: usize) -> usize {
        self.sig[j]
    }

    pub(super) fn tok(&self, j: usize) -> Option<&Token> {
        self.sig.get(j).map(|&i| &self.toks[i].token)
    }

    pub(super) fn is(&self, j: usize, token: &Token) -> bool {
        self.tok(j) == Some(token)
    }

    /// The `j`th significant token, lowercased, if it is an unquoted word.
    pub(super) fn word(&self, j: usize) -> Option<String> {
        match self.tok(j)? {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
            _ => None,
        }
    }

    pub(super) fn word_is(&self, j: usize, word: &str) -> bool {
        self.word(j).as_deref() == Some(word)
    }

    /// The significant position of the `)` closing the `(` at `j`.
    pub(super) fn paren_end(&self, j: usize) -> Option<usize> {
        let mut depth = 0usize;
        for k in j..self.len() {
            match self.tok(k)? {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Source text of significant tokens `from..=to`, with what lies between them.
    pub(super) fn text(&self, from: usize, to: usize) -> String {
        self.toks[self.idx(from)..=self.idx(to)]
            .iter()
            .map(|t| t.text)
            .collect()
    }
}

/// Replacement texts for some tokens of a statement.
pub(super) struct Edits {
    pub(super) repl: Vec<Option<String>>,
    pub(super) changed: bool,
}

impl Edits {
    pub(super) fn new(len: usize) -> Self {
        Edits {
            repl: vec![None; len],
            changed: false,
        }
    }

    /// Replaces token `i` (a token index).
    pub(super) fn set(&mut self, i: usize, text: impl Into<String>) {
        self.repl[i] = Some(text.into());
        self.changed = true;
    }

    /// Removes significant tokens `from..=to`, what lies between them and the blank just before them.
    pub(super) fn remove(&mut self, s: &Stmt, from: usize, to: usize) {
        let (a, b) = (s.idx(from), s.idx(to));
        for i in a..=b {
            self.set(i, "");
        }
        if a > 0
            && self.repl[a - 1].is_none()
            && matches!(
                s.toks[a - 1].token,
                Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab)
            )
        {
            self.set(a - 1, "");
        }
    }

    pub(super) fn render(&self, toks: &[Tok]) -> String {
        toks.iter()
            .zip(&self.repl)
            .map(|(t, r)| r.as_deref().unwrap_or(t.text))
            .collect()
    }
}
