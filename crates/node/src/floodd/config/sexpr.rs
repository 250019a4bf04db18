//! The s-expression reader under the floodd configuration: text in, a tree of lists, bare words
//! and quoted strings out, each with the position where it starts.
//!
//! The syntax is the small part of Lisp that floodd's files use:
//! - `(` and `)` delimit lists, nested at most [`NESTING_MAX`] deep;
//! - a quoted string is `"..."`, may span lines, and knows two escapes, `\"` and `\\`;
//! - a bare word is any run of characters up to whitespace, a parenthesis or the end of the
//!   text; a `"` inside it is refused rather than guessed at;
//! - a comment runs to the end of its line. `;` starts one wherever a word could start (at the
//!   start of a line, after whitespace or after a parenthesis), as in Lisp; `;` inside a word is
//!   part of the word. `#` starts one only as the first character of a line that is not blank,
//!   which is what floodd's manual says ("lines beginning with `#` or `;`") and keeps a `#` inside
//!   an unquoted command or path.
//!
//! The reader keeps its open lists on an explicit stack, so no input makes it recurse.

use std::iter::Peekable;
use std::str::Chars;

use super::NESTING_MAX;
use super::error::{ConfigError, Position, Problem, shorten};

/// One element of the tree, with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Item {
    pub at: Position,
    pub kind: Kind,
}

/// What an [`Item`] is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Kind {
    /// A bare word such as `master`, `:site-name`, `15.0` or `/usr/bin/filer`.
    Word(String),
    /// A quoted string, with its escapes undone.
    Quoted(String),
    /// A list and its elements.
    List(Vec<Item>),
}

impl Item {
    /// The item as it would be quoted in an error message: a word or string as is (cut after
    /// 40 characters), a list as `(...)`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Word(text) => shorten(text),
            Kind::Quoted(text) => format!("\"{}\"", shorten(text)),
            Kind::List(_) => "(...)".to_owned(),
        }
    }
}

/// Characters with their position.
struct Cursor<'a> {
    chars: Peekable<Chars<'a>>,
    at: Position,
    /// Whether only whitespace has been seen on the current line, for the `#` rule.
    line_blank: bool,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.at.line += 1;
            self.at.column = 1;
            self.line_blank = true;
        } else {
            self.at.column += 1;
        }
        Some(c)
    }

    fn skip_line(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }
}

/// Reads the top-level items of `text`. Whether they are lists, and what is in them, is for the
/// caller to judge; the reader refuses only what is not well-formed.
pub(super) fn read(text: &str) -> Result<Vec<Item>, ConfigError> {
    let mut cursor = Cursor {
        chars: text.chars().peekable(),
        at: Position { line: 1, column: 1 },
        line_blank: true,
    };
    let mut top = Vec::new();
    // The open lists, outermost first: where each starts and what it holds so far.
    let mut open: Vec<(Position, Vec<Item>)> = Vec::new();
    while let Some(c) = cursor.peek() {
        let at = cursor.at;
        if c.is_whitespace() {
            cursor.bump();
            continue;
        }
        if c == ';' || (c == '#' && cursor.line_blank) {
            cursor.skip_line();
            continue;
        }
        cursor.line_blank = false;
        let kind = match c {
            '(' => {
                if open.len() == NESTING_MAX {
                    return Err(ConfigError::at(at, Problem::TooDeep));
                }
                cursor.bump();
                open.push((at, Vec::new()));
                continue;
            }
            ')' => {
                cursor.bump();
                let Some((start, items)) = open.pop() else {
                    return Err(ConfigError::at(at, Problem::UnexpectedClose));
                };
                let item = Item { at: start, kind: Kind::List(items) };
                match open.last_mut() {
                    Some((_, items)) => items.push(item),
                    None => top.push(item),
                }
                continue;
            }
            '"' => Kind::Quoted(quoted(&mut cursor)?),
            _ => Kind::Word(word(&mut cursor)?),
        };
        let item = Item { at, kind };
        match open.last_mut() {
            Some((_, items)) => items.push(item),
            None => return Err(ConfigError::at(at, Problem::NotADefinition(item.describe()))),
        }
    }
    match open.first() {
        Some((start, _)) => Err(ConfigError::at(*start, Problem::Unclosed)),
        None => Ok(top),
    }
}

/// Reads a quoted string; the cursor is on its opening `"`.
fn quoted(cursor: &mut Cursor<'_>) -> Result<String, ConfigError> {
    let start = cursor.at;
    cursor.bump();
    let mut text = String::new();
    loop {
        let at = cursor.at;
        match cursor.bump() {
            None => return Err(ConfigError::at(start, Problem::UnclosedString)),
            Some('"') => return Ok(text),
            Some('\\') => match cursor.bump() {
                Some(c @ ('"' | '\\')) => text.push(c),
                Some(other) => return Err(ConfigError::at(at, Problem::UnknownEscape(other))),
                None => return Err(ConfigError::at(start, Problem::UnclosedString)),
            },
            Some(c) => text.push(c),
        }
    }
}

