//! Resources, a resource template, a prompt and completion, all typed, served over stdio.
//!
//! - `notes://readme`: a resource with fixed text.
//! - `notes://{folder}/{id}`: a typed template. `folder` is read as the enum `Folder` and `id`
//!   as a `u32`; `notes://work/x` is -32602 naming `id`, and a note that does not exist is
//!   -32002. Its completion handler offers the ids of the folder already chosen, read with
//!   `CompletionRequest::context_as`.
//! - `note.summarize`: a typed prompt. Its arguments, their descriptions and which are required
//!   come from `Summarize`; its enum arguments (`folder`, `style`) complete by themselves.
//!
//! Run it with `cargo run -p rampart-examples --bin resources-prompts` and speak MCP on stdin.

use rampart_core::{
    Completion, Config, Content, HandlerError, Json, Prompt, PromptResult, RegisterError, Registry, Resource,
    ResourceTemplate, server_info,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A folder of notes.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Folder {
    Work,
    Home,
}

/// A note, sent as JSON.
#[derive(Serialize)]
struct Note {
    folder: Folder,
    id: u32,
    title: &'static str,
    body: &'static str,
}

const NOTES: [Note; 3] = [
    Note {
        folder: Folder::Work,
        id: 1,
        title: "Release",
        body: "Tag 0.2 once the benches are in.",
    },
    Note {
        folder: Folder::Work,
        id: 12,
        title: "Review",
        body: "Read the adapter changes.",
    },
    Note {
        folder: Folder::Home,
        id: 2,
        title: "Groceries",
        body: "Bread, cheese, apples.",
    },
];

/// The note at `folder` and `id`, if there is one.
fn find(folder: Folder, id: u32) -> Option<&'static Note> {
    NOTES.iter().find(|note| note.folder == folder && note.id == id)
}

/// The variables of `notes://{folder}/{id}`.
#[derive(Deserialize, JsonSchema)]
struct NoteRef {
    /// The folder the note is in.
    folder: Folder,
    /// The note's number.
    id: u32,
}

/// The variables a completion request may already carry: any of them, or none.
#[derive(Deserialize)]
struct Chosen {
    folder: Option<Folder>,
}

/// How a summary should read.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Style {
    Brief,
    Detailed,
    Bullets,
}

/// The arguments of `note.summarize`.
#[derive(Deserialize, JsonSchema)]
struct Summarize {
    /// The folder the note is in.
    folder: Folder,
    /// The note's number.
    id: u32,
    /// How the summary should read; brief unless given.
    style: Option<Style>,
}

fn registry() -> Result<Registry, RegisterError> {
    let readme = "Notes are at notes://{folder}/{id}, in the folders work and home.";
    Registry::new()
        .resource(Resource::text("notes://readme", "readme", readme).description("Where the notes are."))?
        .resource_template(
            ResourceTemplate::typed(
                "notes://{folder}/{id}",
                "note",
                |note: NoteRef, _ctx| async move {
                    // `None` answers -32002 Resource not found.
                    Ok(find(note.folder, note.id).map(Json))
                },
            )
            .description("A note, as JSON.")
            // `folder`, an enum, completes by itself; this handler is asked for `id`.
            .complete(|request, _ctx| async move {
                let chosen: Chosen = request.context_as()?;
                let ids = NOTES
                    .iter()
                    .filter(|note| chosen.folder.is_none_or(|folder| note.folder == folder))
                    .map(|note| note.id.to_string())
                    .filter(|id| id.starts_with(&request.value));
                Ok(Completion::new(ids))
            }),
        )?
        .prompt(
            Prompt::typed("note.summarize", |args: Summarize, _ctx| async move {
                let Some(note) = find(args.folder, args.id) else {
                    let missing = format!("No note {} in that folder", args.id);
                    return Err(HandlerError::invalid_params(missing));
                };
                let how = match args.style.unwrap_or(Style::Brief) {
                    Style::Brief => "in one sentence",
                    Style::Detailed => "in a paragraph",
                    Style::Bullets => "as a bulleted list",
                };
                let ask = format!("Summarize this note {how}.\n\n# {}\n\n{}", note.title, note.body);
                Ok(PromptResult::new().user(Content::text(ask)))
            })
            .description("Asks for a summary of one note."),
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::new(server_info!()).apply_env(std::env::vars())?;
    rampart_tokio::run_stdio(config, registry()?).await?;
    Ok(())
}
