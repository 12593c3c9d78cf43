//! The bulk paths for stops on SQLite: one prepared statement, bound
//! value by value through SQLite's own API and stepped once per row (an
//! import's INSERTs), or stepped over its rows read in place (the
//! early-warning list's year of stops). It skips the per-row overhead of
//! the general query builder, which cost as much as SQLite's own work on a
//! million-row import (see the note in `bench/run.sh`) and five times
//! SQLite's own work on a million-row read. The unsafe code is confined
//! here, behind `Statement`.
//!
//! Text is bound without a copy (SQLITE_STATIC: SQLite reads it in place
//! when the statement steps, and the statement keeps pointing at it until
//! the next bind or finalize). The borrow checker proves that is safe: an
//! `Statement<'a>` borrows the locked connection for `'a`, and takes only text
//! borrowed for at least as long, so no bound value can be freed or moved
//! while the statement exists.

use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::{NonNull, null_mut};

use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

/// A prepared statement on a connection locked for `'a`; the text it binds
/// lives at least as long.
pub struct Statement<'a> {
    db: NonNull<ffi::sqlite3>,
    stmt: *mut ffi::sqlite3_stmt,
    /// The connection's lock, held for `'a`, and the text bound, borrowed
    /// for `'a`.
    borrows: PhantomData<(&'a mut (), &'a str)>,
}

fn error(db: NonNull<ffi::sqlite3>, what: &str) -> sqlx::Error {
    // SAFETY: `db` is a live connection; sqlite3_errmsg returns a
    // NUL-terminated string owned by SQLite, copied at once.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) }.to_string_lossy().into_owned();
    sqlx::Error::Protocol(format!("{what}: {message}"))
}

impl<'a> Statement<'a> {
    /// Prepares `sql` on the locked connection, which stays locked (and
    /// borrowed) as long as the statement exists.
    pub fn prepare(handle: &'a mut LockedSqliteHandle<'_>, sql: &str) -> Result<Self, sqlx::Error> {
        let db = handle.as_raw_handle();
        let mut stmt = null_mut();
        // SAFETY: `db` is live and locked while `handle` is borrowed; `sql`
        // is valid for its length; `stmt` receives the statement or stays null.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db.as_ptr(),
                sql.as_ptr().cast(),
                sql.len() as c_int,
                &mut stmt,
                null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK || stmt.is_null() {
            return Err(error(db, "prepare"));
        }
        Ok(Self { db, stmt, borrows: PhantomData })
    }

    fn check(&self, rc: c_int, what: &str) -> Result<(), sqlx::Error> {
        if rc == ffi::SQLITE_OK { Ok(()) } else { Err(error(self.db, what)) }
    }

    /// Binds text without copying it (SQLITE_STATIC: SQLite reads it in
    /// place); `value` is borrowed for `'a`, so it outlives the statement.
    pub fn text(&mut self, index: c_int, value: &'a str) -> Result<(), sqlx::Error> {
        // SAFETY: the statement is live; `value` lives for `'a`, which
        // outlasts every step and the finalize of this statement.
        let rc = unsafe {
            ffi::sqlite3_bind_text(
                self.stmt,
                index,
                value.as_ptr().cast(),
                value.len() as c_int,
                ffi::SQLITE_STATIC(),
            )
        };
        self.check(rc, "bind text")
    }

    /// Binds bytes without copying them, as `text` does.
    pub fn blob(&mut self, index: c_int, value: &'a [u8]) -> Result<(), sqlx::Error> {
        // SAFETY: as for `text`: `value` lives for `'a`.
        let rc = unsafe {
            ffi::sqlite3_bind_blob(
                self.stmt,
                index,
                value.as_ptr().cast(),
                value.len() as c_int,
                ffi::SQLITE_STATIC(),
            )
        };
        self.check(rc, "bind blob")
    }

    pub fn opt_text(&mut self, index: c_int, value: Option<&'a str>) -> Result<(), sqlx::Error> {
        match value {
            Some(v) => self.text(index, v),
            None => self.null(index),
        }
    }

    pub fn int(&mut self, index: c_int, value: i64) -> Result<(), sqlx::Error> {
        // SAFETY: the statement is live.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt, index, value) };
        self.check(rc, "bind integer")
    }

