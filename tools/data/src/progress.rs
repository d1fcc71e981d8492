//! A terminal progress bar for [`sanitize_path`](crate::sanitize_path), drawn with `indicatif`
//! on standard error; nothing is drawn when standard error is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::{Progress, ProgressEvent};

/// A progress callback that draws one bar over the files of a run, with the current file's
/// name, and clears it after the last file.
pub fn terminal_progress() -> impl FnMut(Progress) {
    let mut bar: Option<ProgressBar> = None;
    move |p: Progress| {
        let bar = bar.get_or_insert_with(|| {
            let b =
                ProgressBar::with_draw_target(Some(p.total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                b.set_style(style);
            }
            b
        });
        match p.event {
            ProgressEvent::Started => {
                let name = p
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                bar.set_message(name);
            }
            ProgressEvent::Finished { .. } => {
                bar.inc(1);
                if p.index + 1 == p.total {
                    bar.finish_and_clear();
                }
            }
        }
    }
}
