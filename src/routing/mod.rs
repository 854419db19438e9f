//! Routing vendor orders (DOMAIN.md section 7): which vendor an order goes
//! to and which approval steps it waits on. `resolve` is pure; `load` reads
//! what it needs of the organization.

pub mod load;
pub mod resolve;
