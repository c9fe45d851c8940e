//! Reading a request body under a size limit, for every body reader of every surface.
//!
//! Policy: a body whose declared `Content-Length` is already above the limit is refused at
//! once, before a byte of it is read — otherwise the server would wait for (and a slow or
//! lying client could hold a connection with) a body it is going to refuse anyway. Without
//! a declared length (chunked) the limit applies while reading. Each caller answers
//! [`BodyError::TooLarge`] with its surface's 413; how long the reading may take is the
//! envelope's body read timeout (see [`crate::middleware::limits`]).

use axum::body::{Body, Bytes, HttpBody as _};
use http_body_util::BodyExt as _;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Declared or found to be above the limit: 413.
    TooLarge,
    /// The body broke off (connection closed, read timeout, malformed chunking).
    Unreadable,
}

/// True when `body` declares (`Content-Length`) more bytes than `limit`.
pub fn declared_over(body: &Body, limit: usize) -> bool {
    body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX)
}

/// Reads the whole body, at most `limit` bytes.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if declared_over(&body, limit) {
        return Err(BodyError::TooLarge);
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::{Frame, SizeHint};
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body that yields `chunks`, then never ends; declares `declared` bytes, if given.
    struct Scripted {
        chunks: VecDeque<Bytes>,
        declared: Option<u64>,
    }

    impl axum::body::HttpBody for Scripted {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.chunks.pop_front() {
                Some(c) => Poll::Ready(Some(Ok(Frame::data(c)))),
                None => Poll::Pending,
            }
        }

        fn size_hint(&self) -> SizeHint {
            self.declared
                .map_or_else(SizeHint::new, SizeHint::with_exact)
        }
    }

    fn scripted(chunks: &[&'static str], declared: Option<u64>) -> Body {
        Body::new(Scripted {
            chunks: chunks
                .iter()
                .map(|c| Bytes::from_static(c.as_bytes()))
                .collect(),
            declared,
        })
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_without_reading() {
        // The body never yields: only the early check can answer.
        assert_eq!(
            read(scripted(&[], Some(10_000)), 9_999).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test]
    async fn bodies_within_and_over_the_limit() {
        assert_eq!(read(Body::from("abc"), 3).await.as_deref(), Ok(&b"abc"[..]));
        assert_eq!(read(Body::from("abcd"), 3).await, Err(BodyError::TooLarge));
        // Without a declared length the limit applies while reading.
        assert_eq!(
            read(scripted(&["ab", "cd"], None), 3).await,
            Err(BodyError::TooLarge)
        );
    }
}
