//! `MaxResults` and `NextToken`: which page of a listing a request asks for, and the page handed back.
//!
//! A `NextToken` is `<listing>-<offset>` (`list-20`, `sessions-5`, `tables-100`): a token of another listing is
//! refused, as the service refuses a token it did not hand out for that call.

use crate::error::ApiError;
use std::ops::Range;

/// One page of a listing: where it starts and how long it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    /// Which listing the `NextToken`s belong to: a token of another listing is refused.
    kind: &'static str,
    offset: usize,
    max: usize,
}

impl Page {
    /// The page a request asks for; a `NextToken` this listing did not hand out is a `ValidationException`.
    pub(crate) fn new(
        kind: &'static str,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Self, ApiError> {
        let offset = match next_token {
            None => 0,
            Some(t) => t
                .strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError::validation("NextToken: invalid token"))?,
        };
        Ok(Page { kind, offset, max })
    }

    /// `LIMIT` (one more than the page, to learn whether another page follows) and `OFFSET`, for a listing
    /// read from SQL.
    pub(crate) fn bounds(&self) -> (i64, i64) {
        (self.max as i64 + 1, self.offset as i64)
    }

    /// The page of rows read with [`Page::bounds`]: the extra row, if any, only says that more follow.
    pub(crate) fn finish<T>(&self, mut rows: Vec<T>) -> Listing<T> {
        let next_token = (rows.len() > self.max).then(|| self.token(self.offset + self.max));
        rows.truncate(self.max);
        Listing {
            items: rows,
            next_token,
        }
    }

    /// The indices of the page in a listing of `len` items, and the token of the next page if one follows.
    pub(crate) fn window(&self, len: usize) -> (Range<usize>, Option<String>) {
        let end = self.offset.saturating_add(self.max);
        let next_token = (end < len).then(|| self.token(end));
        (self.offset.min(len)..end.min(len), next_token)
    }

    fn token(&self, offset: usize) -> String {
        format!("{}-{offset}", self.kind)
    }
}

/// One page of a listing as handed back: its items and the `NextToken` of the next page, if one follows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listing<T> {
    /// The page's items, in the listing's order.
    pub(crate) items: Vec<T>,
    /// Where the next page starts, absent on the last page.
    pub(crate) next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tokens_belong_to_their_listing() {
        assert_eq!(
            Page::new("schemas", 5, Some("schemas-3")).unwrap().offset,
            3
        );
        for bad in ["tables-3", "schemas-x", "schemas3", "", "schemas--1"] {
            let e = Page::new("schemas", 5, Some(bad)).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{bad}");
        }
    }

    #[test]
    fn windows_past_the_end_are_empty() {
        let page = Page::new("list", 2, Some("list-3")).unwrap();
        assert_eq!(page.window(4), (3..4, None));
        assert_eq!(page.window(6), (3..5, Some("list-5".into())));
        assert_eq!(page.window(1), (1..1, None));
    }
}
