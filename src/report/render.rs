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
];

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
        for (name, builtin) in BUILTIN {
            let source = match dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => {
                    std::fs::read_to_string(&p).map_err(|source| RenderError::Io { path: p, source })?
                }
                _ => (*builtin).to_owned(),
            };
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
        Ok(Renderer { env })
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
