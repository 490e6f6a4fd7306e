//! The store: what the service layer persists, behind one API, with one
//! module per engine. Today that is the embedded redb engine (`redb/`);
//! record encodings (`records/`) and errors are shared by every engine.

mod error;
pub(crate) mod records;
pub mod redb;

pub use self::redb::{
    CheckReport, Closer, DB_FILE, DEFAULT_CACHE_BYTES, KEYRING_META, Ns, Reads, Rx, SCHEMA_VERSION,
    Space, Store, Tx, check_file, check_offline, tables,
};
pub use error::{OpenError, StoreError};
pub use records::{Stored, decode, encode};