/// Reads a bare word; the cursor is on its first character.
fn word(cursor: &mut Cursor<'_>) -> Result<String, ConfigError> {
    let mut text = String::new();
    while let Some(c) = cursor.peek() {
        match c {
            '(' | ')' => break,
            c if c.is_whitespace() => break,
            '"' => {
                let at = cursor.at;
                return Err(ConfigError::at(at, Problem::QuoteInWord(text)));
            }
            c => {
                text.push(c);
                cursor.bump();
            }
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word_at(text: &str, line: u32, column: u32) -> Item {
        Item { at: Position { line, column }, kind: Kind::Word(text.to_owned()) }
    }

    fn error_of(text: &str) -> (Position, Problem) {
        match read(text) {
            Err(ConfigError::At { at, problem }) => (at, problem),
            other => panic!("expected an error for {text:?}, got {other:?}"),
        }
    }

    fn pos(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn lists_words_and_strings_keep_their_positions() {
        let items = read("; c\n(:a b \"c \\\"d\\\" \\\\\")\n  (x\n(y))").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            Item {
                at: pos(2, 1),
                kind: Kind::List(vec![
                    word_at(":a", 2, 2),
                    word_at("b", 2, 5),
                    Item { at: pos(2, 7), kind: Kind::Quoted("c \"d\" \\".to_owned()) },
                ]),
            }
        );
        let Kind::List(inner) = &items[1].kind else { panic!("a list") };
        assert_eq!(items[1].at, pos(3, 3));
        assert_eq!(inner[1].at, pos(4, 1));
    }

    #[test]
    fn semicolon_after_whitespace_or_paren_starts_a_comment_but_not_inside_a_word() {
        let items = read("(a;b c ;d)\n e)").unwrap();
        let Kind::List(inner) = &items[0].kind else { panic!("a list") };
        assert_eq!(inner, &vec![word_at("a;b", 1, 2), word_at("c", 1, 6), word_at("e", 2, 2)]);
        assert_eq!(read("(a);x").unwrap().len(), 1);
    }

    #[test]
    fn hash_is_a_comment_only_first_on_its_line() {
        let items = read("  # (not read\n(a#b #c)").unwrap();
        let Kind::List(inner) = &items[0].kind else { panic!("a list") };
        assert_eq!(inner, &vec![word_at("a#b", 2, 2), word_at("#c", 2, 6)]);
    }

    #[test]
    fn crlf_line_ends_are_whitespace() {
        let items = read("(a\r\n b)\r\n").unwrap();
        let Kind::List(inner) = &items[0].kind else { panic!("a list") };
        assert_eq!(inner, &vec![word_at("a", 1, 2), word_at("b", 2, 2)]);
    }

    #[test]
    fn malformed_text_is_refused_where_the_problem_is() {
        assert_eq!(error_of("(a)\n  )"), (pos(2, 3), Problem::UnexpectedClose));
        assert_eq!(error_of("(a)\n(b\n (c)\n(d)"), (pos(2, 1), Problem::Unclosed));
        assert_eq!(error_of("(a\n \"b\nc"), (pos(2, 2), Problem::UnclosedString));
        assert_eq!(error_of("(a \"b\\"), (pos(1, 4), Problem::UnclosedString));
        assert_eq!(error_of("(a \"b\\n\")"), (pos(1, 6), Problem::UnknownEscape('n')));
        assert_eq!(error_of("(ab\"c\")"), (pos(1, 4), Problem::QuoteInWord("ab".to_owned())));
        assert_eq!(error_of("\n word"), (pos(2, 2), Problem::NotADefinition("word".to_owned())));
        let long = "w".repeat(100);
        let shown = format!("{}...", "w".repeat(40));
        assert_eq!(error_of(&long), (pos(1, 1), Problem::NotADefinition(shown)));
        assert_eq!(error_of("\"s\" (a)"), (pos(1, 1), Problem::NotADefinition("\"s\"".to_owned())));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = NESTING_MAX;
        let text = format!("{}{}", "(".repeat(deep), ")".repeat(deep));
        assert!(read(&text).is_ok());
        let text = format!("{}{}", "(".repeat(deep + 1), ")".repeat(deep + 1));
        assert_eq!(error_of(&text), (pos(1, deep as u32 + 1), Problem::TooDeep));
        // Far deeper than any stack could recurse: refused at the limit, with no recursion.
        assert_eq!(error_of(&"(".repeat(1 << 20)), (pos(1, deep as u32 + 1), Problem::TooDeep));
    }
}
