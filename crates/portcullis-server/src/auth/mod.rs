//! Authentication: the ordered authenticator chain (Bearer → session → Basic) that turns a
//! request into at most one [`Principal`](portcullis_core::principal::Principal), the CSRF
//! rules, the cookies, and the per-handler checks.

pub mod basic;
pub mod bearer;
pub mod chain;
pub mod check;
pub mod cookies;
pub mod csrf;
pub mod session;
