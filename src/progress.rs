//! Progress of a run: a live line on a terminal, nothing otherwise (logs carry the story).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use syncd_engine::{Progress, RunReport};

/// Draws a spinner with the run's counts while it goes on.
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    /// A spinner for `pipeline` when stderr is a terminal.
    pub fn start(pipeline: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return TerminalProgress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} [{elapsed}]")
                .expect("valid template"),
        );
        bar.set_prefix(pipeline.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        TerminalProgress { bar: Some(bar) }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for TerminalProgress {
    fn page_done(&self, r: &RunReport) {
        if let Some(bar) = &self.bar {
            if let Some(extent) = r.extent {
                if bar.length().is_none() {
                    // The source knows its size: a bar with a total and an ETA from here on.
                    let amounts = match extent.unit {
                        syncd_core::SizeUnit::Bytes => "{binary_bytes}/{binary_total_bytes}",
                        syncd_core::SizeUnit::Records => "{human_pos}/{human_len}",
                    };
                    bar.set_style(
                        ProgressStyle::with_template(&format!(
                            "{{prefix:.bold}} [{{bar:24}}] {{percent:>3}}% {amounts} · {{msg}} [{{elapsed}}, ETA {{eta}}]"
                        ))
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                }
                bar.set_length(extent.total);
                bar.set_position(extent.done);
            }
            bar.set_message(format!(
                "read {} · unchanged {} · written {} · dead-lettered {} · calls {}",
                r.read, r.unchanged, r.written, r.dead_lettered, r.write_calls
            ));
        }
    }
}
