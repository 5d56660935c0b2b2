//! The HTTP side of the core: response building, CORS and Host/Origin policy, media types.

pub(crate) mod media;
pub(crate) mod policy;
pub(crate) mod response;
