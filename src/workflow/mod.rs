//! The order workflow of DOMAIN.md sections 4 and 5: the state machine as
//! data, and the transitions that apply it atomically with their audit and
//! order events.

pub mod machine;
