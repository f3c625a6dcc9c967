//! The harness's command line: three subcommands, every value checked as it is parsed, so a
//! mistyped option fails the run instead of falling back to a default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use idlink_bench::cpu::Case;

/// The benchmark harness of `make bench`: cold starts, CPU, round trips, memory, size and
/// throughput beside hello-world and an AWS-example function.
#[derive(Parser)]
#[command(name = "idlink-bench")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Every measurement, one table (target/bench/table.md) and its JSON (results.json).
    Run(Opts),
    /// N requests of one handler CPU case, in process (what callgrind counts).
    Cpu {
        /// a_floor_404, a2_floor_404_new_token, b_returning_login, c_first_login,
        /// d_keyed_first_login, e_keyed_replay or f_merge (or a prefix).
        #[arg(value_parser = parse_case)]
        case: Case,
        n: u64,
        /// The event fixtures (default: the repository's events/).
        events: Option<PathBuf>,
        /// Only make the state each request needs (a merge's users), without the requests:
        /// what a case with setup subtracts from its count.
        #[arg(long)]
        setup_only: bool,
    },
    /// 20 s of returning logins from 16 callers against a running `make run`.
    Load {
        url: String,
        credentials_json: String,
        out_json: PathBuf,
    },
}

#[derive(Args)]
pub struct Opts {
    /// The repository root.
    #[arg(long)]
    pub root: PathBuf,
    /// Where the release builds of the functions are.
    #[arg(long)]
    pub functions: PathBuf,
    /// Where the release builds of hello-world and the AWS example are.
    #[arg(long)]
    pub references: PathBuf,
    /// The private signing key set; public-keys.json and partner-pepper.json sit beside it.
    #[arg(long)]
    pub keys: PathBuf,
    /// The local DynamoDB API's URL.
    #[arg(long)]
    pub moto: String,
    /// Cold starts per binary (after one discarded warm-up round).
    #[arg(long, default_value_t = 30,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub runs: usize,
    /// The JSON bench/load.sh wrote, to report beside the rest.
    #[arg(long)]
    pub load: Option<PathBuf>,
    /// Only these subjects (comma-separated), and hello-world as every ratio's base.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

fn parse_case(s: &str) -> Result<Case, String> {
    Case::parse(s).ok_or_else(|| {
        let ids: Vec<&str> = Case::ALL.iter().map(|c| c.id()).collect();
        format!("expected one of {}", ids.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    const RUN: [&str; 11] = [
        "idlink-bench",
        "run",
        "--root",
        ".",
        "--functions",
        "f",
        "--references",
        "r",
        "--keys",
        "k.json",
        "--moto",
    ];

    fn run(extra: &[&str]) -> Result<Opts, clap::Error> {
        let args = RUN.iter().chain(["http://127.0.0.1:1"].iter()).chain(extra);
        match Cli::try_parse_from(args)?.command {
            Cmd::Run(opts) => Ok(opts),
            _ => unreachable!("run parses as run"),
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_to_thirty_runs_of_every_subject() {
        let opts = run(&[]).unwrap();
        assert_eq!(opts.runs, 30);
        assert!(opts.only.is_empty());
    }

    #[test]
    fn a_bad_value_is_refused_not_defaulted() {
        for bad in [["--runs", "many"], ["--runs", "0"]] {
            let err = run(&bad).err().expect("refused");
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
        }
        assert!(Cli::try_parse_from(["idlink-bench", "cpu", "z_none", "3"]).is_err());
        assert!(Cli::try_parse_from(["idlink-bench", "cpu", "b", "3x"]).is_err());
        assert!(run(&["--rnus", "3"]).is_err());
    }

    #[test]
    fn only_takes_a_comma_separated_list() {
        let opts = run(&["--only", "jwks,get-me"]).unwrap();
        assert_eq!(opts.only, ["jwks", "get-me"]);
    }

    #[test]
    fn cpu_takes_a_case_by_prefix() {
        let cli = Cli::try_parse_from(["idlink-bench", "cpu", "b", "21"]).unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Cpu {
                case: Case::ReturningLogin,
                n: 21,
                events: None,
                setup_only: false,
            }
        ));
    }
}
