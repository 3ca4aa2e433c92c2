//! `jwtgate completions` and `jwtgate man`: shell completions and man
//! pages generated from the command's own definition (clap_complete,
//! clap_mangen), so they always match the installed binary.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::{Cli, Fail, Outcome};

pub const COMPLETIONS_HELP: &str = "\
Install, for example:
  jwtgate completions bash > ~/.local/share/bash-completion/completions/jwtgate
  jwtgate completions zsh > ~/.zfunc/_jwtgate      (with fpath+=~/.zfunc)
  jwtgate completions fish > ~/.config/fish/completions/jwtgate.fish";

pub const MAN_HELP: &str = "\
Without --out-dir, prints jwtgate(1) to stdout:  jwtgate man | man -l -
With --out-dir, writes jwtgate.1 and one page per subcommand
(jwtgate-verify.1, ...), for example into /usr/local/share/man/man1.";

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    shell: Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write jwtgate.1 and a page per subcommand into this folder.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Outcome {
    let mut out = io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "jwtgate", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: ManArgs) -> Outcome {
    let command = Cli::command();
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| Fail(format!("{}: {e}", dir.display())))?;
            clap_mangen::generate_to(command, &dir).map_err(|e| Fail(format!("{}: {e}", dir.display())))?;
        }
        None => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
