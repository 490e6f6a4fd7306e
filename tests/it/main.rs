//! One integration-test binary: through `app()` (no socket) and black-box
//! against the real binary.

mod support;
