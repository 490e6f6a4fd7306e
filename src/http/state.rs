use std::sync::Arc;

use crate::service::Service;

/// What every handler gets: the service, nothing else.
#[derive(Clone, Debug)]
pub struct AppState {
    pub svc: Arc<Service>,
}

impl AppState {
    pub fn new(svc: Arc<Service>) -> Self {
        Self { svc }
    }
}