    pub fn opt_int(&mut self, index: c_int, value: Option<i64>) -> Result<(), sqlx::Error> {
        match value {
            Some(v) => self.int(index, v),
            None => self.null(index),
        }
    }

    pub fn opt_real(&mut self, index: c_int, value: Option<f64>) -> Result<(), sqlx::Error> {
        match value {
            // SAFETY: the statement is live.
            Some(v) => self.check(unsafe { ffi::sqlite3_bind_double(self.stmt, index, v) }, "bind real"),
            None => self.null(index),
        }
    }

    fn null(&mut self, index: c_int) -> Result<(), sqlx::Error> {
        // SAFETY: the statement is live.
        self.check(unsafe { ffi::sqlite3_bind_null(self.stmt, index) }, "bind null")
    }

    /// Runs the statement once with the values bound, then resets it for
    /// the next row (the bindings stay until replaced).
    pub fn execute(&mut self) -> Result<(), sqlx::Error> {
        // SAFETY: the statement is live; every parameter was bound.
        let rc = unsafe { ffi::sqlite3_step(self.stmt) };
        // SAFETY: as above; reset returns the step's error again if any.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        if rc == ffi::SQLITE_DONE { Ok(()) } else { Err(error(self.db, "insert")) }
    }
}

impl Statement<'_> {
    /// Steps through the statement's rows with the values bound, handing
    /// each to `each` where it lies (its text is SQLite's, valid until the
    /// next step), then resets it.
    pub fn each_row(&mut self, mut each: impl FnMut(&Row<'_>)) -> Result<(), sqlx::Error> {
        let result = loop {
            // SAFETY: the statement is live; every parameter was bound.
            match unsafe { ffi::sqlite3_step(self.stmt) } {
                ffi::SQLITE_ROW => each(&Row { stmt: self.stmt, step: PhantomData }),
                ffi::SQLITE_DONE => break Ok(()),
                _ => break Err(error(self.db, "select")),
            }
        };
        // SAFETY: as above.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        result
    }

    /// The rowid of the row the last insert on this connection wrote.
    pub fn last_rowid(&self) -> i64 {
        // SAFETY: the connection is live and locked while `self` exists.
        unsafe { ffi::sqlite3_last_insert_rowid(self.db.as_ptr()) }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on this connection and is not
        // used after this.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

/// The row a statement stands on, lent for one step: its columns are read
/// in place, and the borrow ends before the statement steps again.
pub struct Row<'s> {
    stmt: *mut ffi::sqlite3_stmt,
    step: PhantomData<&'s ()>,
}

impl Row<'_> {
    /// Column `index` (from 0) as an integer (0 for NULL, as SQLite does).
    pub fn int(&self, index: c_int) -> i64 {
        // SAFETY: the statement stands on a row while `self` is lent.
        unsafe { ffi::sqlite3_column_int64(self.stmt, index) }
    }

    /// Whether column `index` (from 0) is NULL.
    pub fn is_null(&self, index: c_int) -> bool {
        // SAFETY: as for `int`.
        unsafe { ffi::sqlite3_column_type(self.stmt, index) == ffi::SQLITE_NULL }
    }

    /// Column `index` (from 0) as an integer, None for NULL.
    pub fn opt_int(&self, index: c_int) -> Option<i64> {
        (!self.is_null(index)).then(|| self.int(index))
    }

    /// Column `index` (from 0) as a decimal, None for NULL.
    pub fn opt_real(&self, index: c_int) -> Option<f64> {
        // SAFETY: as for `int`.
        (!self.is_null(index)).then(|| unsafe { ffi::sqlite3_column_double(self.stmt, index) })
    }

    /// Column `index` (from 0) as text ("" for NULL, or for bytes that are
    /// not UTF-8, which the product never writes).
    pub fn text(&self, index: c_int) -> &str {
        // SAFETY: the statement stands on a row while `self` is lent;
        // sqlite3_column_text's bytes stay valid until the next step, reset
        // or finalize, none of which can happen while `self` borrows the
        // step; the length is read after the text, as SQLite asks.
        let bytes = unsafe {
            let text = ffi::sqlite3_column_text(self.stmt, index);
            if text.is_null() {
                return "";
            }
            std::slice::from_raw_parts(text, ffi::sqlite3_column_bytes(self.stmt, index) as usize)
        };
        std::str::from_utf8(bytes).unwrap_or("")
    }
}
