//! Cursor paging of the List RPCs that return rows ordered by an id: the
//! page size, and the page token that encodes the last id of the previous
//! page, so pages stay consistent while rows are added or removed
//! elsewhere.

use crate::error::ServiceError;

/// Page size when the request sets none.
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// Maximum page size. Larger requests are capped to it.
pub const MAX_PAGE_SIZE: i32 = 1_000;

/// The page size and cursor of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub size: i32,
    /// The last id of the previous page, or `None` for the first page.
    pub after: Option<String>,
}

impl PageRequest {
    /// Checks a request's `page_size` and `page_token`. A size of 0 means
    /// [`DEFAULT_PAGE_SIZE`], and sizes above [`MAX_PAGE_SIZE`] are capped.
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self, ServiceError> {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            size if size < 0 => {
                return Err(ServiceError::invalid(
                    "page_size",
                    format!("page_size must not be negative, got {size}"),
                ));
            }
            size => size.min(MAX_PAGE_SIZE),
        };
        let after = match page_token {
            "" => None,
            token => Some(decode_page_token(token)?),
        };
        Ok(Self { size, after })
    }

    /// Returns the number of rows to read: one more than the page size, so
    /// the extra row shows whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Cuts `rows`, read with [`PageRequest::fetch_limit`], to the page size
    /// and returns the next page token, which is empty on the last page.
    pub fn finish<T>(&self, rows: &mut Vec<T>, id: impl Fn(&T) -> &str) -> String {
        let page_len = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= page_len {
            return String::new();
        }
        rows.truncate(page_len);
        rows.last()
            .map(|row| encode_page_token(id(row)))
            .unwrap_or_default()
    }
}

/// Encodes an id as the opaque page token: lower-case hex of its UTF-8
/// bytes, so the token is safe in any transport.
fn encode_page_token(user_id: &str) -> String {
    user_id.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_page_token(token: &str) -> Result<String, ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            "page_token",
            "invalid page_token; pass next_page_token from the previous page",
        )
    };
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|index| {
            token
                .get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_token_round_trips() {
        let token = encode_page_token("user:é");

        assert_eq!(decode_page_token(&token).unwrap(), "user:é");
    }

    #[test]
    fn page_token_rejects_non_hex() {
        assert!(decode_page_token("zz").is_err());
    }

    #[test]
    fn negative_page_size_rejected() {
        assert!(PageRequest::parse(-1, "").is_err());
    }

    #[test]
    fn large_page_size_capped() {
        assert_eq!(
            PageRequest::parse(MAX_PAGE_SIZE + 1, "").unwrap().size,
            MAX_PAGE_SIZE
        );
    }

    #[test]
    fn finish_returns_token_of_last_kept_row() {
        let page = PageRequest::parse(2, "").unwrap();
        let mut rows = vec!["a", "b", "c"];

        let token = page.finish(&mut rows, |row| row);

        assert_eq!(rows, vec!["a", "b"]);
        assert_eq!(decode_page_token(&token).unwrap(), "b");
    }

    #[test]
    fn finish_on_last_page_returns_empty_token() {
        let page = PageRequest::parse(2, "").unwrap();
        let mut rows = vec!["a", "b"];

        assert_eq!(page.finish(&mut rows, |row| row), "");
    }
}
