//! Turning cargo's view into git objects (trees and blobs) and encoding the
//! version commit. Pure apart from the `needed` callback, which tells whether
//! an object still has to be written (so unchanged files between releases are
//! hashed but never compressed twice). Runs on worker threads.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::bstr::BString;
use gix::objs::tree::{Entry, EntryKind};
use gix::objs::{Kind, WriteTo};

use super::StoreError;
use super::pack::PackedObject;
use crate::archive::File;

/// The objects of one version, ready for the pack.
#[derive(Debug)]
pub struct Prepared {
    /// The tree of cargo's view.
    pub tree: ObjectId,
    /// The tree of entries kept outside the view, if any.
    pub extras_tree: Option<ObjectId>,
    /// The blob of the raw `.crate`.
    pub archive_blob: ObjectId,
    /// Objects that are not in the store yet (each claimed by this version).
    pub objects: Vec<PackedObject>,
}

enum Node {
    File(ObjectId, bool),
    Dir(BTreeMap<Vec<u8>, Node>),
}

/// Compression level for new objects: fast, since most content is written
/// once and git can repack later.
const LEVEL: flate2::Compression = flate2::Compression::new(1);

/// Hash `data` as `kind`; compress and keep it when `needed` says the store
/// lacks it.
fn object(
    kind: Kind,
    data: &[u8],
    level: flate2::Compression,
    needed: &mut dyn FnMut(&ObjectId) -> bool,
    out: &mut Vec<PackedObject>,
) -> Result<ObjectId, StoreError> {
    let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, data).map_err(StoreError::hash)?;
    if needed(&id) {
        let mut obj = PackedObject::new(kind, data, level).map_err(StoreError::Io)?;
        obj.id = id;
        out.push(obj);
    }
    Ok(id)
}

fn build_tree(
    files: &[File],
    needed: &mut dyn FnMut(&ObjectId) -> bool,
    out: &mut Vec<PackedObject>,
) -> Result<ObjectId, StoreError> {
    let mut root = BTreeMap::new();
    for f in files {
        let id = object(Kind::Blob, &f.data, LEVEL, needed, out)?;
        let parts: Vec<&[u8]> = f.path.split(|&b| b == b'/').collect();
        let mut dir = &mut root;
        for p in &parts[..parts.len() - 1] {
            let node = dir.entry(p.to_vec()).or_insert_with(|| Node::Dir(BTreeMap::new()));
            dir = match node {
                Node::Dir(d) => d,
                // The archive stage resolves file/directory conflicts, so this
                // is a bug, not bad input.
                Node::File(..) => {
                    return Err(StoreError::Conflict(String::from_utf8_lossy(&f.path).into_owned()));
                }
            };
        }
        if let Some(last) = parts.last() {
            dir.insert(last.to_vec(), Node::File(id, f.executable));
        }
    }
    write_dir(&root, needed, out)
}

fn write_dir(
    dir: &BTreeMap<Vec<u8>, Node>,
    needed: &mut dyn FnMut(&ObjectId) -> bool,
    out: &mut Vec<PackedObject>,
) -> Result<ObjectId, StoreError> {
    let mut tree = gix::objs::Tree::empty();
    for (name, node) in dir {
        let (mode, oid) = match node {
            Node::File(id, exec) => (
                if *exec {
                    EntryKind::BlobExecutable
                } else {
                    EntryKind::Blob
                },
                *id,
            ),
            Node::Dir(d) => (EntryKind::Tree, write_dir(d, needed, out)?),
        };
        tree.entries.push(Entry {
            mode: mode.into(),
            filename: BString::from(name.clone()),
            oid,
        });
    }
    tree.entries.sort();
    let mut buf = Vec::with_capacity(tree.size() as usize);
    tree.write_to(&mut buf).map_err(StoreError::Io)?;
    object(Kind::Tree, &buf, LEVEL, needed, out)
}

/// Hash (and, where `needed`, compress) every object of a version.
pub fn prepare(
    files: &[File],
    extras: &[File],
    archive: &[u8],
    needed: &mut dyn FnMut(&ObjectId) -> bool,
) -> Result<Prepared, StoreError> {
    let mut objects = Vec::new();
    let tree = build_tree(files, needed, &mut objects)?;
    let extras_tree = if extras.is_empty() {
        None
    } else {
        Some(build_tree(extras, needed, &mut objects)?)
    };
    // The archive is already compressed: store it without spending time on
    // deflate.
    let archive_blob = object(Kind::Blob, archive, flate2::Compression::none(), needed, &mut objects)?;
    Ok(Prepared {
        tree,
        extras_tree,
        archive_blob,
        objects,
    })
}

/// The identity on every version commit.
pub const IDENTITY_NAME: &str = "cargofox";
/// The identity's email.
pub const IDENTITY_EMAIL: &str = "cargofox@invalid";

/// Encode a version commit.
pub fn commit_object(
    tree: ObjectId,
    parent: Option<ObjectId>,
    time: i64,
    message: &str,
) -> Result<PackedObject, StoreError> {
    let sig = gix::actor::Signature {
        name: IDENTITY_NAME.into(),
        email: IDENTITY_EMAIL.into(),
        time: gix::date::Time {
            seconds: time,
            offset: 0,
        },
    };
    let commit = gix::objs::Commit {
        tree,
        parents: parent.into_iter().collect(),
        author: sig.clone(),
        committer: sig,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    let mut buf = Vec::with_capacity(512);
    commit.write_to(&mut buf).map_err(StoreError::Io)?;
    PackedObject::new(Kind::Commit, &buf, LEVEL).map_err(StoreError::Io)
}
