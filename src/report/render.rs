//! Rendering (pure apart from reading an override directory): minijinja
//! templates from `templates/` (shipped in the binary, overridable with
//! `--templates DIR`) with the Markdown-safety filters of
//! [`super::escape`]. Templates are presentation only; every untrusted value
//! reaches the output through one of these filters.

use std::path::Path;

use minijinja::{Environment, Value};

use super::escape;

/// Templates shipped in the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("release.md.j2", include_str!("../../templates/release.md.j2")),
    ("crate.md.j2", include_str!("../../templates/crate.md.j2")),
    ("index.md.j2", include_str!("../../templates/index.md.j2")),
    ("macros.j2", include_str!("../../templates/macros.j2")),
    ("files.md.j2", include_str!("../../templates/files.md.j2")),
    ("diffs.md.j2", include_str!("../../templates/diffs.md.j2")),
    ("stats.md.j2", include_str!("../../templates/stats.md.j2")),
];

/// A report page larger than this is split: the file list and the diffs
/// move to pages of their own (GitHub stops rendering Markdown around 512 KiB).
pub const MAX_PAGE_BYTES: usize = 512 * 1024;
/// Rows of the file list kept on the report page itself when it is split.
const FILES_PER_PAGE: usize = 1500;
/// Budget of diff text per diff page.
const DIFF_BYTES_PER_PAGE: usize = 384 * 1024;

/// The marker a template leaves where a warning banner may go.
const BANNER: &str = "{{BANNER}}";

/// Errors from rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed.
    #[error("template {name}: {message}")]
    Template {
        /// Which.
        name: String,
        /// What went wrong (minijinja's explanation).
        message: String,
    },
    /// An override template could not be read.
    #[error("reading template {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The template environment.
pub struct Renderer {
    env: Environment<'static>,
    /// sha256 over every template's name and source (built-in or override).
    digest: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish()
    }
}

/// A unified diff in a fence: each line's first character (the diff marker)
/// is kept apart, so an empty context line does not show as trailing
/// whitespace, while whitespace in the content is always made visible.
fn diff_fence(text: String) -> String {
    let body: Vec<String> = text
        .split_inclusive('\n')
        .map(|line| {
            let mut chars = line.chars();
            match chars.next() {
                Some(m @ (' ' | '+' | '-')) if !line.starts_with("---") && !line.starts_with("+++") => {
                    format!("{m}{}", escape::diff_line(chars.as_str()))
                }
                _ => escape::diff_line(line),
            }
        })
        .collect();
    escape::fenced(&(body.join("\n") + "\n"), "diff")
}

