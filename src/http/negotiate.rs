//! Content negotiation of GraphQL over HTTP: which media type to answer in
//! (from `Accept`) and whether a POST body is JSON (from `Content-Type`).

use axum::http::{HeaderMap, header};

/// The two response media types of the GraphQL-over-HTTP spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/json`: every well-formed request answers 200.
    Json,
    /// `application/graphql-response+json`: request errors answer 4xx.
    GraphqlResponse,
}

impl ResponseMedia {
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Picks the response media type from `Accept`. No header means
/// `application/json`; `None` means nothing acceptable (406).
pub fn response_media(headers: &HeaderMap) -> Option<ResponseMedia> {
    let Some(accept) = header_str(headers, header::ACCEPT) else {
        return Some(ResponseMedia::Json);
    };
    let mut graphql_q: f32 = 0.0;
    let mut json_q: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        match essence.as_str() {
            GRAPHQL_RESPONSE => graphql_q = graphql_q.max(q),
            "application/json" | "application/*" | "*/*" => json_q = json_q.max(q),
            _ => {}
        }
    }
    if graphql_q > 0.0 && graphql_q >= json_q {
        Some(ResponseMedia::GraphqlResponse)
    } else if json_q > 0.0 {
        Some(ResponseMedia::Json)
    } else {
        None
    }
}

/// Whether the request says its body is JSON in UTF-8. Browsers send
/// `text/plain` and form posts cross-site without a preflight, so anything
/// else is refused before it is read.
pub fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = header_str(headers, header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(mime) = value.parse::<mime::Mime>() else {
        return false;
    };
    let charset_ok = mime.get_param(mime::CHARSET).is_none_or(|c| c.as_str().eq_ignore_ascii_case("utf-8"));
    mime.type_() == mime::APPLICATION && mime.subtype() == mime::JSON && mime.suffix().is_none() && charset_ok
}

/// Whether a browser asked for a page (GraphiQL) rather than data.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    header_str(headers, header::ACCEPT).is_some_and(|a| a.contains("text/html"))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn accept_negotiation() {
        use ResponseMedia::*;
        let media = |v| response_media(&with(header::ACCEPT, v));
        assert_eq!(response_media(&HeaderMap::new()), Some(Json));
        assert_eq!(media("application/json"), Some(Json));
        assert_eq!(media("application/graphql-response+json"), Some(GraphqlResponse));
        assert_eq!(media("application/graphql-response+json, application/json;q=0.9"), Some(GraphqlResponse));
        assert_eq!(media("application/json, application/graphql-response+json;q=0.5"), Some(Json));
        assert_eq!(media("*/*"), Some(Json));
        assert_eq!(media("text/html"), None);
        assert_eq!(media("application/json;q=0"), None);
    }

    #[test]
    fn content_type_must_be_json_in_utf8() {
        let json = |v| is_json_body(&with(header::CONTENT_TYPE, v));
        assert!(json("application/json"));
        assert!(json("application/json; charset=utf-8"));
        assert!(json("Application/JSON; charset=UTF-8"));
        assert!(!json("application/json; charset=latin1"));
        assert!(!json("text/plain"));
        assert!(!json("application/x-www-form-urlencoded"));
        assert!(!json("multipart/form-data; boundary=x"));
        assert!(!json("application/graphql"));
        assert!(!is_json_body(&HeaderMap::new()));
    }
}
