//! A numbered reply of the line protocol and its wire form.

/// One reply: a three-digit code and its lines of text.
///
/// On the wire every line but the last is `NNN-text`, the last is `NNN text` (`NNN` alone when
/// its text is empty, and for a reply with no lines at all), each ended by CRLF, as in SMTP
/// (RFC 5321 section 4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The code, from 200 to 599.
    pub code: u16,
    /// The text, one entry a line. A CR or LF inside an entry goes out as a space, so that no
    /// text can break the framing.
    pub lines: Vec<String>,
}

impl Reply {
    /// A reply of one line.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply { code, lines: vec![text.into()] }
    }

    /// A reply of any number of lines, one for each entry of a list (none for an empty one).
    pub fn lines(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let code = self.code.to_string();
        let last = self.lines.len().saturating_sub(1);
        if self.lines.is_empty() {
            out.extend_from_slice(code.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (index, text) in self.lines.iter().enumerate() {
            out.extend_from_slice(code.as_bytes());
            if index < last {
                out.push(b'-');
            } else if !text.is_empty() {
                out.push(b' ');
            }
            out.extend(
                text.bytes().map(|byte| if byte == b'\r' || byte == b'\n' { b' ' } else { byte }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: Reply) -> String {
        let mut out = Vec::new();
        reply.encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_one_line_reply_has_code_space_text_crlf() {
        assert_eq!(wire(Reply::new(250, "abc")), "250 abc\r\n");
    }

    #[test]
    fn every_line_but_the_last_has_a_dash() {
        let lines = vec!["a".to_owned(), "b".to_owned(), "c d".to_owned()];
        assert_eq!(wire(Reply::lines(214, lines)), "214-a\r\n214-b\r\n214 c d\r\n");
    }

    #[test]
    fn an_empty_reply_or_an_empty_last_line_is_the_code_alone() {
        assert_eq!(wire(Reply::lines(250, Vec::new())), "250\r\n");
        assert_eq!(wire(Reply::lines(250, vec![String::new(), String::new()])), "250-\r\n250\r\n");
    }

    #[test]
    fn line_breaks_inside_a_line_go_out_as_spaces() {
        assert_eq!(wire(Reply::new(550, "a\r\nb\nc")), "550 a  b c\r\n");
    }
}