impl Renderer {
    /// Built-in templates, each replaced by `<dir>/<name>` when `dir` has it.
    pub fn new(dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| RenderError::Template {
                name: "syntax".to_owned(),
                message: format!("{e:#}"),
            })?;
        env.set_syntax(syntax);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        for (name, builtin) in BUILTIN {
            let source = match dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => {
                    std::fs::read_to_string(&p).map_err(|source| RenderError::Io { path: p, source })?
                }
                _ => (*builtin).to_owned(),
            };
            for part in [name.as_bytes(), &[0], source.as_bytes(), &[0]] {
                sha2::Digest::update(&mut hasher, part);
            }
            env.add_template_owned(*name, source)
                .map_err(|e| RenderError::Template {
                    name: (*name).to_owned(),
                    message: format!("{e:#}"),
                })?;
        }
        env.add_filter("code", |s: String| escape::code_span(&s));
        env.add_filter("cell", |s: String| escape::table_cell(&s));
        env.add_filter("text", |s: String| escape::text(&s));
        env.add_filter("fence", |s: String, info: String| escape::fenced(&s, &info));
        env.add_filter("difffence", diff_fence);
        env.add_filter("link", |s: String| escape::link_target(&s));
        let digest = sha2::Digest::finalize(hasher)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Renderer { env, digest })
    }

    /// Identifies the templates in use (a change to any of them, an override
    /// included, changes it): part of what makes a crate's pages fresh.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Render a release report: one page, or, when that would be larger than
    /// [`MAX_PAGE_BYTES`], a main page plus pages for the file list and the
    /// diffs. Returns (file name suffix after the stem, content), the main
    /// page first with suffix `.md`.
    pub fn render_release(
        &self,
        report: &super::model::ReleaseReport,
        stem: &str,
    ) -> Result<Vec<(String, String)>, RenderError> {
        let r = Value::from(minijinja::value::Serde(report));
        let single = minijinja::context! { r => r.clone(), layout => minijinja::context! { paged => false } };
        let full = self.render("release.md.j2", single)?;
        if full.len() <= MAX_PAGE_BYTES {
            return Ok(vec![(".md".to_owned(), full)]);
        }
        let files = report.changes.as_ref().map(|c| c.files.as_slice()).unwrap_or_default();
        let back = escape::link_target(&format!("{stem}.md"));
        let mut pages = Vec::new();
        let mut file_pages = Vec::new();
        let files_inline = files.len() <= FILES_PER_PAGE;
        if !files_inline {
            let chunks: Vec<_> = files.chunks(FILES_PER_PAGE).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let suffix = format!(".files-{}.md", i + 1);
                let ctx = minijinja::context! {
                    r => r.clone(), files => Value::from(minijinja::value::Serde(chunk)),
                    page => i + 1, pages => chunks.len(), back => back.clone(),
                };
                pages.push((suffix.clone(), self.render("files.md.j2", ctx)?));
                file_pages.push(escape::link_target(&format!("{stem}{suffix}")));
            }
        }
        // Diff pages: consecutive files, each page within its budget.
        let mut groups: Vec<Vec<&crate::compare::FileChange>> = Vec::new();
        let mut size = 0usize;
        for f in files.iter().filter(|f| f.diff != crate::compare::DiffText::None) {
            let len = match &f.diff {
                crate::compare::DiffText::Full(t) | crate::compare::DiffText::Truncated { text: t, .. } => t.len(),
                _ => 0,
            } + 256;
            if groups.is_empty() || size + len > DIFF_BYTES_PER_PAGE {
                groups.push(Vec::new());
                size = 0;
            }
            size += len;
            if let Some(g) = groups.last_mut() {
                g.push(f);
            }
        }
        let mut diff_pages = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let suffix = format!(".diffs-{}.md", i + 1);
            let ctx = minijinja::context! {
                r => r.clone(), files => Value::from(minijinja::value::Serde(group)),
                page => i + 1, pages => groups.len(), back => back.clone(),
            };
            pages.push((suffix.clone(), self.render("diffs.md.j2", ctx)?));
            diff_pages.push(escape::link_target(&format!("{stem}{suffix}")));
        }
        let layout = minijinja::context! {
            paged => true, files_inline => files_inline, file_pages => file_pages, diff_pages => diff_pages,
        };
        let main = self.render("release.md.j2", minijinja::context! { r => r, layout => layout })?;
        pages.insert(0, (".md".to_owned(), main));
        Ok(pages)
    }

    /// Render `name` with `ctx`. A banner is added at the marker when the
    /// output shows invisible characters as `<U+XXXX>` marks.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, RenderError> {
        let tmpl = self.env.get_template(name).map_err(|e| RenderError::Template {
            name: name.to_owned(),
            message: format!("{e:#}"),
        })?;
        let out = tmpl.render(ctx).map_err(|e| RenderError::Template {
            name: name.to_owned(),
            message: format!("{e:#}"),
        })?;
        let banner = if out.contains("<U+") {
            "> **Warning**: this report contains invisible or bidirectional control characters \
             (in file names or content). They are shown as `<U+XXXX>` marks; the original \
             bytes are in the store.\n\n"
        } else {
            ""
        };
        Ok(out.replacen(&format!("{BANNER}\n"), banner, 1).replacen(BANNER, "", 1))
    }
}
