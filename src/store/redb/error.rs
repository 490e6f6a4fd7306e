//! redb's errors as [`StoreError`]s.

use super::StoreError;

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        match e {
            // The OS refused a read or write (disk full, I/O error), or redb
            // refuses to write after such a failure: the writer recovers.
            redb::StorageError::Io(_) | redb::StorageError::PreviousIo => {
                StoreError::Unavailable(e.to_string())
            }
            redb::StorageError::Corrupted(m) => StoreError::Corrupt(m),
            other => StoreError::io(other),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                match e.into() {
                    redb::Error::Io(e) => StoreError::Unavailable(e.to_string()),
                    redb::Error::PreviousIo => StoreError::Unavailable("previous I/O error".into()),
                    redb::Error::Corrupted(m) => StoreError::Corrupt(m),
                    other => StoreError::io(other),
                }
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::DatabaseError
);
